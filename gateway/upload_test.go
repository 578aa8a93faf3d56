package gateway

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/internal/httpd"
	"github.com/aogo/aogo/wallet"
)

// patternReader yields n bytes of a pattern that depends on the offset, without holding them.
type patternReader struct{ off, n int64 }

func (p *patternReader) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), p.n-p.off)]
	for i := range b {
		o := p.off + int64(i)
		b[i] = byte(o>>9) ^ byte(o*7)
	}
	p.off += int64(len(b))
	return len(b), nil
}

func patternAt(off, n int64) []byte {
	b := make([]byte, n)
	(&patternReader{off: off, n: off + n}).Read(b)
	return b
}

// streamedItem signs an item of size pattern bytes without holding them; body gives its raw bytes as a stream.
func streamedItem(t testing.TB, w *wallet.Wallet, size int64, tags ...dataitem.Tag) (it *dataitem.Item, body func() io.Reader, rawSize int64) {
	t.Helper()
	it = &dataitem.Item{Tags: tags, Anchor: make([]byte, 32)}
	rand.Read(it.Anchor)
	if err := it.SignReader(w, &patternReader{n: size}, size); err != nil {
		t.Fatal(err)
	}
	var hdr bytes.Buffer
	if _, err := it.WriteHeader(&hdr); err != nil {
		t.Fatal(err)
	}
	h := hdr.Bytes()
	return it, func() io.Reader { return io.MultiReader(bytes.NewReader(h), &patternReader{n: size}) }, int64(len(h)) + size
}

// servedGateway serves g's handler from an httpd server (the units' limits, ReadTimeout as given) on a real
// listener, as aogo gateway does.
func servedGateway(t testing.TB, s *Server, readTimeout time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httpd.NewServer(s, httpd.Limits{ReadTimeout: readTimeout, WriteTimeout: readTimeout}, nil)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

func tmpEntries(t testing.TB, s *Server) []string {
	t.Helper()
	es, err := os.ReadDir(s.tmpDir())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// TestUploadMemoryBounded streams a large item (AOGO_TEST_UPLOAD_MB, default 128 MiB; 1024 for the 1 GiB
// figure) to a gateway served with a ReadTimeout far shorter than the upload: it is stored whole, and what
// the whole process allocated meanwhile (client and gateway) stays a small constant, not the upload's size.
func TestUploadMemoryBounded(t *testing.T) {
	mb := int64(128)
	if v := os.Getenv("AOGO_TEST_UPLOAD_MB"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 8 {
			t.Fatalf("AOGO_TEST_UPLOAD_MB=%q: want a number of MiB, at least 8", v)
		}
		mb = n
	}
	size := mb << 20
	g := newTestGateway(t)
	// A ReadTimeout of 200 ms would cut any upload that takes longer, as the 2 min default cuts a 2 GiB one on
	// a link under 17 MB/s: the upload route's own pace replaces it.
	url := servedGateway(t, g.Server, 200*time.Millisecond)
	it, body, rawSize := streamedItem(t, testWallet(t, 0), size, tag("Content-Type", "application/x-test"))

	var peakHeap atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peakHeap.Load() {
				peakHeap.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	// Paced so the upload outlasts the ReadTimeout several times over even on a fast machine.
	slow := &slowReader{r: body(), every: 4 << 20, pause: 30 * time.Millisecond}
	req, _ := http.NewRequest(http.MethodPost, url+"/tx", slow)
	req.ContentLength = rawSize
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	ans, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	close(stop)
	wg.Wait()
	if resp.StatusCode != 200 || !strings.Contains(string(ans), it.ID()) {
		t.Fatalf("upload: %d %s", resp.StatusCode, ans)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d MiB upload in %v (ReadTimeout 200ms): allocated %.1f MiB in all, peak heap in use %.1f MiB (before %.1f), peak RSS %s",
		mb, took.Round(time.Millisecond), float64(alloc)/(1<<20), float64(peakHeap.Load())/(1<<20), float64(before.HeapInuse)/(1<<20), peakRSS())
	if alloc > 48<<20 {
		t.Errorf("a %d MiB upload allocated %d MiB: bodies must stream, not be held", mb, alloc>>20)
	}
	if took < 300*time.Millisecond {
		t.Errorf("upload took %v: too fast to show that the ReadTimeout does not cut it", took)
	}
	if names := tmpEntries(t, g.Server); len(names) != 0 {
		t.Errorf("spool files left: %v", names)
	}
	// The data reads back, at both ends.
	for _, off := range []int64{0, size - 4096} {
		req, _ := http.NewRequest(http.MethodGet, url+"/raw/"+it.ID(), nil)
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off, off+4095))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(got, patternAt(off, 4096)) {
			t.Fatalf("range at %d: %d, %d bytes, differ from what was uploaded", off, resp.StatusCode, len(got))
		}
	}
	if ct := mustHead(t, url+"/raw/"+it.ID()); ct != strconv.FormatInt(size, 10) {
		t.Fatalf("Content-Length %s, want %d", ct, size)
	}
}

func mustHead(t testing.TB, url string) string {
	t.Helper()
	resp, err := http.Head(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get("Content-Length")
}

// peakRSS is the process's peak resident set (Linux), for the log.
func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

// slowReader pauses after every `every` bytes.
type slowReader struct {
	r     io.Reader
	every int64
	pause time.Duration
	n     int64
}

func (s *slowReader) Read(b []byte) (int, error) {
	n, err := s.r.Read(b)
	if s.n/s.every != (s.n+int64(n))/s.every {
		time.Sleep(s.pause)
	}
	s.n += int64(n)
	return n, err
}

// TestUploadSpooledBundles: a bundle item of unknown length (chunked) whose nested items are large and
// small, and a bare bundle over the in-memory size, are spooled, verified and stored item by item; a spooled
// upload with one bad signature deep inside stores nothing.
func TestUploadSpooledBundles(t *testing.T) {
	g := newTestGateway(t)
	w0, w1 := testWallet(t, 0), testWallet(t, 1)
	big := signedItem(t, w0, "", patternAt(0, 5<<20), tag("Content-Type", "application/octet-stream"))
	mid := signedItem(t, w0, "", patternAt(7, 300<<10))
	small := signedItem(t, w1, "", []byte("small"), tag("Kind", "small"))
	outer := bundleItem(t, w1, big, mid, small)

	post := func(body []byte, chunked bool) (int, string) {
		t.Helper()
		var r io.Reader = bytes.NewReader(body)
		if chunked {
			r = io.MultiReader(r) // hides the length: the client sends it chunked
		}
		req, _ := http.NewRequest(http.MethodPost, g.url+"/tx", r)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, ans := post(rawOf(t, outer), true); code != 200 || !strings.Contains(ans, outer.ID()) {
		t.Fatalf("chunked bundle item: %d %s", code, ans)
	}
	for _, it := range []*dataitem.Item{outer, big, mid, small} {
		got, _, err := g.client.Raw(context.Background(), it.ID())
		if err != nil || !bytes.Equal(got, it.Data) {
			t.Fatalf("item %s reads back %d bytes (%v), want %d", it.ID(), len(got), err, len(it.Data))
		}
	}
	page, err := g.client.Transactions(context.Background(), TxQuery{Tags: []TagFilter{{Name: "Kind", Values: []string{"small"}}}})
	if err != nil || len(page.Edges) != 1 || page.Edges[0].Node.BundledIn == nil || page.Edges[0].Node.BundledIn.ID != outer.ID() {
		t.Fatalf("nested item by tag: %+v %v", page, err)
	}

	// A bare bundle of known length over the in-memory size.
	a := signedItem(t, w0, "", patternAt(1, 3<<20))
	b := signedItem(t, w1, "", patternAt(2, 2<<20))
	bare, err := dataitem.EncodeBundle([]*dataitem.Item{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if code, ans := post(bare, false); code != 200 || !strings.Contains(ans, a.ID()) {
		t.Fatalf("bare bundle: %d %s", code, ans)
	}
	if got, _, err := g.client.Raw(context.Background(), b.ID()); err != nil || !bytes.Equal(got, b.Data) {
		t.Fatalf("bare bundle's second item: %d bytes, %v", len(got), err)
	}

	// One bad signature deep inside: nothing of the upload is stored, no file is left.
	c := signedItem(t, w0, "", patternAt(3, 1<<20))
	d := signedItem(t, w0, "", patternAt(4, 4<<20))
	bad := bundleItem(t, w1, c, d)
	bad.Data[len(bad.Data)-1] ^= 1 // inside d's data
	if err := bad.Sign(w1); err != nil {
		t.Fatal(err)
	}
	blobs := func() int {
		es, _ := os.ReadDir(filepath.Join(g.cfg.Dir, "blobs"))
		return len(es)
	}
	n := blobs()
	if code, ans := post(rawOf(t, bad), true); code != 400 || !strings.Contains(ans, "signature") {
		t.Fatalf("bad nested signature: %d %s", code, ans)
	}
	if ok, _ := g.client.Exists(context.Background(), c.ID()); ok {
		t.Fatal("an item of a refused upload was stored")
	}
	if blobs() != n || len(tmpEntries(t, g.Server)) != 0 {
		t.Fatalf("a refused upload left files: blobs %d → %d, tmp %v", n, blobs(), tmpEntries(t, g.Server))
	}
}

// TestUploadHostileClients: a client that stops sending, and one that trickles, are cut at the upload's pace;
// their spool files are removed and their disk budget returned. An upload over --max-body is refused before
// it is read.
func TestUploadHostileClients(t *testing.T) {
	g := newTestGateway(t, func(c *Config) { c.MaxBodySize = 64 << 20 })
	g.pace = pace{grace: 300 * time.Millisecond, rate: 256 << 10, stall: 200 * time.Millisecond}
	url := servedGateway(t, g.Server, time.Minute)
	addr := strings.TrimPrefix(url, "http://")

	for _, tc := range []struct {
		name string
		send func(c net.Conn)
	}{
		{"stops", func(c net.Conn) { c.Write(make([]byte, 1000)) }},
		{"trickles", func(c net.Conn) {
			for range 40 {
				if _, err := c.Write([]byte{1}); err != nil {
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			start := time.Now()
			fmt.Fprintf(c, "POST /tx HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", 32<<20)
			go tc.send(c)
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			// The gateway ends the request: an error answer or a closed connection, within its pace.
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					t.Fatal("an unfinished upload was accepted")
				}
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Fatalf("cut after %v, want within about the 300 ms grace", took)
			}
			deadline := time.Now().Add(5 * time.Second)
			for len(tmpEntries(t, g.Server)) != 0 || !g.limits.spool.TryAcquire(g.cfg.MaxSpoolBytes) {
				if time.Now().After(deadline) {
					t.Fatalf("spool files %v or disk budget not returned", tmpEntries(t, g.Server))
				}
				time.Sleep(20 * time.Millisecond)
			}
			g.limits.spool.Release(g.cfg.MaxSpoolBytes)
		})
	}

	req, _ := http.NewRequest(http.MethodPost, url+"/tx", &patternReader{n: 65 << 20})
	req.ContentLength = 65 << 20
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("over MaxBodySize: %d %s", resp.StatusCode, b)
		}
	}
}

// TestClientMaxAnswer: the client refuses an answer over MaxAnswer, with or without a Content-Length, saying
// how to raise it; raised, it reads.
func TestClientMaxAnswer(t *testing.T) {
	g := newTestGateway(t)
	it := signedItem(t, testWallet(t, 0), "", patternAt(0, 2<<20))
	g.post(t, it)
	c := NewClient(g.url, nil)
	c.MaxAnswer = 1 << 20
	_, _, err := c.Raw(context.Background(), it.ID())
	var tl *TooLargeError
	if !errors.Is(err, ErrTooLarge) || !errors.As(err, &tl) || tl.Size != 2<<20 || !strings.Contains(err.Error(), "MaxAnswer") {
		t.Fatalf("Raw over MaxAnswer: %v", err)
	}
	c.MaxAnswer = 4 << 20
	if got, _, err := c.Raw(context.Background(), it.ID()); err != nil || len(got) != 2<<20 {
		t.Fatalf("Raw under MaxAnswer: %d bytes, %v", len(got), err)
	}

	// No Content-Length (chunked): cut once MaxAnswer bytes have arrived.
	srv := httpServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for range 64 {
			w.Write(make([]byte, 32<<10))
			w.(http.Flusher).Flush()
		}
	}))
	c = NewClient(srv, nil)
	c.MaxAnswer = 1 << 20
	if _, _, err := c.Raw(context.Background(), it.ID()); !errors.As(err, &tl) || tl.Size != -1 {
		t.Fatalf("chunked answer over MaxAnswer: %v", err)
	}
	if NewClient(srv, nil).MaxAnswer != 0 || DefaultMaxAnswer < 256<<20 {
		t.Fatal("default MaxAnswer")
	}
}

func httpServer(t testing.TB, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

// TestUploadEmptyData: items without data (assignments, attestations) are stored alone, last in a bare
// bundle and last in a bundle item, whether the upload is read from memory or spooled.
func TestUploadEmptyData(t *testing.T) {
	g := newTestGateway(t)
	w := testWallet(t, 0)
	empty := func() *dataitem.Item { return signedItem(t, w, "", nil, tag("Type", "Assignment")) }
	pad := signedItem(t, w, "", patternAt(9, 5<<20)) // makes an upload spooled
	bare := func(items ...*dataitem.Item) []byte {
		b, err := dataitem.EncodeBundle(items)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := map[string]func() ([]byte, *dataitem.Item){
		"alone": func() ([]byte, *dataitem.Item) { e := empty(); return rawOf(t, e), e },
		"last in a bare bundle": func() ([]byte, *dataitem.Item) {
			e := empty()
			return bare(signedItem(t, w, "", []byte("x")), e), e
		},
		"last in a bundle item": func() ([]byte, *dataitem.Item) { e := empty(); return rawOf(t, bundleItem(t, w, empty(), e)), e },
		"spooled, last in a bare bundle": func() ([]byte, *dataitem.Item) {
			e := empty()
			return bare(pad, e), e
		},
	}
	for name, mk := range cases {
		body, e := mk()
		resp, err := http.Post(g.url+"/tx", "application/octet-stream", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		ans, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", name, resp.StatusCode, ans)
		}
		if ok, err := g.client.Exists(context.Background(), e.ID()); !ok || err != nil {
			t.Fatalf("%s: empty item not stored (%v)", name, err)
		}
	}
}
