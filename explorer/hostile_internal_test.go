package explorer

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// searchOnly is an Index with nothing in it: the stream's backlog query is all these streams ask of one.
type searchOnly struct{ Index }

func (searchOnly) Search(context.Context, SearchQuery) ([]MessageRow, error) { return nil, nil }

func (h *hub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients)
}

func (h *hub) maxBuffered() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for c := range h.clients {
		n = max(n, len(c.ch))
	}
	return n
}

// TestHostileStreamNeverReads: clients open live streams and never read a byte, while the explorer publishes far
// more than their buffers hold. Each client holds at most its buffer (the rest is dropped, not queued), the
// publisher never blocks on them, a stream past the cap is refused, and once a socket is full the write
// deadline cuts the connection and frees its slot.
func TestHostileStreamNeverReads(t *testing.T) {
	old := streamWriteTimeout
	streamWriteTimeout = 300 * time.Millisecond
	defer func() { streamWriteTimeout = old }()
	e := &Explorer{cfg: Config{Index: searchOnly{}}, log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		hub: newHub(4, 64), quit: make(chan struct{})}
	srv := httptest.NewServer(e.routes())
	defer srv.Close()
	for range 4 {
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "GET /api/stream HTTP/1.1\r\nHost: x\r\n\r\n")
	}
	waitFor(t, "four streams joined", func() bool { return e.hub.count() == 4 })
	c5, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c5, "GET /api/stream HTTP/1.1\r\nHost: x\r\n\r\n")
	status, _ := bufio.NewReader(c5).ReadString('\n')
	c5.Close()
	if !strings.Contains(status, "503") {
		t.Fatalf("fifth stream: %q", status)
	}
	// Rows of ~300 bytes, a thousand at a time, until every stuck stream is cut off.
	row := MessageRow{Process: strings.Repeat("p", 43), ID: strings.Repeat("m", 43), Assignment: strings.Repeat("a", 43),
		Owner: strings.Repeat("o", 43), Action: strings.Repeat("A", 60)}
	batch := make([]MessageRow, 1000)
	deadline := time.Now().Add(30 * time.Second)
	published := 0
	for e.hub.count() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d streams still open after %d rows", e.hub.count(), published)
		}
		for j := range batch {
			batch[j] = row
			batch[j].Seq = int64(published + j + 1)
		}
		t0 := time.Now()
		e.hub.publish(batch)
		if d := time.Since(t0); d > time.Second {
			t.Fatalf("publishing 1000 rows took %v: blocked on clients that do not read", d)
		}
		published += len(batch)
		if b := e.hub.maxBuffered(); b > 64 {
			t.Fatalf("a client holds %d events, over its buffer of 64", b)
		}
		time.Sleep(time.Millisecond)
	}
	t.Logf("the 4 stuck streams were cut off after %d rows (%d MB) were published", published, published*300>>20)
	// Their slots are free again.
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /api/stream HTTP/1.1\r\nHost: x\r\n\r\n")
	if status, _ := bufio.NewReader(c).ReadString('\n'); !strings.Contains(status, "200") {
		t.Fatalf("a stream after the cut-off: %q", status)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
