package hostile

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aogo/aogo/internal/httpd"
)

// short are limits a test can outwait; production uses httpd.DefaultLimits (seconds to minutes).
var short = httpd.Limits{ReadHeaderTimeout: 300 * time.Millisecond, ReadTimeout: 600 * time.Millisecond,
	WriteTimeout: 600 * time.Millisecond, IdleTimeout: 300 * time.Millisecond}

// The generous deadline within which a server must have dropped a hostile connection (a hang guard, not a
// speed claim: the limits above are what frees them).
const dropped = 5 * time.Second

func dial(t testing.TB, base string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// trickle writes s a byte at a time every interval until the server closes c or s ends.
func trickle(c net.Conn, s string, interval time.Duration) {
	for i := 0; i < len(s); i++ {
		if _, err := c.Write([]byte{s[i]}); err != nil {
			return
		}
		time.Sleep(interval)
	}
}

func TestHostileSlowClients(t *testing.T) {
	handlerDone := make(chan error, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		w.Write(b)
	})
	mux.HandleFunc("GET /big", func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 1<<20)
		var err error
		for i := 0; i < 1024 && err == nil; i++ { // 1 GiB, to a client that never reads
			_, err = w.Write(chunk)
		}
		handlerDone <- err
	})
	mux.HandleFunc("GET /small", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	base := serve(t, mux, short)

	t.Run("slowloris headers", func(t *testing.T) {
		c := dial(t, base)
		go trickle(c, "GET /small HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: "+strings.Repeat("a", 1000), 50*time.Millisecond)
		if !closedWithin(c, dropped) {
			t.Error("a client sending its headers a byte at a time is never dropped")
		}
	})
	t.Run("slow body", func(t *testing.T) {
		c := dial(t, base)
		fmt.Fprintf(c, "POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n")
		go trickle(c, strings.Repeat("b", 1000), 50*time.Millisecond)
		if !closedWithin(c, dropped) {
			t.Error("a client sending its body a byte at a time is never dropped")
		}
	})
	t.Run("idle keep-alive", func(t *testing.T) {
		c := dial(t, base)
		fmt.Fprintf(c, "GET /small HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
		if !closedWithin(c, dropped) {
			t.Error("an idle keep-alive connection is never closed")
		}
	})
	t.Run("never reading", func(t *testing.T) {
		c := dial(t, base)
		fmt.Fprintf(c, "GET /big HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
		select {
		case err := <-handlerDone:
			if err == nil {
				t.Error("1 GiB written to a client that never reads")
			}
		case <-time.After(dropped):
			t.Error("the handler writing to a client that never reads is never freed")
		}
	})
}

// A flood of idle connections holds at most MaxConns of them: the rest are closed on arrival, and the heap
// held per connection is small, so the flood costs MaxConns × that at most.
func TestHostileConnectionFlood(t *testing.T) {
	const maxConns, flood = 200, 600
	lim := httpd.Limits{MaxConns: maxConns, ReadHeaderTimeout: time.Minute, IdleTimeout: time.Minute}
	base := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), lim)
	before := liveHeap()
	conns := make([]net.Conn, 0, flood)
	for range flood {
		c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte("GET / HTTP/1.1\r\n")) // a slowloris start: the server reads and waits for the rest
		conns = append(conns, c)
	}
	// Count the connections the server closed on arrival.
	var closedN atomic.Int64
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
			if _, err := c.Read(make([]byte, 1)); err != nil {
				if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
					closedN.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	closed := int(closedN.Load())
	held := liveHeap() - min(liveHeap(), before)
	open := flood - closed
	// The client side of the flood is in this process too: its conns are counted in the heap with the server's.
	t.Logf("%d connections: %d held, %d closed on arrival; live heap +%s, %.1f KiB per held connection (both sides)",
		flood, open, closed, mb(held), float64(held)/float64(max(open, 1))/1024)
	if open > maxConns {
		t.Errorf("%d connections held, cap %d", open, maxConns)
	}
	if held > maxConns*64<<10+flood*4<<10 {
		t.Errorf("the flood holds %s, want at most %d × 64 KiB (+4 KiB per client conn)", mb(held), maxConns)
	}
}
