package su_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aogo/aogo/internal/testenv"
	"github.com/aogo/aogo/store/postgres"
	"github.com/aogo/aogo/store/sqlite"
	"github.com/aogo/aogo/su"
)

// BenchmarkDurableAssign measures durable slots per second through the unit's write path (decode, verify,
// assign, sign, group commit), with writers spread over the processes. Each write returns only once durable.
// Metrics: assign/s, p50-ms and p99-ms latency of one write.
//
//	go test ./su -run '^$' -bench DurableAssign -benchtime 20000x
func BenchmarkDurableAssign(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		for _, kind := range []string{"ed25519", "rsa"} {
			for _, procs := range []int{1, 64} {
				b.Run(fmt.Sprintf("%s/%s/procs=%d", backend, kind, procs), func(b *testing.B) {
					benchAssign(b, backend, kind, procs)
				})
			}
		}
	}
}

func benchStore(b *testing.B, backend string) su.Store {
	switch backend {
	case "sqlite":
		s, err := sqlite.OpenSU(filepath.Join(b.TempDir(), "su.db"))
		if err != nil {
			b.Fatal(err)
		}
		return s
	case "postgres":
		s, err := postgres.OpenSU(context.Background(), testenv.PostgresSchemaDSN(b))
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	b.Fatalf("unknown backend %s", backend)
	return nil
}

func benchAssign(b *testing.B, backend, kind string, procs int) {
	w := suWallet
	if kind == "rsa" {
		var err error
		if w, err = walletRSA(); err != nil {
			b.Fatal(err)
		}
	}
	store := benchStore(b, backend)
	defer store.Close()
	u, err := su.New(su.Config{Wallet: w, Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- u.Run(ctx) }()
	defer func() { cancel(); <-done }()

	pids := make([]string, procs)
	for i := range pids {
		p, err := u.PostItem(ctx, processItem(b, userWallet, u.Address()))
		if err != nil {
			b.Fatal(err)
		}
		pids[i] = p.ID
	}
	// Items are signed before the clock starts: the benchmark measures the SU, not the client.
	items := make([][]byte, b.N)
	for i := range items {
		items[i] = messageItem(b, userWallet, pids[i%procs], fmt.Sprint(i))
	}
	writers := 64
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				t0 := time.Now()
				if _, err := u.PostItem(ctx, items[i]); err != nil {
					b.Error(err)
					return
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "assign/s")
	b.ReportMetric(float64(lat[len(lat)/2])/1e6, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100])/1e6, "p99-ms")
	b.ReportMetric(0, "ns/op")
}
