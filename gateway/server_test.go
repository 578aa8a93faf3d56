package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aogo/aogo/dataitem"
)

func get(t *testing.T, url string) (int, http.Header, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, resp.Header, b
}

func postRaw(t *testing.T, url string, body []byte) (int, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/octet-stream", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestUploadThenRead(t *testing.T) {
	g := newTestGateway(t)
	ctx := context.Background()
	w := testWallet(t, 0)
	withType := signedItem(t, w, "", []byte("<h1>hi</h1>"), tag("Content-Type", "text/html"), tag("App", "x"))
	noType := signedItem(t, w, "", []byte{0, 1, 2, 3})
	g.post(t, withType)
	g.post(t, noType)

	for _, tc := range []struct {
		path, wantType string
		want           []byte
	}{
		{"/raw/" + withType.ID(), "text/html", withType.Data},
		{"/" + withType.ID(), "text/html", withType.Data},
		{"/tx/" + withType.ID() + "/data", "text/html", withType.Data},
		{"/raw/" + noType.ID(), "application/octet-stream", noType.Data},
		{"/" + noType.ID(), "application/octet-stream", noType.Data},
	} {
		code, hdr, body := get(t, g.url+tc.path)
		if code != 200 || !bytes.Equal(body, tc.want) || hdr.Get("Content-Type") != tc.wantType {
			t.Errorf("GET %s = %d %q %q, want 200 %q %q", tc.path, code, hdr.Get("Content-Type"), body, tc.wantType, tc.want)
		}
	}
	// The SU checks existence with HEAD /raw/{id}.
	for id, want := range map[string]int{withType.ID(): 200, signedItem(t, w, "", nil).ID(): 404} {
		resp, err := http.Head(g.url + "/raw/" + id)
		if err != nil || resp.StatusCode != want {
			t.Errorf("HEAD /raw/%s = %v %v, want %d", id, resp.StatusCode, err, want)
		}
		resp.Body.Close()
	}
	data, ct, err := g.client.Raw(ctx, withType.ID())
	if err != nil || ct != "text/html" || !bytes.Equal(data, withType.Data) {
		t.Errorf("client.Raw = %q %q %v", data, ct, err)
	}
	raw, err := g.client.Item(ctx, withType.ID())
	if err != nil || !bytes.Equal(raw, rawOf(t, withType)) {
		t.Fatalf("client.Item = %d bytes, %v; want the uploaded item", len(raw), err)
	}
	back, err := dataitem.Decode(raw)
	if err != nil || back.Verify() != nil {
		t.Errorf("item read back does not decode and verify: %v", err)
	}
}

func TestUploadIdempotent(t *testing.T) {
	g := newTestGateway(t)
	it := signedItem(t, testWallet(t, 0), "", []byte("once"))
	first := g.post(t, it)
	g.clock.Advance(5 * testBlockTime)
	second := g.post(t, it)
	if second.BlockHeight != first.BlockHeight {
		t.Errorf("re-upload moved the item from height %d to %d", first.BlockHeight, second.BlockHeight)
	}
	page, err := g.client.Transactions(context.Background(), TxQuery{IDs: []string{it.ID()}})
	if err != nil || len(page.Edges) != 1 {
		t.Fatalf("after two uploads the id matches %d items (%v), want 1", len(page.Edges), err)
	}
}

func TestUploadRejectsBadInput(t *testing.T) {
	g := newTestGateway(t, func(c *Config) { c.MaxBodySize = 4096 })
	good := rawOf(t, signedItem(t, testWallet(t, 0), "", []byte("payload")))
	tampered := bytes.Clone(good)
	tampered[len(tampered)-1] ^= 1
	badNested := bundleItem(t, testWallet(t, 1), signedItem(t, testWallet(t, 0), "", []byte("x")))
	// Corrupt the nested item's data inside the bundle and re-sign the outer item, so only the inner
	// signature is wrong.
	badNested.Data[len(badNested.Data)-1] ^= 1
	if err := badNested.Sign(testWallet(t, 1)); err != nil {
		t.Fatal(err)
	}
	notBundle := signedItem(t, testWallet(t, 1), "", []byte("not a bundle"), tag("Bundle-Format", "binary"), tag("Bundle-Version", "2.0.0"))
	for _, tc := range []struct {
		name string
		body []byte
		code int
		msg  string
	}{
		{"empty", nil, 400, "empty body"},
		{"garbage", []byte("hello, gateway"), 400, "not an ANS-104 item"},
		{"truncated", good[:100], 400, "not an ANS-104 item"},
		{"tampered", tampered, 400, "signature does not verify"},
		{"bad nested signature", rawOf(t, badNested), 400, "signature does not verify"},
		{"bundle tags on non-bundle data", rawOf(t, notBundle), 400, "bundle"},
		{"too large", make([]byte, 5000), 413, "too large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := postRaw(t, g.url+"/tx", tc.body)
			var e struct{ Error string }
			if code != tc.code || json.Unmarshal(body, &e) != nil || !strings.Contains(e.Error, tc.msg) {
				t.Errorf("POST /tx = %d %s, want %d with an error containing %q", code, body, tc.code, tc.msg)
			}
		})
	}
	// Nothing of the refused bundle was stored.
	page, err := g.client.Transactions(context.Background(), TxQuery{First: 100})
	if err != nil || len(page.Edges) != 0 {
		t.Errorf("refused uploads left %d items (%v)", len(page.Edges), err)
	}
	err = g.client.Upload(context.Background(), tampered)
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("client.Upload(tampered) = %v, want ErrInvalid", err)
	}
}

func TestBundlesAreIndexedRecursively(t *testing.T) {
	g := newTestGateway(t)
	ctx := context.Background()
	w0, w1 := testWallet(t, 0), testWallet(t, 1)
	leaf := signedItem(t, w0, "", []byte("deep"), tag("Content-Type", "text/plain"), tag("Level", "2"))
	inner := bundleItem(t, w1, leaf)
	sibling := signedItem(t, w0, "", []byte("shallow"), tag("Level", "1"))
	outer := bundleItem(t, w1, inner, sibling)
	g.post(t, outer)

	for _, tc := range []struct {
		it     *dataitem.Item
		parent string
	}{{outer, ""}, {inner, outer.ID()}, {sibling, outer.ID()}, {leaf, inner.ID()}} {
		data, _, err := g.client.Raw(ctx, tc.it.ID())
		if err != nil || !bytes.Equal(data, tc.it.Data) {
			t.Errorf("raw %s: %v, data equal %v", tc.it.ID(), err, bytes.Equal(data, tc.it.Data))
		}
		raw, err := g.client.Item(ctx, tc.it.ID())
		if err != nil || !bytes.Equal(raw, rawOf(t, tc.it)) {
			t.Errorf("item %s: %v", tc.it.ID(), err)
		}
		tx, err := g.client.Transaction(ctx, tc.it.ID())
		if err != nil {
			t.Fatalf("transaction %s: %v", tc.it.ID(), err)
		}
		got := ""
		if tx.BundledIn != nil {
			got = tx.BundledIn.ID
		}
		if got != tc.parent {
			t.Errorf("%s bundledIn = %q, want %q", tc.it.ID(), got, tc.parent)
		}
	}
	page, err := g.client.Transactions(ctx, TxQuery{BundledIn: []string{outer.ID()}, Sort: SortHeightAsc})
	if err != nil || len(page.Edges) != 2 || page.Edges[0].Node.ID != inner.ID() || page.Edges[1].Node.ID != sibling.ID() {
		t.Errorf("bundledIn filter: %+v %v", page.Edges, err)
	}

	// A bare bundle (no wrapping item) is accepted too, its items top level.
	a := signedItem(t, w0, "", []byte("a"))
	b := signedItem(t, w1, "", []byte("b"))
	bare, err := dataitem.EncodeBundle([]*dataitem.Item{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.client.Upload(ctx, bare); err != nil {
		t.Fatalf("bare bundle: %v", err)
	}
	for _, it := range []*dataitem.Item{a, b} {
		if _, _, err := g.client.Raw(ctx, it.ID()); err != nil {
			t.Errorf("item %s of a bare bundle: %v", it.ID(), err)
		}
	}
}

func TestTxJSON(t *testing.T) {
	g := newTestGateway(t)
	w := testWallet(t, 0)
	target := signedItem(t, w, "", nil).ID()
	it := signedItem(t, w, target, []byte("12345"), tag("Data-Protocol", "ao"), tag("Type", "Message"))
	g.post(t, it)
	code, _, body := get(t, g.url+"/tx/"+it.ID())
	if code != 200 {
		t.Fatalf("GET /tx = %d %s", code, body)
	}
	var tx txJSON
	if err := json.Unmarshal(body, &tx); err != nil {
		t.Fatal(err)
	}
	want := txJSON{
		Format: 2, ID: it.ID(), LastTx: dataitem.B64(it.Anchor), Anchor: dataitem.B64(it.Anchor), Owner: dataitem.B64(it.Owner),
		Tags: []dataitem.Tag{
			{Name: dataitem.B64([]byte("Data-Protocol")), Value: dataitem.B64([]byte("ao"))},
			{Name: dataitem.B64([]byte("Type")), Value: dataitem.B64([]byte("Message"))},
		},
		Target: target, Quantity: "0", DataSize: "5", Reward: "0", Signature: dataitem.B64(it.Signature), SigType: 2,
	}
	gotJSON, _ := json.Marshal(tx)
	wantJSON, _ := json.Marshal(want)
	if !bytes.Equal(gotJSON, wantJSON) {
		t.Errorf("GET /tx/{id}\n got %s\nwant %s", gotJSON, wantJSON)
	}
}

func TestStatusInfoAndBlocks(t *testing.T) {
	g := newTestGateway(t)
	ctx := context.Background()
	h0, err := g.client.Height(ctx)
	if err != nil || h0 != 1 {
		t.Fatalf("fresh gateway height = %d, %v; want the start height 1", h0, err)
	}
	it := signedItem(t, testWallet(t, 0), "", []byte("x"))
	res := g.post(t, it)
	if res.BlockHeight != h0 {
		t.Errorf("item got height %d, want %d", res.BlockHeight, h0)
	}
	g.clock.Advance(3*testBlockTime + time.Second)
	info, err := g.client.Info(ctx)
	if err != nil || info.Network != Network || info.Height != h0+3 || info.Current != blockID(h0+3) || info.Blocks != h0+4 {
		t.Errorf("info = %+v, %v", info, err)
	}
	st, err := g.client.Status(ctx, it.ID())
	if err != nil || st.BlockHeight != h0 || st.NumberOfConfirmations != 4 || st.BlockIndepHash != blockID(h0) {
		t.Errorf("status = %+v, %v; want height %d, 4 confirmations", st, err, h0)
	}
	// The status body has exactly Arweave's three keys.
	_, _, body := get(t, g.url+"/tx/"+it.ID()+"/status")
	var keys map[string]any
	json.Unmarshal(body, &keys)
	if len(keys) != 3 {
		t.Errorf("status body %s", body)
	}

	unknown := signedItem(t, testWallet(t, 0), "", []byte("never posted")).ID()
	if _, err := g.client.Status(ctx, unknown); !errors.Is(err, ErrNotFound) {
		t.Errorf("status of an unknown id = %v, want ErrNotFound", err)
	}
	for _, path := range []string{"/tx/" + unknown, "/tx/" + unknown + "/status", "/raw/" + unknown, "/" + unknown, "/item/" + unknown, "/favicon.ico", "/block/height/99"} {
		if code, _, body := get(t, g.url+path); code != 404 || !strings.Contains(string(body), `"error"`) {
			t.Errorf("GET %s = %d %s, want 404 JSON", path, code, body)
		}
	}
	for _, path := range []string{"/raw/short", "/tx/not*base64url*not*base64url*not*base64url*", "/block/height/x"} {
		if code, _, _ := get(t, g.url+path); code != 400 {
			t.Errorf("GET %s = %d, want 400", path, code)
		}
	}

	code, _, body := get(t, g.url+"/block/height/1")
	var blk blockJSON
	if code != 200 || json.Unmarshal(body, &blk) != nil || blk.Height != 1 || len(blk.Txs) != 1 || blk.Txs[0] != it.ID() || blk.IndepHash != blockID(1) {
		t.Errorf("GET /block/height/1 = %d %s", code, body)
	}
	code, _, body = get(t, g.url+"/block/height/3")
	if code != 200 || json.Unmarshal(body, &blk) != nil || blk.PreviousBlock != blockID(2) || len(blk.Txs) != 0 {
		t.Errorf("GET /block/height/3 = %d %s", code, body)
	}
	code, _, body = get(t, g.url+"/block/hash/"+blockID(2))
	if code != 200 || json.Unmarshal(body, &blk) != nil || blk.Height != 2 {
		t.Errorf("GET /block/hash = %d %s", code, body)
	}
	if blk.Timestamp != g.clock.Now().Add(-3*testBlockTime-time.Second).Add(testBlockTime).Unix() {
		t.Errorf("block 2 timestamp %d", blk.Timestamp)
	}
}

func TestHeightSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	clock := newFakeClock()
	cfg := Config{Dir: dir, BlockTime: testBlockTime, Now: clock.Now}
	s, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	it := signedItem(t, testWallet(t, 0), "", []byte("kept"))
	if _, err := s.Put(context.Background(), rawOf(t, it)); err != nil {
		t.Fatal(err)
	}
	clock.Advance(7 * testBlockTime)
	s.Close()
	s, err = Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if h := s.Height(); h != 8 {
		t.Errorf("height after restart = %d, want 8", h)
	}
	if _, err := s.store.get(context.Background(), it.ID()); err != nil {
		t.Errorf("item lost across restart: %v", err)
	}
}

func TestLargeItemsLiveInFiles(t *testing.T) {
	g := newTestGateway(t, func(c *Config) { c.InlineLimit = 1024 })
	data := bytes.Repeat([]byte("0123456789"), 1000)
	it := signedItem(t, testWallet(t, 0), "", data, tag("Content-Type", "application/wasm"))
	g.post(t, it)
	row, err := g.store.get(context.Background(), it.ID())
	if err != nil || !row.inFile {
		t.Fatalf("large item stored inline (%v)", err)
	}
	got, ct, err := g.client.Raw(context.Background(), it.ID())
	if err != nil || ct != "application/wasm" || !bytes.Equal(got, data) {
		t.Errorf("raw of a file-backed item: %v %q", err, ct)
	}
	req, _ := http.NewRequest("GET", g.url+"/raw/"+it.ID(), nil)
	req.Header.Set("Range", "bytes=10-19")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	part, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 206 || string(part) != "0123456789" {
		t.Errorf("range request = %d %q", resp.StatusCode, part)
	}
}

func TestConcurrentUploads(t *testing.T) {
	g := newTestGateway(t)
	w := testWallet(t, 0)
	same := signedItem(t, w, "", []byte("everyone posts me"))
	items := make([]*dataitem.Item, 16)
	for i := range items {
		items[i] = signedItem(t, w, "", []byte{byte(i)})
	}
	errs := make(chan error, 2*len(items))
	for _, it := range items {
		go func() { errs <- g.client.Upload(context.Background(), rawOf(t, it)) }()
		go func() { errs <- g.client.Upload(context.Background(), rawOf(t, same)) }()
	}
	for range 2 * len(items) {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	page, err := g.client.Transactions(context.Background(), TxQuery{First: 100})
	if err != nil || len(page.Edges) != len(items)+1 {
		t.Fatalf("%d items stored (%v), want %d", len(page.Edges), err, len(items)+1)
	}
}

// TestAbandonedUploadIsNotAnError: an upload whose client has gone (a unit shutting down mid-request) fails,
// but is not logged as a gateway failure.
func TestAbandonedUploadIsNotAnError(t *testing.T) {
	var logs bytes.Buffer
	g := newTestGateway(t, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	it := signedItem(t, testWallet(t, 0), "", []byte("late"))
	raw, err := it.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, http.MethodPost, "/tx", bytes.NewReader(raw)))
	if rec.Code < 400 {
		t.Fatalf("upload with a gone client answered %d", rec.Code)
	}
	if strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "abandoned") {
		t.Fatalf("logs: %s", logs.String())
	}
}
