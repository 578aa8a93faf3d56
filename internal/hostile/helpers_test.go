package hostile

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/gateway"
	"github.com/aogo/aogo/internal/httpd"
	"github.com/aogo/aogo/store/sqlite"
	"github.com/aogo/aogo/su"
	"github.com/aogo/aogo/wallet"
)

const mib = 1 << 20

const testToken = "hostile-test-operator-token"

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// serve serves h on 127.0.0.1 through the production server constructor and returns its base URL.
func serve(t testing.TB, h http.Handler, lim httpd.Limits) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httpd.NewServer(httpd.CheckHost(h, ln.Addr()), lim, quiet())
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

// liveHeap is the heap that survives a full collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// allocated is what f allocates on the heap in all (an upper bound of what it adds to the heap at any time,
// whatever the collector does meanwhile).
func allocated(f func()) uint64 {
	runtime.GC()
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

func mb(n uint64) string { return fmt.Sprintf("%.1f MiB", float64(n)/mib) }

func newWallet(t testing.TB) *wallet.Wallet {
	t.Helper()
	w, err := wallet.Generate(wallet.ED25519)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func signed(t testing.TB, w dataitem.Signer, target string, data []byte, tags ...dataitem.Tag) []byte {
	t.Helper()
	anchor := make([]byte, 32)
	rand.Read(anchor)
	it := &dataitem.Item{Tags: tags, Data: data, Anchor: anchor}
	if target != "" {
		it.Target, _ = dataitem.DecodeB64(target)
	}
	if err := it.Sign(w); err != nil {
		t.Fatal(err)
	}
	raw, err := it.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func tag(n, v string) dataitem.Tag { return dataitem.Tag{Name: n, Value: v} }

func openGateway(t testing.TB, cfg gateway.Config) *gateway.Server {
	t.Helper()
	cfg.Dir, cfg.Logger = t.TempDir(), quiet()
	gw, err := gateway.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gw.Close() })
	return gw
}

// startSU runs an SU on a SQLite store; it returns the unit and its base URL.
func startSU(t testing.TB, cfg su.Config) (*su.Unit, string) {
	t.Helper()
	st, err := sqlite.OpenSU(filepath.Join(t.TempDir(), "su.db"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store, cfg.Wallet, cfg.Logger = st, newWallet(t), quiet()
	u, err := su.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); u.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; u.Close(); st.Close() })
	return u, serve(t, u.Handler(), httpd.Limits{})
}

// rawRequest writes head (a request line and headers, without the blank line) and, after it, body; it returns
// the status line the server answers within a few seconds, or the read error.
func rawRequest(t testing.TB, base, head string, body []byte) (string, error) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, head+"\r\nHost: 127.0.0.1\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	c.Write(body)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

// closedWithin reports whether the server closes c (a read ends in EOF or reset, after any answer) within d.
func closedWithin(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return false
	}
	return true
}

func manyTags(n int, val string) []dataitem.Tag {
	out := make([]dataitem.Tag, n)
	for i := range out {
		out[i] = tag(fmt.Sprintf("T%02d", i), val)
	}
	return out
}

// peakHeap runs f with the collector running at every 5% of growth and returns the largest heap (objects,
// live or not yet swept) seen above the level before f, sampled every millisecond: about the most f held at
// once, which is what drives a process's RSS.
func peakHeap(f func()) uint64 {
	old := debug.SetGCPercent(5)
	defer debug.SetGCPercent(old)
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
	runtime.GC()
	base := read()
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			if v := read(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	f()
	close(stop)
	<-done
	if v := read(); v > peak.Load() {
		peak.Store(v)
	}
	return peak.Load() - min(peak.Load(), base)
}
