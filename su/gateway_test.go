package su_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/gateway"
	"github.com/aogo/aogo/su"
	"github.com/aogo/aogo/wallet"
)

// fakeGateway is an httptest Arweave-like gateway: POST /tx (item or binary bundle), GET /info, HEAD /raw/{id},
// GET /tx/{id}/status. The SU talks to it through gateway.Client, its real HTTP client.
type fakeGateway struct {
	*gateway.Client
	srv *httptest.Server

	mu            sync.Mutex
	items         map[string]*dataitem.Item
	confirmations map[string]uint64
	failUploads   int // refuse this many uploads with 503 first
	uploadCalls   int
	height        uint64
}

func newFakeGateway(t *testing.T) *fakeGateway {
	g := &fakeGateway{items: map[string]*dataitem.Item{}, confirmations: map[string]uint64{}, height: 1393008}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /tx", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		g.mu.Lock()
		defer g.mu.Unlock()
		g.uploadCalls++
		if g.failUploads > 0 {
			g.failUploads--
			http.Error(w, `{"error":"try later"}`, 503)
			return
		}
		var items []*dataitem.Item
		if it, err := dataitem.Decode(b); err == nil && it.Verify() == nil {
			items = []*dataitem.Item{it}
		} else if items, err = dataitem.VerifyBundle(b); err != nil {
			http.Error(w, `{"error":"neither an item nor a bundle"}`, 400)
			return
		}
		for _, it := range items {
			g.items[it.ID()] = it
		}
		fmt.Fprint(w, `{"id":"ok"}`)
	})
	mux.HandleFunc("GET /info", func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		defer g.mu.Unlock()
		fmt.Fprintf(w, `{"network":"aogo.dev","height":%d}`, g.height)
	})
	mux.HandleFunc("HEAD /raw/{id}", func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.items[r.PathValue("id")] == nil {
			w.WriteHeader(404)
		}
	})
	mux.HandleFunc("GET /tx/{id}/status", func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		defer g.mu.Unlock()
		n, ok := g.confirmations[r.PathValue("id")]
		if !ok {
			http.Error(w, "Not Found", 404)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"block_height": 1, "number_of_confirmations": n})
	})
	g.srv = httptest.NewServer(mux)
	t.Cleanup(g.srv.Close)
	g.Client = gateway.NewClient(g.srv.URL, nil)
	return g
}

func (g *fakeGateway) addItem(id string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.items[id] = &dataitem.Item{}
}

func (g *fakeGateway) setConfirmations(id string, n uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.confirmations[id] = n
}

func (g *fakeGateway) has(id string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.items[id] != nil
}

var rsaOnce struct {
	sync.Once
	w   *wallet.Wallet
	err error
}

func walletRSA() (*wallet.Wallet, error) {
	rsaOnce.Do(func() { rsaOnce.w, rsaOnce.err = wallet.Generate(wallet.RSA) })
	return rsaOnce.w, rsaOnce.err
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestUploadQueueRetriesAndResumes(t *testing.T) {
	gw := newFakeGateway(t)
	gw.failUploads = 3
	dir := t.TempDir()
	cfg := su.Config{Uploader: gw, Heights: gw, Messages: gw, URL: "http://su.example", UploadBackoffMin: 5 * time.Millisecond,
		UploadBackoffMax: 20 * time.Millisecond, UploadBatch: 4}
	e := start(t, dir, cfg)
	ctx := ctxT(t)
	pid := e.spawn(t)
	var ids []string
	for i := range 9 {
		res, err := e.c.Post(ctx, messageItem(t, e.user, pid, fmt.Sprint(i)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.ID)
	}
	log := readLog(t, e.c, pid, 100)
	// Every item and every assignment reaches the gateway, despite the refusals.
	want := []string{pid}
	want = append(want, ids...)
	for _, m := range log {
		want = append(want, m.Assignment.ID)
	}
	waitFor(t, "all uploads", func() bool {
		for _, id := range want {
			if !gw.has(id) {
				return false
			}
		}
		return true
	})
	// Block-Height comes from the gateway's /info.
	if h := log[1].Assignment.Tag("Block-Height"); h != "000001393008" {
		t.Fatalf("Block-Height %s", h)
	}
	// The Scheduler-Location was published through the same queue.
	var loc *dataitem.Item
	gw.mu.Lock()
	for _, it := range gw.items {
		if v, _ := it.Tag("Type"); v == "Scheduler-Location" {
			loc = it
		}
	}
	calls := gw.uploadCalls
	gw.mu.Unlock()
	if loc == nil {
		t.Fatal("no Scheduler-Location uploaded")
	}
	if u, _ := loc.Tag("Url"); u != "http://su.example" || loc.OwnerAddress() != e.unit.Address() {
		t.Fatalf("Scheduler-Location: %v owner %s", loc.Tags, loc.OwnerAddress())
	}
	if ttl, _ := loc.Tag("Time-To-Live"); ttl != "3600000" {
		t.Fatalf("Time-To-Live %s", ttl)
	}
	// Bundling: far fewer calls than items (21 items + location, 4 per bundle, plus 3 refusals).
	if calls > 3+22 {
		t.Fatalf("%d upload calls for 22 items", calls)
	}

	// A restart resumes a queue the gateway never took.
	e.stop()
	gw.mu.Lock()
	gw.failUploads = 1 << 30
	gw.mu.Unlock()
	e2 := start(t, dir, su.Config{Uploader: gw, UploadBackoffMin: 5 * time.Millisecond, UploadBackoffMax: 10 * time.Millisecond})
	res, err := e2.c.Post(ctx, messageItem(t, e2.user, pid, "queued"))
	if err != nil {
		t.Fatal(err)
	}
	e2.stop()
	if gw.has(res.ID) {
		t.Fatal("gateway has an item it refused")
	}
	gw.mu.Lock()
	gw.failUploads = 0
	gw.mu.Unlock()
	start(t, dir, su.Config{Uploader: gw, UploadBackoffMin: 5 * time.Millisecond})
	waitFor(t, "the queued item after restart", func() bool { return gw.has(res.ID) })
}

func TestGatewayClient(t *testing.T) {
	gw := newFakeGateway(t)
	ctx := ctxT(t)
	h, err := gw.Height(ctx)
	if err != nil || h != 1393008 {
		t.Fatalf("Height = %d, %v", h, err)
	}
	id := randID()
	if ok, err := gw.Exists(ctx, id); ok || err != nil {
		t.Fatalf("Exists of a missing id = %v, %v", ok, err)
	}
	gw.addItem(id)
	if ok, err := gw.Exists(ctx, id); !ok || err != nil {
		t.Fatalf("Exists = %v, %v", ok, err)
	}
	if _, err := gw.Confirmations(ctx, randID()); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("Confirmations of unknown tx: %v", err)
	}
	if err := gw.Upload(ctx, []byte("junk")); err == nil {
		t.Fatal("upload of junk succeeded")
	}
	bad := gateway.NewClient("http://127.0.0.1:1", nil)
	if _, err := bad.Height(ctx); err == nil {
		t.Fatal("Height from a dead gateway succeeded")
	}
	_ = client.SUPosted{}
}
