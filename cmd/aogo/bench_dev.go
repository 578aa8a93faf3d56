package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"

	"github.com/aogo/aogo/devnet"
	"github.com/aogo/aogo/wallet"
)

func init() {
	registerBench("dev", "message → result latency and msgs/s through a whole dev network, as aoconnect sends", runBenchDev)
}

const benchDevUsage = `usage: aogo bench dev [-n 500] [--processes 1] [--module-file F --format FORMAT] [--url URL]

Sends messages as aoconnect does — POST the signed item to the MU, then GET its result from the CU — and
prints p50/p99 latency and msgs/s. Without --url it starts a dev network in a temporary directory.`

// runBenchDev is `aogo bench dev`.
func runBenchDev(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", 500, "messages per process")
	procs := fs.Int("processes", 1, "processes, each with its own sequential sender")
	moduleFile := fs.String("module-file", "", "wasm `FILE` to publish and benchmark instead of the network's module")
	format := fs.String("format", "", "Module-Format of --module-file")
	url := fs.String("url", "", "benchmark this running network instead of a fresh one")
	walletFile := fs.String("wallet", "", "wallet JWK `FILE`; empty: a fresh ed25519 key")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the measured messages (the whole network's, when it runs in this process) to `FILE`")
	fs.Usage = func() { printUsage(fs, benchDevUsage, stderr) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 || *n <= 0 || *procs <= 0 || (*moduleFile != "") != (*format != "") {
		switch {
		case fs.NArg() > 0:
			fmt.Fprintf(stderr, "aogo bench dev: unexpected argument %q\n", fs.Arg(0))
		case *n <= 0 || *procs <= 0:
			fmt.Fprintln(stderr, "aogo bench dev: -n and --processes must be positive")
		default:
			fmt.Fprintln(stderr, "aogo bench dev: --module-file and --format go together")
		}
		printUsage(fs, benchDevUsage, stderr)
		return 2
	}
	fail := func(err error) int { return clientFail(stderr, "bench dev", err) }

	w, err := wallet.Generate(wallet.ED25519)
	if *walletFile != "" {
		w, err = wallet.Load(*walletFile)
	}
	if err != nil {
		return fail(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	base := *url
	if base == "" {
		dir, err := os.MkdirTemp("", "aogo-bench-dev-")
		if err != nil {
			return fail(err)
		}
		defer os.RemoveAll(dir)
		net, err := devnet.New(ctx, devnet.Config{Dir: dir, Listen: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
		if err != nil {
			return fail(err)
		}
		done := make(chan error, 1)
		go func() { done <- net.Run(ctx) }()
		defer func() {
			cancel()
			<-done
			net.Close()
		}()
		select {
		case <-net.Ready():
		case err := <-done:
			done <- err
			return fail(fmt.Errorf("dev network stopped: %v", err))
		}
		base = net.URL()
	}
	// The benchmark client talks over loopback TCP, as aoconnect would.
	c, err := devnet.Dial(ctx, base, w, nil)
	if err != nil {
		return fail(err)
	}
	module := ""
	if *moduleFile != "" {
		wasm, err := os.ReadFile(*moduleFile)
		if err != nil {
			return fail(err)
		}
		if module, err = c.Publish(ctx, devnet.Module{Wasm: wasm, Format: *format, MemoryLimit: devnet.DefaultMemoryLimit, ComputeLimit: devnet.DefaultComputeLimit}); err != nil {
			return fail(err)
		}
	}
	var pids []string
	for i := 0; i < *procs; i++ {
		pid, err := devnet.BenchProcess(ctx, c, module)
		if err != nil {
			return fail(err)
		}
		pids = append(pids, pid)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fail(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fail(fmt.Errorf("cpu profile: %w", err))
		}
	}
	r, err := devnet.Bench(ctx, c, pids, *n)
	if *cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return fail(err)
	}
	name := "aogo aos"
	if *moduleFile != "" {
		name = *moduleFile
	}
	fmt.Fprintf(stdout, "%s: %s (load average %s)\n", name, r, loadAverage())
	return 0
}
