package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"github.com/aogo/aogo/devnet"
	"github.com/aogo/aogo/wallet"
)

func init() {
	registerBench("dev", "message → result latency and msgs/s through a whole dev network, as aoconnect sends", runBenchDev)
}

const benchDevUsage = `usage: aogo bench dev [-n 500] [--processes 1] [--module-file F --format FORMAT] [--url URL] [--client go]

Sends messages as aoconnect does — POST the signed item to the MU, then GET its result from the CU — and
prints p50/p99 latency and msgs/s. Without --url it starts a dev network in a temporary directory.

--client aoconnect drives the real @permaweb/aoconnect instead (node, legacy mode, an RSA-4096 JWK signer, an
Inc handler that replies) and prints the HTTP share of each message (both exchanges, timed around fetch)
apart from the client's own work (signing, JS); --client both runs the Go client first, with the same key, in
the same run (each message asking for a reply too), and prints the ratio. --pace D pauses the Go client
before each message, as aoconnect's own work does: the server meets each message idle.`

// runBenchDev is `aogo bench dev`.
func runBenchDev(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", 500, "messages per process")
	procs := fs.Int("processes", 1, "processes, each with its own sequential sender")
	moduleFile := fs.String("module-file", "", "wasm `FILE` to publish and benchmark instead of the network's module")
	format := fs.String("format", "", "Module-Format of --module-file")
	url := fs.String("url", "", "benchmark this running network instead of a fresh one")
	walletFile := fs.String("wallet", "", "wallet JWK `FILE`; empty: a fresh ed25519 key (RSA-4096 with --client aoconnect or both)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the measured messages (the whole network's, when it runs in this process) to `FILE`")
	clientKind := fs.String("client", "go", "who sends: go (aogo's client), aoconnect (the real npm client under node) or both")
	nodeModules := fs.String("node-modules", defaultNodeModules(), "node_modules `DIR` holding @permaweb/aoconnect, for --client aoconnect (env AOGO_NODE_MODULES)")
	warmup := fs.Int("warmup", 10, "aoconnect: messages sent before measuring")
	pace := fs.Duration("pace", 0, "go client: pause `D` before each message (untimed), as a client busy signing between messages")
	fs.Usage = func() { printUsage(fs, benchDevUsage, stderr) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	useGo, useNode := *clientKind == "go" || *clientKind == "both", *clientKind == "aoconnect" || *clientKind == "both"
	if fs.NArg() > 0 || *n <= 0 || *procs <= 0 || *warmup < 0 || *pace < 0 || (*moduleFile != "") != (*format != "") || !(useGo || useNode) {
		switch {
		case !(useGo || useNode):
			fmt.Fprintf(stderr, "aogo bench dev: --client %q: want go, aoconnect or both\n", *clientKind)
		case fs.NArg() > 0:
			fmt.Fprintf(stderr, "aogo bench dev: unexpected argument %q\n", fs.Arg(0))
		case *n <= 0 || *procs <= 0 || *warmup < 0 || *pace < 0:
			fmt.Fprintln(stderr, "aogo bench dev: -n and --processes must be positive, --warmup and --pace not negative")
		default:
			fmt.Fprintln(stderr, "aogo bench dev: --module-file and --format go together")
		}
		printUsage(fs, benchDevUsage, stderr)
		return 2
	}
	fail := func(err error) int { return clientFail(stderr, "bench dev", err) }

	// aoconnect signs with an Arweave JWK; the Go client uses the same key then, so both send the same shape.
	kind := wallet.ED25519
	if useNode {
		kind = wallet.RSA
	}
	var w *wallet.Wallet
	var err error
	if *walletFile != "" {
		w, err = wallet.Load(*walletFile)
	} else {
		w, err = wallet.Generate(kind)
	}
	if err != nil {
		return fail(err)
	}
	if useNode && w.Kind() != wallet.RSA {
		return fail(fmt.Errorf("--client %s: aoconnect's signer needs an RSA (Arweave) wallet, %s is %s", *clientKind, *walletFile, w.Kind()))
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
	for i := 0; useGo && i < *procs; i++ {
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
	defer func() {
		if *cpuProfile != "" {
			pprof.StopCPUProfile()
		}
	}()
	name := "aogo aos"
	if *moduleFile != "" {
		name = *moduleFile
	}
	var goRes devnet.BenchResult
	if useGo {
		// Beside aoconnect, each message asks for a reply as the Inc handler gives one: the same work.
		if goRes, err = devnet.BenchWith(ctx, c, pids, *n, devnet.BenchOptions{Reply: useNode, Pace: *pace}); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "%s, go client (%s): %s (load average %s)\n", name, w.Kind(), goRes, loadAverage())
	}
	if useNode {
		jwk, err := writeJWK(w)
		if err != nil {
			return fail(err)
		}
		defer os.RemoveAll(filepath.Dir(jwk))
		r, err := devnet.RunAoconnectBench(ctx, base, devnet.AoconnectBench{NodeModules: *nodeModules, JWK: jwk, Module: module,
			Messages: *n, Warmup: *warmup})
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "%s, aoconnect (rsa): %s (load average %s)\n", name, r, loadAverage())
		if useGo && goRes.P50 > 0 {
			goHTTP := goRes.PostP50 + goRes.ResultP50
			fmt.Fprintf(stdout, "aoconnect/go: HTTP p50 %.2fx (POST %.2fx, result %.2fx), end to end p50 %.2fx\n",
				ratio(r.HTTP.P50, goHTTP), ratio(r.Post.P50, goRes.PostP50), ratio(r.Result.P50, goRes.ResultP50), ratio(r.Total.P50, goRes.P50))
		}
	}
	return 0
}

// ratio is node's ms over Go's duration.
func ratio(ms float64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return ms * float64(time.Millisecond) / float64(d)
}

// writeJWK writes w's JWK into a private temporary directory, for node to read.
func writeJWK(w *wallet.Wallet) (string, error) {
	dir, err := os.MkdirTemp("", "aogo-bench-jwk-")
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, "jwk.json")
	if err := w.Save(p); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return p, nil
}

// defaultNodeModules is $AOGO_NODE_MODULES, else the directory scripts/setup-node.sh fills in a checkout.
func defaultNodeModules() string {
	if d := os.Getenv("AOGO_NODE_MODULES"); d != "" {
		return d
	}
	return filepath.Join(".cache", "node", "node_modules")
}
