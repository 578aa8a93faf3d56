package hostile

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aogo/aogo/gateway"
	"github.com/aogo/aogo/internal/httpd"
)

// TestHostileIssueFigures runs the issue's attacks at their full size against the defaults and logs what
// they hold (AOGO_HOSTILE_FULL=1; a minute and a few GB of headroom). The suite above proves the same bounds at
// a size CI affords.
func TestHostileIssueFigures(t *testing.T) {
	if os.Getenv("AOGO_HOSTILE_FULL") == "" {
		t.Skip("set AOGO_HOSTILE_FULL=1 to run the issue's attacks at full size")
	}
	t.Run("1000 aliases × transactions(first:1000)", func(t *testing.T) {
		gw := openGateway(t, gateway.Config{})
		w := newWallet(t)
		for i := range 1000 {
			if _, err := gw.Put(context.Background(), signed(t, w, "", []byte(fmt.Sprint(i)), manyTags(8, "value")...)); err != nil {
				t.Fatal(err)
			}
		}
		base := serve(t, gw, httpd.Limits{})
		q := aliases(1000, `transactions(first: 1000) { edges { node { id owner { address } tags { name value } } } }`)
		var code, size int
		peak := peakHeap(func() { code, size, _ = graphQL(t, base, q) })
		t.Logf("query of %d bytes: %d, answer %d bytes, peak heap +%s", len(q), code, size, mb(peak))
	})
	t.Run("4 × 100 MB uploads", func(t *testing.T) {
		gw := openGateway(t, gateway.Config{})
		base := serve(t, gw, httpd.Limits{})
		before := liveHeap()
		zeros := make([]byte, 64<<10)
		var wg sync.WaitGroup
		for range 4 {
			c := dial(t, base)
			wg.Add(1)
			go func() {
				defer wg.Done()
				fmt.Fprintf(c, "POST /tx HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n", 100_000_000)
				for left := 100_000_000 - 1; left > 0; left -= len(zeros) {
					if _, err := c.Write(zeros[:min(left, len(zeros))]); err != nil {
						return
					}
				}
			}()
		}
		time.Sleep(5 * time.Second)
		t.Logf("4 × 100 MB uploads stalled one byte short: live heap +%s (streamed to disk)", mb(liveHeap()-min(liveHeap(), before)))
	})
	t.Run("12,000 idle connections", func(t *testing.T) {
		base := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), httpd.Limits{})
		before := liveHeap()
		var open atomic.Int64
		var conns []net.Conn
		for range 12000 {
			c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.Write([]byte("GET / HTTP/1.1\r\n"))
			conns = append(conns, c)
		}
		var wg sync.WaitGroup
		for _, c := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.SetReadDeadline(time.Now().Add(time.Second))
				if _, err := c.Read(make([]byte, 1)); err != nil {
					if ne, ok := err.(net.Error); ok && ne.Timeout() {
						open.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		t.Logf("12,000 connections: %d held (cap %d), live heap +%s (both sides)", open.Load(), httpd.DefaultLimits().MaxConns, mb(liveHeap()-min(liveHeap(), before)))
	})
}
