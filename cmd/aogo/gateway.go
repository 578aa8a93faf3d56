package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/gateway"
	"github.com/aogo/aogo/internal/datadir"
)

func init() {
	register("gateway", "run the embedded Arweave-like gateway (items, bundles, GraphQL, simulated blocks)", runGateway)
}

// runGateway is `aogo gateway`: the embedded gateway on its own.
func runGateway(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", envOr("AOGO_GATEWAY_LISTEN", "127.0.0.1:4000"), "listen `ADDR` (env AOGO_GATEWAY_LISTEN)")
	dataDir := fs.String("data", envOr("AOGO_GATEWAY_DATA", "gateway-data"), "data `DIR` (env AOGO_GATEWAY_DATA)")
	blockTime := fs.Duration("block-time", 10*time.Second, "simulated time between blocks")
	maxBody := fs.String("max-body", envOr("AOGO_GATEWAY_MAX_BODY", "2-gb"),
		"largest upload `SIZE` (e.g. 2-gb, 512-mb, or bytes); uploads stream to disk, memory stays bounded (env AOGO_GATEWAY_MAX_BODY)")
	sf := addServeFlags(fs, "")
	fail, code, ok := parseUnitFlags(fs, args, "usage: aogo gateway [--listen 127.0.0.1:4000] [--data gateway-data] [--block-time 10s] [--max-body 2-gb]", stderr)
	if !ok {
		return code
	}
	if *blockTime <= 0 {
		return fail("--block-time must be positive")
	}
	body, err := parseMaxBody(*maxBody)
	if err != nil {
		return fail("%v", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	lock, err := datadir.Acquire(*dataDir)
	if err != nil {
		return fail("%v", err)
	}
	defer lock.Close()
	gw, err := gateway.Open(ctx, gateway.Config{Dir: *dataDir, BlockTime: *blockTime, MaxBodySize: body, Logger: log})
	if err != nil {
		return fail("%v", err)
	}
	defer gw.Close()
	ln, err := listenTCP(*listen)
	if err != nil {
		return fail("%v", err)
	}
	fmt.Fprintf(stdout, "aogo gateway: listening on %s height %d\n", ln.Addr(), gw.Height())
	log.Info("gateway started", "listen", ln.Addr().String(), "data", *dataDir, "block_time", blockTime.String())
	return serveUnit(ctx, ln, gw, nil, sf, 10*time.Second, log)
}

// parseMaxBody reads --max-body: a size as Memory-Limit is written (2-gb, 512-mb) or a number of bytes.
func parseMaxBody(s string) (int64, error) {
	n, err := ao.ParseMemoryLimit(s)
	if err != nil || n == 0 || n > 1<<50 || strings.HasPrefix(strings.TrimSpace(s), "-") {
		return 0, fmt.Errorf("--max-body %q: want a positive size such as 2-gb or 536870912", s)
	}
	return int64(n), nil
}
