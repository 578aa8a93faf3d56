package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/cu"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/gateway"
	"github.com/aogo/aogo/store/sqlite"
	_ "github.com/aogo/aogo/vm/emscripten" // registers the ao emscripten module formats
	"github.com/aogo/aogo/weavedrive"
)

func init() {
	register("cu", "run a Compute Unit", runCU)
}

// runCU is `aogo cu`: a Compute Unit serving the reference CU's HTTP API.
func runCU(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cu", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", envOr("AOGO_CU_LISTEN", "127.0.0.1:6363"), "listen `ADDR` (env AOGO_CU_LISTEN)")
	dataDir := fs.String("data", envOr("AOGO_CU_DATA", "cu-data"), "data `DIR`: store, module cache, snapshots (env AOGO_CU_DATA)")
	walletPath := fs.String("wallet", envOr("AOGO_CU_WALLET", ""), "wallet JWK `FILE` that signs attestations; empty: DIR/cu-wallet.json, an ed25519 key made on first start (env AOGO_CU_WALLET)")
	suURL := fs.String("su", envOr("AOGO_CU_SU", ""), "SU `URL` for every process; empty: each process's Scheduler-Location from the gateway (env AOGO_CU_SU)")
	gatewayURL := fs.String("gateway", envOr("AOGO_GATEWAY", ""), "gateway `URL` for modules, blocks and Scheduler-Locations (env AOGO_GATEWAY)")
	maxMemory := fs.String("max-memory", "1-gb", "largest Memory-Limit accepted (413 above)")
	maxCompute := fs.String("max-compute", envOr("AOGO_CU_MAX_COMPUTE", strconv.FormatUint(cu.DefaultMaxCompute, 10)),
		"the most compute `UNITS` a message gets: a higher Compute-Limit (aos: 9e12) is capped here and a message that reaches it ends with an Error naming both; the default ends a Lua loop in ≈1.5 s on a 2-core VM; CUs that must agree on results need the same value (env AOGO_CU_MAX_COMPUTE)")
	maxDryRun := fs.String("max-dryrun-compute", envOr("AOGO_CU_MAX_DRYRUN_COMPUTE", strconv.FormatUint(cu.DefaultMaxDryRunCompute, 10)),
		"the most compute `UNITS` a dry-run gets, at most --max-compute (env AOGO_CU_MAX_DRYRUN_COMPUTE)")
	every := fs.Int("checkpoint-every", 1000, "evaluations between checkpoints")
	cacheDir := moduleCacheFlag(fs, "DIR/wasmcache")
	cache := fs.String("cache", "2-gb", "memory budget of hot machines")
	publish := fs.Duration("publish-checkpoints", 0, "publish each process's state to the gateway as a signed Checkpoint item (the reference's format) at most every `DURATION`, and at shutdown; 0: never")
	trust := envList("AOGO_CU_TRUST_CHECKPOINTS")
	fs.Var(trust, "trust-checkpoint", "`ADDR` whose Checkpoint items on the gateway this CU resumes processes from, besides its own; repeatable (env AOGO_CU_TRUST_CHECKPOINTS, comma-separated)")
	sf := addServeFlags(fs, "cu")
	hashPolicy := memoryHashFlag(fs)
	fail, code, ok := parseUnitFlags(fs, args, "usage: aogo cu --gateway URL [--listen 127.0.0.1:6363] [--data cu-data] [--wallet FILE] [--su URL]", stderr)
	if !ok {
		return code
	}
	if *gatewayURL == "" {
		return fail("--gateway is required (modules are read from it)")
	}
	mem, err := ao.ParseMemoryLimit(*maxMemory)
	if err != nil {
		return fail("--max-memory: %v", err)
	}
	comp, err := parseMaxCompute("--max-compute", *maxCompute)
	if err != nil {
		return fail("%v", err)
	}
	dryComp, err := parseMaxCompute("--max-dryrun-compute", *maxDryRun)
	if err != nil {
		return fail("%v", err)
	}
	cacheBytes, err := ao.ParseMemoryLimit(*cache)
	if err != nil {
		return fail("--cache: %v", err)
	}
	policy, err := cu.ParseHashPolicy(*hashPolicy)
	if err != nil {
		return fail("--memory-hash: %v", err)
	}
	w, log, unlock, err := unitSetup("cu", *walletPath, *dataDir, stderr)
	if err != nil {
		return fail("%v", err)
	}
	defer unlock()
	store, err := sqlite.OpenCU(filepath.Join(*dataDir, "cu.db"))
	if err != nil {
		return fail("%v", err)
	}
	defer store.Close()

	token, err := sf.operatorToken(*dataDir, log)
	if err != nil {
		return fail("%v", err)
	}
	hc := &http.Client{Timeout: 2 * time.Minute}
	gw := gateway.NewClient(*gatewayURL, hc)
	if *publish > 0 {
		// Checkpoint items are uploads: to an Arweave node they need an RSA wallet to sign the transactions.
		if gw, err = uploadGateway(ctx, *gatewayURL, hc, w); err != nil {
			return fail("--publish-checkpoints: %v", err)
		}
	}
	var loc cu.Locator
	if *suURL != "" {
		loc = cu.FixedScheduler(client.NewSU(*suURL, hc))
	} else {
		loc = &locationLocator{gw: gw, hc: hc, cache: map[string]locatedSU{}}
	}
	drive, err := weavedrive.ForGateway(*gatewayURL, hc, filepath.Join(*dataDir, "weavedrive"), weavedrive.DefaultCacheBytes)
	if err != nil {
		return fail("%v", err)
	}
	unit, err := cu.New(cu.Config{
		WeaveDrive: drive,
		Wallet:     w, Scheduler: loc, Modules: gw, Blocks: gatewayBlocks{gw}, Store: store, DataDir: *dataDir, CompiledCache: *cacheDir,
		MaxMemory: mem, MaxCompute: comp, MaxDryRunCompute: dryComp, CheckpointEvery: *every, CacheBytes: cacheBytes,
		MemoryHash: policy, Logger: log, OperatorToken: token,
		Archive: gw, ArchiveEvery: *publish, TrustCheckpoints: trust.vals,
	})
	if err != nil {
		return fail("%v", err)
	}

	ln, err := listenTCP(*listen)
	if err != nil {
		return fail("%v", err)
	}
	fmt.Fprintf(stdout, "aogo cu: listening on %s address %s\n", ln.Addr(), unit.Address())
	log.Info("cu started", "listen", ln.Addr().String(), "address", unit.Address(), "su", *suURL, "gateway", *gatewayURL)
	code = serveUnit(ctx, ln, unit.Handler(), unit.Run, sf, 30*time.Second, log)
	if err := unit.Close(); err != nil {
		log.Error("close", "err", err)
		code = 1
	}
	return code
}

// parseMaxCompute reads a compute maximum flag: a positive integer, "1e10" style allowed.
func parseMaxCompute(flag, s string) (uint64, error) {
	n, err := ao.ParseComputeLimit(s)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%s %q: want a positive number of compute units", flag, s)
	}
	return n, nil
}

// gatewayBlocks adapts the gateway's block list (timestamps in seconds) to cu.BlockSource (ms).
type gatewayBlocks struct{ gw *gateway.Client }

func (g gatewayBlocks) Blocks(ctx context.Context, min, max int64) ([]cu.Block, error) {
	if min < 0 {
		min = 0
	}
	bs, err := g.gw.Blocks(ctx, uint64(min), uint64(max))
	if err != nil {
		return nil, err
	}
	out := make([]cu.Block, len(bs))
	for i, b := range bs {
		out[i] = cu.Block{Height: int64(b.Height), Timestamp: b.Timestamp * 1000}
	}
	return out, nil
}

// locationLocator finds a process's SU as ao's scheduler-utils does: the process's Scheduler tag (from the
// gateway), then that address's newest Scheduler-Location, cached for its Time-To-Live.
type locationLocator struct {
	gw    *gateway.Client
	hc    *http.Client
	mu    sync.Mutex
	cache map[string]locatedSU
}

type locatedSU struct {
	su      *client.SU
	expires time.Time
}

func (l *locationLocator) Locate(ctx context.Context, pid string) (cu.Scheduler, error) {
	l.mu.Lock()
	e, ok := l.cache[pid]
	l.mu.Unlock()
	if ok && time.Now().Before(e.expires) {
		return e.su, nil
	}
	tags, _, err := l.gw.Tags(ctx, pid)
	if err != nil {
		if errors.Is(err, gateway.ErrNotFound) {
			return nil, &cu.Error{Status: http.StatusNotFound, Err: fmt.Errorf("process %s is not on the gateway", pid)}
		}
		return nil, fmt.Errorf("process %s tags: %w", pid, err)
	}
	addr, _ := dataitem.Get(tags, ao.TagScheduler)
	if addr == "" {
		return nil, &cu.Error{Status: http.StatusUnprocessableEntity, Err: fmt.Errorf("process %s has no Scheduler tag", pid)}
	}
	u, ttl, err := l.gw.SchedulerLocation(ctx, addr)
	if err != nil {
		return nil, fmt.Errorf("scheduler location of %s: %w", addr, err)
	}
	s := client.NewSU(u, l.hc)
	l.mu.Lock()
	l.cache[pid] = locatedSU{su: s, expires: time.Now().Add(ttl)}
	l.mu.Unlock()
	return s, nil
}

// memoryHashFlag is --memory-hash of aogo cu and aogo dev (cu.ParseHashPolicy).
func memoryHashFlag(fs *flag.FlagSet) *string {
	return fs.String("memory-hash", envOr("AOGO_CU_MEMORY_HASH", "run"), "which attestations carry a Memory-Hash: run (last message of each "+
		"evaluation, what a result request waits for), every, checkpoint (none on the result path; env AOGO_CU_MEMORY_HASH)")
}
