package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/store/postgres"
	"github.com/aogo/aogo/store/sqlite"
	"github.com/aogo/aogo/su"
	"github.com/aogo/aogo/wallet"
	"github.com/jackc/pgx/v5"
)

func init() {
	registerBench("su", "durable assignments per second and write latency of an in-process Scheduler Unit", benchSU)
}

// suBenchConfig is one `aogo bench su` setup.
type suBenchConfig struct {
	store       string // "sqlite" or a postgres:// DSN
	walletType  string
	processes   int
	messages    int
	concurrency int
	http        bool
}

// suBenchResult is one measured run.
type suBenchResult struct {
	rate     float64 // durable assignments per second
	p50, p99 time.Duration
	// cpuPer is the process's CPU time (user and system, all goroutines: SU, store and the driving writers) per
	// assignment in µs. Unlike the rate it barely moves with other load on the machine: 2 idle cores give at
	// most 2e6/cpuPer assignments per second.
	cpuPer float64
	// signRate is how many assignments per second the SU wallet alone signs, one after another, measured just
	// before the run: the ceiling of one process's log, whose hash chain makes its signing sequential.
	signRate float64
	load     string // 1-minute load average when the run ended
}

// benchSU is `aogo bench su`: it drives an in-process SU (through its HTTP handler with --http) with messages
// signed before the clock starts, spread round-robin over the processes, from --concurrency writers. Every write
// returns only once its slot is durable.
func benchSU(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench su", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c suBenchConfig
	fs.StringVar(&c.store, "store", envOr("AOGO_SU_STORE", "sqlite"), "store: sqlite (in a temporary directory), or a postgres:// `DSN` (a temporary schema in it) (env AOGO_SU_STORE)")
	fs.StringVar(&c.walletType, "wallet-type", "ed25519", "SU wallet: ed25519 or rsa (RSA-4096)")
	fs.IntVar(&c.processes, "processes", 64, "processes the messages are spread over")
	fs.IntVar(&c.messages, "messages", 20000, "messages per run")
	fs.IntVar(&c.concurrency, "concurrency", 0, "concurrent writers (default 8 per process, at least 64, at most 1024)")
	fs.BoolVar(&c.http, "http", false, "post through the SU's HTTP API on 127.0.0.1 instead of calling it")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the measured runs to `FILE`")
	runs := fs.Int("runs", 1, "runs, each on a fresh store; with more than one, a median row follows")
	fs.Usage = func() {
		printUsage(fs, "usage: aogo bench su [--store sqlite|postgres://…] [--wallet-type ed25519|rsa] [--processes 64] [--messages 20000] [--concurrency N] [--http] [--runs 1]", stderr)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "aogo bench su: "+format+"\n", a...)
		return 1
	}
	if fs.NArg() > 0 {
		return fail("unexpected argument %q", fs.Arg(0))
	}
	switch {
	case c.processes < 1, c.messages < 1, *runs < 1, c.concurrency < 0:
		return fail("--processes, --messages and --runs must be positive, --concurrency not negative")
	case c.walletType != wallet.ED25519 && c.walletType != wallet.RSA:
		return fail("--wallet-type %q: want ed25519 or rsa", c.walletType)
	case c.store != "sqlite" && !isPostgresDSN(c.store):
		return fail("--store %q: want sqlite or a postgres:// DSN", c.store)
	}
	if c.concurrency == 0 {
		c.concurrency = min(max(64, 8*c.processes), 1024)
	}

	fmt.Fprintf(stderr, "aogo bench su: making an SU wallet (%s) and signing %d processes and %d messages…\n", c.walletType, c.processes, c.messages)
	in, err := newSUBenchInput(c)
	if err != nil {
		return fail("%v", err)
	}
	storeName := "sqlite"
	if c.store != "sqlite" {
		storeName = "postgres"
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fail("%v", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fail("cpu profile: %v", err)
		}
		defer pprof.StopCPUProfile()
	}
	var results []suBenchResult
	for i := range *runs {
		r, err := runSUBench(ctx, c, in)
		if err != nil {
			return fail("run %d: %v", i+1, err)
		}
		fmt.Fprintf(stderr, "aogo bench su: run %d: %.0f assignments/s, p50 %.2f ms, p99 %.2f ms, %.0f µs CPU each, wallet signs %.0f/s, load %s\n",
			i+1, r.rate, ms(r.p50), ms(r.p99), r.cpuPer, r.signRate, r.load)
		results = append(results, r)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "run\tstore\twallet\tprocs\tconc\thttp\tmsgs\tassign/s\tp50-ms\tp99-ms\tcpu-µs/assign\tsign/s\tload")
	row := func(label string, r suBenchResult) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%v\t%d\t%.0f\t%.2f\t%.2f\t%.0f\t%.0f\t%s\n", label, storeName, c.walletType,
			c.processes, c.concurrency, c.http, c.messages, r.rate, ms(r.p50), ms(r.p99), r.cpuPer, r.signRate, r.load)
	}
	for i, r := range results {
		row(fmt.Sprint(i+1), r)
	}
	if len(results) > 1 {
		row("median", medianResult(results))
	}
	tw.Flush()
	return 0
}

func isPostgresDSN(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// medianResult takes the median of each figure on its own.
func medianResult(rs []suBenchResult) suBenchResult {
	med := func(f func(suBenchResult) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		slices.Sort(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	loads := make([]string, len(rs))
	for i, r := range rs {
		loads[i] = r.load
	}
	return suBenchResult{
		rate:     med(func(r suBenchResult) float64 { return r.rate }),
		signRate: med(func(r suBenchResult) float64 { return r.signRate }),
		cpuPer:   med(func(r suBenchResult) float64 { return r.cpuPer }),
		p50:      time.Duration(med(func(r suBenchResult) float64 { return float64(r.p50) })),
		p99:      time.Duration(med(func(r suBenchResult) float64 { return float64(r.p99) })),
		load:     strings.Join(loads, "/"),
	}
}

// suBenchInput is what every run posts: the SU wallet, the signed processes and the signed messages (message i
// targets process i mod processes). Each run has a fresh store, so the same items serve every run.
type suBenchInput struct {
	suWallet  *wallet.Wallet
	processes [][]byte
	pids      []string
	messages  [][]byte
}

func newSUBenchInput(c suBenchConfig) (*suBenchInput, error) {
	sw, err := wallet.Generate(c.walletType)
	if err != nil {
		return nil, fmt.Errorf("SU wallet: %w", err)
	}
	user, err := wallet.Generate(wallet.ED25519)
	if err != nil {
		return nil, fmt.Errorf("user wallet: %w", err)
	}
	in := &suBenchInput{suWallet: sw}
	sign := func(it *dataitem.Item) ([]byte, error) {
		if err := it.Sign(user); err != nil {
			return nil, err
		}
		return it.Bytes()
	}
	tag := func(n, v string) dataitem.Tag { return dataitem.Tag{Name: n, Value: v} }
	module := make([]byte, 32)
	rand.Read(module)
	for i := range c.processes {
		it := &dataitem.Item{Tags: []dataitem.Tag{tag("Data-Protocol", "ao"), tag("Variant", "ao.TN.1"), tag("Type", "Process"),
			tag("Module", dataitem.B64(module)), tag("Scheduler", sw.Address()), tag("Name", fmt.Sprint("bench-", i))},
			Data: []byte("bench process")}
		raw, err := sign(it)
		if err != nil {
			return nil, fmt.Errorf("sign process: %w", err)
		}
		in.processes = append(in.processes, raw)
		in.pids = append(in.pids, it.ID())
	}
	// Sign on every core: with RSA-sized runs this is the slow part of the setup.
	in.messages = make([][]byte, c.messages)
	var wg sync.WaitGroup
	var firstErr atomic.Pointer[error]
	workers := 8
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < c.messages; i += workers {
				target, _ := dataitem.DecodeB64(in.pids[i%c.processes])
				it := &dataitem.Item{Target: target, Tags: []dataitem.Tag{tag("Data-Protocol", "ao"), tag("Variant", "ao.TN.1"),
					tag("Type", "Message"), tag("Action", "Eval")}, Data: []byte(fmt.Sprint("return ", i))}
				raw, err := sign(it)
				if err != nil {
					err = fmt.Errorf("sign message: %w", err)
					firstErr.CompareAndSwap(nil, &err)
					return
				}
				in.messages[i] = raw
			}
		}()
	}
	wg.Wait()
	if e := firstErr.Load(); e != nil {
		return nil, *e
	}
	return in, nil
}

// runSUBench runs one measurement on a fresh store.
func runSUBench(ctx context.Context, c suBenchConfig, in *suBenchInput) (res suBenchResult, err error) {
	store, cleanup, err := openBenchStore(ctx, c.store)
	if err != nil {
		return res, err
	}
	defer func() { err = errors.Join(err, cleanup()) }()
	unit, err := su.New(su.Config{Wallet: in.suWallet, Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return res, err
	}
	ctx, cancel := context.WithCancel(ctx)
	runErr := make(chan error, 1)
	go func() { runErr <- unit.Run(ctx) }()
	defer func() { cancel(); <-runErr }()

	post := func(ctx context.Context, raw []byte) error {
		_, err := unit.PostItem(ctx, raw)
		return err
	}
	if c.http {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return res, fmt.Errorf("listen: %w", err)
		}
		srv := &http.Server{Handler: unit.Handler(), ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
		hc := &http.Client{Transport: &http.Transport{MaxIdleConns: c.concurrency, MaxIdleConnsPerHost: c.concurrency}}
		defer hc.CloseIdleConnections()
		cl := client.NewSU("http://"+ln.Addr().String(), hc)
		post = func(ctx context.Context, raw []byte) error {
			_, err := cl.Post(ctx, raw)
			return err
		}
	}
	for _, p := range in.processes {
		if err := post(ctx, p); err != nil {
			return res, fmt.Errorf("spawn: %w", err)
		}
	}

	if res.signRate, err = signRate(in.suWallet); err != nil {
		return res, err
	}
	lat := make([]time.Duration, len(in.messages))
	var next atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	start, cpu0 := time.Now(), processCPU()
	for range c.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for failed.Load() == nil {
				i := int(next.Add(1)) - 1
				if i >= len(in.messages) {
					return
				}
				t0 := time.Now()
				if err := post(ctx, in.messages[i]); err != nil {
					err = fmt.Errorf("message %d: %w", i, err)
					failed.CompareAndSwap(nil, &err)
					return
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	elapsed, cpu := time.Since(start), processCPU()-cpu0
	if e := failed.Load(); e != nil {
		return res, *e
	}
	res.load = loadAverage()
	// Every message must hold its own slot: process k's log ends at nonce messages/processes (rounded).
	for k, pid := range in.pids {
		last, err := store.Last(ctx, pid)
		if err != nil {
			return res, fmt.Errorf("check log of %s: %w", pid, err)
		}
		want := uint64(len(in.messages) / len(in.pids))
		if k < len(in.messages)%len(in.pids) {
			want++
		}
		if last.Nonce != want {
			return res, fmt.Errorf("process %s ends at nonce %d, want %d", pid, last.Nonce, want)
		}
	}
	slices.Sort(lat)
	res.rate = float64(len(lat)) / elapsed.Seconds()
	res.cpuPer = float64(cpu.Microseconds()) / float64(len(lat))
	res.p50, res.p99 = lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*99/100)]
	return res, nil
}

// signRate signs assignment-sized digests one after another for a quarter of a second (at least 5 of them).
func signRate(w *wallet.Wallet) (float64, error) {
	msg := make([]byte, 48) // an assignment's deep hash is a SHA-384
	n, start := 0, time.Now()
	for ; n < 5 || time.Since(start) < 250*time.Millisecond; n++ {
		if _, err := w.Sign(msg); err != nil {
			return 0, fmt.Errorf("sign: %w", err)
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// openBenchStore opens a fresh store: SQLite in a temporary directory, or PostgreSQL in a temporary schema.
// cleanup closes and removes it.
func openBenchStore(ctx context.Context, kind string) (su.Store, func() error, error) {
	if kind == "sqlite" {
		dir, err := os.MkdirTemp("", "aogo-bench-su-")
		if err != nil {
			return nil, nil, err
		}
		s, err := sqlite.OpenSU(filepath.Join(dir, "su.db"))
		if err != nil {
			os.RemoveAll(dir)
			return nil, nil, err
		}
		return s, func() error { return errors.Join(s.Close(), os.RemoveAll(dir)) }, nil
	}
	conn, err := pgx.Connect(ctx, kind)
	if err != nil {
		return nil, nil, fmt.Errorf("connect: %w", err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "aogo_bench_su_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		conn.Close(ctx)
		return nil, nil, fmt.Errorf("create schema: %w", err)
	}
	drop := func() error {
		defer conn.Close(context.Background())
		_, err := conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		return err
	}
	sep := "?"
	if strings.Contains(kind, "?") {
		sep = "&"
	}
	s, err := postgres.OpenSU(ctx, kind+sep+"search_path="+url.QueryEscape(schema))
	if err != nil {
		return nil, nil, errors.Join(err, drop())
	}
	return s, func() error { return errors.Join(s.Close(), drop()) }, nil
}
