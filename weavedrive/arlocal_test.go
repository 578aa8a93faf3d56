package weavedrive

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/gateway"
	"github.com/aogo/aogo/internal/testenv"
	"github.com/aogo/aogo/vm"
	"github.com/aogo/aogo/wallet"
)

// TestArlocal: the drive against an Arweave node (arlocal): sizes by HEAD, bytes by Range, attestations by
// GraphQL with the block filter, settling by the node's height (blocks come when mined). arlocal's HEAD has
// no Content-Length and its GET ignores Range: the drive still reads the right bytes.
func TestArlocal(t *testing.T) {
	base := testenv.Arlocal(t)
	ctx := context.Background()
	get := func(path string) {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", path, resp.Status)
		}
	}
	rsa, err := wallet.Load(filepath.Join("..", "gateway", "testdata", "arweave-wallet.json"))
	if err != nil {
		t.Fatal(err)
	}
	get("/mint/" + rsa.Address() + "/1000000000000000")
	gc := gateway.NewClient(base, nil)
	gc.Signer = rsa
	su, user := newWallet(t), newWallet(t)
	upload := func(w *wallet.Wallet, data []byte, tags ...dataitem.Tag) string {
		it := &dataitem.Item{Tags: tags, Data: data, Anchor: make([]byte, 32)}
		rand.Read(it.Anchor)
		if err := it.Sign(w); err != nil {
			t.Fatal(err)
		}
		raw, _ := it.Bytes()
		if err := gc.Upload(ctx, raw); err != nil {
			t.Fatal(err)
		}
		get("/mine")
		deadline := time.Now().Add(30 * time.Second)
		for {
			if page, err := gc.Transactions(ctx, gateway.TxQuery{IDs: []string{it.ID()}, First: 1}); err == nil && len(page.Edges) == 1 && page.Edges[0].Node.Block != nil {
				return it.ID()
			}
			if time.Now().After(deadline) {
				t.Fatalf("arlocal did not index %s", it.ID())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	data := make([]byte, 2*BlockSize+777)
	rand.Read(data)
	id := upload(user, data)
	g := NewGateway(base, nil)
	c, err := OpenCache(t.TempDir(), 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	d := New(g, Options{Index: g, Cache: c, SettleWait: -1})
	proc := []vm.Tag{{Name: "Extension", Value: "WeaveDrive"}, {Name: "Scheduler", Value: su.Address()}}
	h0, err := g.Height(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Open(call(h0, proc...), "/data/"+id); !errors.Is(err, ErrNotSettled) {
		t.Fatalf("at the node's height: %v, want ErrNotSettled", err)
	}
	get("/mine")
	if f, err := d.Open(call(h0, proc...), "/data/"+id); f != nil || !errors.Is(err, vm.ErrFileNotFound) {
		t.Fatalf("not attested: %v %v", f, err)
	}
	upload(su, nil, dataitem.Tag{Name: "Data-Protocol", Value: "ao"}, dataitem.Tag{Name: "Type", Value: "Attestation"},
		dataitem.Tag{Name: "Message", Value: id})
	h1, _ := g.Height(ctx)
	f, err := d.Open(call(h1, proc...), "/data/"+id)
	if err != nil || f == nil {
		t.Fatalf("attested: %v %v", f, err)
	}
	if got := readAll(t, f); !bytes.Equal(got, data) {
		t.Fatal("content read from arlocal differs")
	}
	if f, err := d.Open(call(h0, proc...), "/data/"+id); f != nil || !errors.Is(err, vm.ErrFileNotFound) {
		t.Fatalf("below the attestation: %v %v", f, err)
	}
}
