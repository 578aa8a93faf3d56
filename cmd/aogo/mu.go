package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aogo/aogo/mu"
	"github.com/aogo/aogo/quorum"
	"github.com/aogo/aogo/store/postgres"
	"github.com/aogo/aogo/store/sqlite"
)

func init() {
	register("mu", "run a Messenger Unit", runMU)
}

// listFlag is a repeatable flag; its default comes from a comma-separated environment value.
type listFlag struct {
	vals []string
	set  bool
}

func (l *listFlag) String() string { return strings.Join(l.vals, ",") }
func (l *listFlag) Set(v string) error {
	if !l.set {
		l.vals, l.set = nil, true
	}
	l.vals = append(l.vals, v)
	return nil
}

func envList(name string) *listFlag {
	l := &listFlag{}
	for _, v := range strings.Split(os.Getenv(name), ",") {
		if v = strings.TrimSpace(v); v != "" {
			l.vals = append(l.vals, v)
		}
	}
	return l
}

// runMU is `aogo mu`: a Messenger Unit serving the reference MU's HTTP API.
func runMU(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mu", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", envOr("AOGO_MU_LISTEN", "127.0.0.1:3005"), "listen `ADDR` (env AOGO_MU_LISTEN)")
	dataDir := fs.String("data", envOr("AOGO_MU_DATA", "mu-data"), "data `DIR` for the task queue (SQLite), the wallet and the operator token (env AOGO_MU_DATA)")
	storeKind := fs.String("store", envOr("AOGO_MU_STORE", "sqlite"), "task queue: sqlite (in DIR), or a postgres:// `DSN` that several MU replicas may share (env AOGO_MU_STORE)")
	syncMode := syncFlag(fs, "mu")
	lease := fs.Duration("lease", 10*time.Second, "with a postgres store: how long a replica holds a task or monitor without renewing it, i.e. how long a dead replica's work waits before another takes it")
	walletPath := fs.String("wallet", envOr("AOGO_MU_WALLET", ""), "wallet JWK `FILE` that signs pushed items; empty: DIR/mu-wallet.json, an ed25519 key made on first start (env AOGO_MU_WALLET)")
	gatewayURL := fs.String("gateway", envOr("AOGO_GATEWAY", ""), "gateway `URL` (Scheduler-Locations, process tags, wallet messages): aogo's, or an Arweave node such as arlocal (uploads then need an RSA --wallet); empty: none (env AOGO_GATEWAY)")
	cus := envList("AOGO_MU_CU")
	fs.Var(cus, "cu", "CU `URL`, repeatable (env AOGO_MU_CU, comma-separated)")
	hints := envList("AOGO_MU_SU_HINTS")
	fs.Var(hints, "su-hint", "scheduler `ADDR=URL`: the SU of a Scheduler address, ahead of its Scheduler-Location; repeatable (env AOGO_MU_SU_HINTS, comma-separated)")
	workers := fs.Int("workers", 32, "tasks worked at once")
	retryBase := fs.Duration("retry-base", 500*time.Millisecond, "delay before the first retry, doubled each time")
	retryMax := fs.Duration("retry-max", time.Minute, "longest delay between retries")
	maxAttempts := fs.Int("max-attempts", 10, "failed attempts before a task is parked")
	cronInterval := fs.Duration("cron-interval", 10*time.Second, "how often monitored processes are asked for cron results")
	maxItem := fs.Int("max-item", 10<<20, "largest item accepted or pushed, in `BYTES`")
	sf := addServeFlags(fs, "mu")
	noSpawnResults := fs.Bool("no-spawn-results", false, "do not pull and crank the boot result of spawned processes")
	maxDepth := muMaxDepthFlag(fs)
	quorumPolicy := muQuorumFlag(fs)
	quorumGrace := fs.Duration("quorum-grace", time.Second, "once a result's quorum is decided, how long the other CUs asked may still answer (so a dissenting CU is flagged)")
	fail, code, ok := parseUnitFlags(fs, args, "usage: aogo mu --cu URL [--cu URL]... [--listen 127.0.0.1:3005] [--data mu-data] [--store sqlite|postgres://…] [--sync full|normal] [--wallet FILE] [--gateway URL] [--su-hint ADDR=URL]... [--max-depth 1000] [--quorum 1-of-1]", stderr)
	if !ok {
		return code
	}
	if len(cus.vals) == 0 {
		return fail("at least one --cu URL is required")
	}
	hintMap := map[string]string{}
	for _, h := range hints.vals {
		addr, u, ok := strings.Cut(h, "=")
		if !ok || addr == "" || u == "" {
			return fail("--su-hint %q: want ADDR=URL", h)
		}
		hintMap[addr] = strings.TrimRight(u, "/")
	}
	w, log, unlock, err := unitSetup("mu", *walletPath, *dataDir, stderr)
	if err != nil {
		return fail("%v", err)
	}
	defer unlock()
	var store mu.Store
	switch {
	case *storeKind == "sqlite":
		sync, serr := parseSync(*syncMode)
		if serr != nil {
			return fail("%v", serr)
		}
		store, err = sqlite.OpenMU(filepath.Join(*dataDir, "mu.db"), sqlite.WithSync(sync))
	case strings.HasPrefix(*storeKind, "postgres://"), strings.HasPrefix(*storeKind, "postgresql://"):
		if *syncMode != "full" {
			return fail("--sync is the SQLite store's; a PostgreSQL server decides with its synchronous_commit")
		}
		store, err = postgres.OpenMU(ctx, *storeKind, postgres.MUOptions{Lease: *lease})
	default:
		return fail("--store %q: want sqlite or a postgres:// DSN", *storeKind)
	}
	if err != nil {
		return fail("%v", err)
	}
	defer store.Close()

	token, err := sf.operatorToken(*dataDir, log)
	if err != nil {
		return fail("%v", err)
	}
	hc := &http.Client{Timeout: 2 * time.Minute}
	cfg := mu.Config{
		Wallet: w, Store: store, CUs: cus.vals, SchedulerHints: hintMap, HTTPClient: hc,
		Workers: *workers, RetryBase: *retryBase, RetryMax: *retryMax, MaxAttempts: *maxAttempts,
		CronInterval: *cronInterval, MaxItemSize: *maxItem, NoSpawnResults: *noSpawnResults, MaxDepth: *maxDepth, Logger: log,
		Quorum: quorumPolicy.p, QuorumGrace: *quorumGrace,
		OperatorToken: token,
	}
	if *gatewayURL != "" {
		gw, err := uploadGateway(ctx, *gatewayURL, hc, w)
		if err != nil {
			return fail("%v", err)
		}
		cfg.Gateway = gw
	}
	unit, err := mu.New(cfg)
	if err != nil {
		return fail("%v", err)
	}
	defer unit.Close()

	ln, err := listenTCP(*listen)
	if err != nil {
		return fail("%v", err)
	}
	fmt.Fprintf(stdout, "aogo mu: listening on %s address %s\n", ln.Addr(), unit.Address())
	log.Info("mu started", "listen", ln.Addr().String(), "address", unit.Address(), "cus", strconv.Itoa(len(cus.vals)), "gateway", *gatewayURL)
	return serveUnit(ctx, ln, unit.Handler(), unit.Run, sf, 10*time.Second, log)
}

// muMaxDepthFlag registers --max-depth, the MU's brake on message loops (mu.Config.MaxDepth), on fs: for `aogo
// mu`, and for any command that runs an MU (aogo dev can register it the same way).
func muMaxDepthFlag(fs *flag.FlagSet) *int {
	def := mu.DefaultMaxDepth
	if v, err := strconv.Atoi(os.Getenv("AOGO_MU_MAX_DEPTH")); err == nil && v != 0 {
		def = v
	}
	return fs.Int("max-depth", def, "most hops a message cascade may take from its root (a user's message or a cron tick); "+
		"deeper messages are parked, not delivered (a message loop brake); negative: no limit (env AOGO_MU_MAX_DEPTH)")
}

// quorumFlag is a k-of-n result quorum flag (package quorum).
type quorumFlag struct{ p quorum.Policy }

func (q *quorumFlag) String() string { return q.p.String() }
func (q *quorumFlag) Set(v string) error {
	p, err := quorum.Parse(v)
	if err != nil {
		return err
	}
	q.p = p
	return nil
}

// muQuorumFlag registers --quorum, the MU's result quorum for processes without a Compute-Quorum tag
// (mu.Config.Quorum), on fs: for `aogo mu` and `aogo dev`.
func muQuorumFlag(fs *flag.FlagSet) *quorumFlag {
	q := &quorumFlag{p: quorum.Single}
	if v := os.Getenv("AOGO_MU_QUORUM"); v != "" {
		if p, err := quorum.Parse(v); err == nil {
			q.p = p
		}
	}
	fs.Var(q, "quorum", "`K-of-N` result quorum of processes without a "+quorum.Tag+" tag: each result is asked of N CUs and "+
		"cranked only when K agree (signed, same Result-Hash); 1-of-1 is one CU's word (env AOGO_MU_QUORUM)")
	return q
}
