package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/internal/testenv"
	"github.com/aogo/aogo/wallet"
)

// arlocalGet sends GET path to arlocal (mint, mine) and fails the test on a non-200.
func arlocalGet(t *testing.T, base, path string) string {
	t.Helper()
	resp, err := http.Get(base + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return string(b)
}

func arItem(t *testing.T, s dataitem.Signer, data string, tags ...dataitem.Tag) *dataitem.Item {
	t.Helper()
	it := &dataitem.Item{Tags: tags, Data: []byte(data)}
	if err := it.Sign(s); err != nil {
		t.Fatal(err)
	}
	return it
}

func itemBytes(t *testing.T, it *dataitem.Item) []byte {
	t.Helper()
	b, err := it.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// waitIndexed polls arlocal's GraphQL until every id is listed (arlocal unbundles chunked uploads in the
// background).
func waitIndexed(t *testing.T, c *Client, ids ...string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		page, err := c.Transactions(context.Background(), TxQuery{IDs: ids, First: len(ids)})
		if err == nil && len(page.Edges) == len(ids) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("arlocal lists %d of %v (err %v)", len(page.Edges), ids, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestArlocalUploadAndRead drives the client against a real arlocal: uploads (a single item, a bare bundle, a
// bundle item, a re-upload, a chunked upload) land there as base-layer transactions, and the reading paths
// (GraphQL, Raw, Item, Exists, SchedulerLocation, Info, Blocks) work on what arlocal serves.
func TestArlocalUploadAndRead(t *testing.T) {
	base := testenv.Arlocal(t)
	ctx := context.Background()
	c := NewClient(base, nil)

	user, err := wallet.Generate(wallet.ED25519)
	if err != nil {
		t.Fatal(err)
	}
	loc := arItem(t, user, "1984",
		dataitem.Tag{Name: "Data-Protocol", Value: "ao"}, dataitem.Tag{Name: "Type", Value: "Scheduler-Location"},
		dataitem.Tag{Name: "Url", Value: "http://su.example"}, dataitem.Tag{Name: "Time-To-Live", Value: "3600000"})

	// No signer: a clear error, nothing sent.
	err = c.Upload(ctx, itemBytes(t, loc))
	if err == nil || !strings.Contains(err.Error(), "RSA") || !strings.Contains(err.Error(), "arlocal") {
		t.Fatalf("upload without a signer: %v, want an error asking for an RSA wallet", err)
	}
	c.Signer = user
	if err := c.Upload(ctx, itemBytes(t, loc)); err == nil || !strings.Contains(err.Error(), "ed25519 signer") {
		t.Fatalf("upload with an ed25519 signer: %v", err)
	}

	rsa, err := wallet.Load(filepath.Join("testdata", "arweave-wallet.json"))
	if err != nil {
		t.Fatal(err)
	}
	c.Signer = rsa
	// Without funds arlocal refuses the transaction; the error says so.
	if err := c.Upload(ctx, itemBytes(t, loc)); err == nil {
		t.Fatal("upload from an unfunded wallet succeeded")
	}
	arlocalGet(t, base, "/mint/"+rsa.Address()+"/1000000000000000")

	// One item.
	if res, err := c.UploadResult(ctx, itemBytes(t, loc)); err != nil || res.ID != loc.ID() {
		t.Fatalf("upload item: %+v %v", res, err)
	}
	// A bare bundle of items by two owners, one with a target.
	target := make([]byte, 32)
	target[0] = 7
	a := arItem(t, user, "alpha", dataitem.Tag{Name: "Content-Type", Value: "text/plain"}, dataitem.Tag{Name: "Seq", Value: "a"})
	b := &dataitem.Item{Target: target, Tags: []dataitem.Tag{{Name: "Seq", Value: "b"}}, Data: []byte("beta")}
	if err := b.Sign(rsa); err != nil {
		t.Fatal(err)
	}
	var bundle bytes.Buffer
	if err := dataitem.WriteBundleRaw(&bundle, [][]byte{itemBytes(t, a), itemBytes(t, b)}); err != nil {
		t.Fatal(err)
	}
	if err := c.Upload(ctx, bundle.Bytes()); err != nil {
		t.Fatalf("upload bare bundle: %v", err)
	}
	// A bundle item (nested bundle).
	inner := arItem(t, user, "gamma", dataitem.Tag{Name: "Seq", Value: "c"})
	var nested bytes.Buffer
	if err := dataitem.WriteBundleRaw(&nested, [][]byte{itemBytes(t, inner)}); err != nil {
		t.Fatal(err)
	}
	outer := arItem(t, user, nested.String(), dataitem.Tag{Name: "Bundle-Format", Value: "binary"}, dataitem.Tag{Name: "Bundle-Version", Value: "2.0.0"})
	if err := c.Upload(ctx, itemBytes(t, outer)); err != nil {
		t.Fatalf("upload bundle item: %v", err)
	}
	waitIndexed(t, c, loc.ID(), a.ID(), b.ID(), outer.ID(), inner.ID())

	// Re-uploading items arlocal has is a no-op, also mixed with a new one.
	fresh := arItem(t, user, "delta", dataitem.Tag{Name: "Seq", Value: "d"})
	bundle.Reset()
	if err := dataitem.WriteBundleRaw(&bundle, [][]byte{itemBytes(t, a), itemBytes(t, fresh)}); err != nil {
		t.Fatal(err)
	}
	if err := c.Upload(ctx, itemBytes(t, loc)); err != nil {
		t.Fatalf("re-upload: %v", err)
	}
	if err := c.Upload(ctx, bundle.Bytes()); err != nil {
		t.Fatalf("re-upload with a new item: %v", err)
	}
	waitIndexed(t, c, fresh.ID())

	// Data too big for the transaction JSON goes as chunks.
	c.inlineLimit = 100 << 10
	big := arItem(t, user, strings.Repeat("chunked upload ", 30000), dataitem.Tag{Name: "Seq", Value: "big"})
	if err := c.Upload(ctx, itemBytes(t, big)); err != nil {
		t.Fatalf("chunked upload: %v", err)
	}
	waitIndexed(t, c, big.ID())

	// Reading back.
	u, ttl, err := c.SchedulerLocation(ctx, user.Address())
	if err != nil || u != "http://su.example" || ttl != time.Hour {
		t.Errorf("SchedulerLocation = %q %v %v", u, ttl, err)
	}
	tags, owner, err := c.Tags(ctx, b.ID())
	if err != nil || owner != rsa.Address() || len(tags) != 1 || tags[0].Value != "b" {
		t.Errorf("Tags(b) = %v %q %v", tags, owner, err)
	}
	page, err := c.Transactions(ctx, TxQuery{Owners: []string{user.Address()}, Tags: []TagFilter{{Name: "Seq", Values: []string{"a", "c", "d"}}}})
	if err != nil || len(page.Edges) != 3 {
		t.Errorf("query by owner and tag: %d edges, %v", len(page.Edges), err)
	}
	data, ct, err := c.Raw(ctx, a.ID())
	if err != nil || string(data) != "alpha" || !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Raw(a) = %q %q %v", data, ct, err)
	}
	for _, it := range []*dataitem.Item{loc, a, b, inner, big} {
		raw, err := c.Item(ctx, it.ID())
		if err != nil {
			t.Errorf("Item(%s): %v", it.ID(), err)
			continue
		}
		if !bytes.Equal(raw, itemBytes(t, it)) {
			t.Errorf("Item(%s) is not the uploaded item", it.ID())
		}
	}
	if ok, err := c.Exists(ctx, a.ID()); err != nil || !ok {
		t.Errorf("Exists(a) = %v %v", ok, err)
	}
	if ok, err := c.Exists(ctx, dataitem.IDFromSignature([]byte("nothing"))); err != nil || ok {
		t.Errorf("Exists(unknown) = %v %v", ok, err)
	}
	if _, err := c.Item(ctx, dataitem.IDFromSignature([]byte("nothing"))); !errors.Is(err, ErrNotFound) {
		t.Errorf("Item(unknown): %v, want ErrNotFound", err)
	}

	h0, err := c.Height(ctx)
	if err != nil {
		t.Fatal(err)
	}
	arlocalGet(t, base, "/mine")
	h1, err := c.Height(ctx)
	if err != nil || h1 != h0+1 {
		t.Fatalf("height %d after mining from %d: %v", h1, h0, err)
	}
	blocks, err := c.Blocks(ctx, h1, h1)
	if err != nil || len(blocks) != 1 || blocks[0].Height != h1 || blocks[0].Timestamp == 0 {
		t.Errorf("Blocks(%d) = %+v %v", h1, blocks, err)
	}
	tx, err := c.Transaction(ctx, a.ID())
	if err != nil || tx.Block == nil || tx.Block.Height != h1 {
		t.Errorf("item a after mining: %+v %v", tx, err)
	}
}
