package hostile

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aogo/aogo/gateway"
	"github.com/aogo/aogo/internal/httpd"
	"github.com/aogo/aogo/su"
)

// A body whose Content-Length is over the limit is refused (413) before the server reads any of it: the
// attacker sends the headers only and still gets the answer.
func TestHostileOversizeByContentLength(t *testing.T) {
	gw := openGateway(t, gateway.Config{MaxBodySize: 8 * mib})
	gwURL := serve(t, gw, httpd.Limits{})
	_, suURL := startSU(t, su.Config{MaxBody: mib})
	for _, c := range []struct{ name, base, path string }{
		{"gateway upload", gwURL, "/tx"},
		{"gateway graphql", gwURL, "/graphql"},
		{"su item", suURL, "/"},
	} {
		line, err := rawRequest(t, c.base, fmt.Sprintf("POST %s HTTP/1.1\r\nContent-Length: %d", c.path, 100*mib), nil)
		if err != nil || !strings.Contains(line, " 413 ") {
			t.Errorf("%s: 100 MiB Content-Length with no body sent: %q %v, want 413 at once", c.name, line, err)
		}
	}
}

// A chunked body (no Content-Length) is read only up to the limit: a GraphQL body is at most 1 MiB, whatever
// the upload limit.
func TestHostileOversizeChunked(t *testing.T) {
	gw := openGateway(t, gateway.Config{MaxBodySize: 64 * mib})
	base := serve(t, gw, httpd.Limits{})
	var status int
	alloc := allocated(func() {
		pr, pw := io.Pipe()
		go func() {
			chunk := bytes.Repeat([]byte(" "), 64<<10)
			for i := 0; i < 16*mib/len(chunk); i++ { // 16 MiB of JSON whitespace, streamed
				if _, err := pw.Write(chunk); err != nil {
					return
				}
			}
			pw.Close()
		}()
		req, _ := http.NewRequest(http.MethodPost, base+"/graphql", pr)
		req.ContentLength = -1
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		pr.CloseWithError(io.ErrClosedPipe)
		status = resp.StatusCode
	})
	if status != http.StatusRequestEntityTooLarge {
		t.Errorf("16 MiB chunked GraphQL body: %d, want 413", status)
	}
	t.Logf("16 MiB chunked GraphQL body: %d, allocated %s (client and server)", status, mb(alloc))
	// The client's own chunks (64 KiB, reused) are small; the server may hold 1 MiB and its read steps.
	if alloc > 6*mib {
		t.Errorf("allocated %s, want at most 6 MiB", mb(alloc))
	}
}

// Bodies being read into memory (uploads of at most 4 MiB; larger ones stream to disk) are held in one budget
// (Config.MaxBodyMemory): four clients that each stall one byte short of a 3 MiB upload hold at most that
// budget, not four bodies.
func TestHostileBodyMemoryBound(t *testing.T) {
	const budget, size, clients = 5 * mib, 3 * mib, 4
	gw := openGateway(t, gateway.Config{MaxBodySize: budget, MaxBodyMemory: budget})
	base := serve(t, gw, httpd.Limits{})
	before := liveHeap()
	var conns []net.Conn
	var wg sync.WaitGroup
	zeros := make([]byte, 64<<10) // shared by the clients: the heap measured is the server's
	for range clients {
		c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			fmt.Fprintf(c, "POST /tx HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n", size)
			// All but the last byte; blocks while the server does not read.
			for left := size - 1; left > 0; left -= len(zeros) {
				if _, err := c.Write(zeros[:min(left, len(zeros))]); err != nil {
					return
				}
			}
		}()
	}
	// Wait for the server to have taken what it will take: the heap stops growing.
	var held uint64
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		h := liveHeap()
		if h > before && h-before > size-mib && h-before == held {
			break
		}
		held = h - min(h, before)
	}
	held = liveHeap() - min(liveHeap(), before)
	t.Logf("%d uploads of %s stalled one byte short: live heap +%s (budget %s)", clients, mb(size), mb(held), mb(budget))
	if held > budget+2*mib {
		t.Errorf("stalled uploads hold %s, want at most the %s budget + 2 MiB", mb(held), mb(budget))
	}
	for _, c := range conns {
		c.Close()
	}
	wg.Wait()
}
