package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/aogo/aogo/internal/datadir"
	"github.com/aogo/aogo/router"
)

func init() {
	register("router", "run a CU router: one CU address in front of a fleet of CUs", runRouter)
}

// runRouter is `aogo router`: the CU fleet's front door (package router). It keeps no state but the operator
// token in its data dir.
func runRouter(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("router", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", envOr("AOGO_ROUTER_LISTEN", "127.0.0.1:6360"), "listen `ADDR` (env AOGO_ROUTER_LISTEN)")
	dataDir := fs.String("data", envOr("AOGO_ROUTER_DATA", "router-data"), "data `DIR` holding the operator token (env AOGO_ROUTER_DATA)")
	cus := envList("AOGO_ROUTER_CU")
	fs.Var(cus, "cu", "CU `URL`, repeatable (env AOGO_ROUTER_CU, comma-separated)")
	every := fs.Duration("health-every", 2*time.Second, "how often every CU is probed (GET /); a CU that fails a probe or a forwarded request is skipped until a probe succeeds")
	timeout := fs.Duration("health-timeout", time.Second, "how long a probe may take")
	maxBody := fs.Int64("max-body", 10<<20, "largest dry-run body in `BYTES`")
	sf := addServeFlags(fs, "router")
	fail, code, ok := parseUnitFlags(fs, args, "usage: aogo router --cu URL --cu URL … [--listen 127.0.0.1:6360] [--data router-data]", stderr)
	if !ok {
		return code
	}
	if len(cus.vals) == 0 {
		return fail("give at least one --cu")
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	lock, err := datadir.Acquire(*dataDir)
	if err != nil {
		return fail("%v", err)
	}
	defer lock.Close()
	token, err := sf.operatorToken(*dataDir, log)
	if err != nil {
		return fail("%v", err)
	}
	r, err := router.New(router.Config{Units: cus.vals, HealthEvery: *every, HealthTimeout: *timeout, MaxBody: *maxBody,
		OperatorToken: token, Logger: log})
	if err != nil {
		return fail("%v", err)
	}
	ln, err := listenTCP(*listen)
	if err != nil {
		return fail("%v", err)
	}
	fmt.Fprintf(stdout, "aogo router: listening on %s\n", ln.Addr())
	log.Info("router started", "listen", ln.Addr().String(), "cus", cus.vals, "data", filepath.Clean(*dataDir))
	return serveUnit(ctx, ln, r.Handler(), r.Run, sf, 30*time.Second, log)
}
