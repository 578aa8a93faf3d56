package sqlite_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/store/sqlite"
	"github.com/aogo/aogo/su"
)

// BenchmarkSUCommit measures the store's cost per durable slot: group commits of batch slots spread over procs
// processes, with item sizes of an ed25519-signed message and assignment. Metrics: µs-slot wall time per slot.
//
//	go test ./store/sqlite -run '^$' -bench SUCommit -benchtime 50000x
func BenchmarkSUCommit(b *testing.B) {
	for _, c := range []struct{ procs, batch int }{{64, 64}, {64, 512}, {1, 64}} {
		b.Run(fmt.Sprintf("procs=%d/batch=%d", c.procs, c.batch), func(b *testing.B) {
			s, err := sqlite.OpenSU(filepath.Join(b.TempDir(), "su.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			pids := make([]string, c.procs)
			next := make([]uint64, c.procs)
			for i := range pids {
				pids[i] = benchID()
			}
			mk := func(i int) su.Slot {
				p := i % c.procs
				n := next[p]
				next[p]++
				return su.Slot{Process: pids[p], Nonce: n, Timestamp: 1_700_000_000_000 + int64(n), BlockHeight: 1500000,
					HashChain: benchID(), AssignmentID: benchID(), MessageID: benchID(), Assignment: benchBytes(560),
					Message: benchBytes(450)}
			}
			batch := make([]su.Slot, 0, c.batch)
			b.ResetTimer()
			start, cpu0 := time.Now(), cpuTime()
			for i := 0; i < b.N; {
				batch = batch[:0]
				for ; len(batch) < c.batch && i < b.N; i++ {
					batch = append(batch, mk(i))
				}
				if err := s.Commit(ctx, batch, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N), "µs-slot")
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs-slot")
		})
	}
}

// cpuTime is the CPU time of this process so far (user and system): unlike wall time, it is barely moved by
// other load on the machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchID() string { return dataitem.B64(benchBytes(32)) }

func benchBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
