package cu_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/cu"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/gateway"
	"github.com/aogo/aogo/wallet"
)

// memArchive is a gateway as the archive sees it: uploads kept in order, the transactions query by owners
// and tags (newest first), items by id. lieOwners makes it ignore the owners filter, as a gateway that cannot
// be trusted might.
type memArchive struct {
	mu        sync.Mutex
	items     [][]byte
	lieOwners bool
}

func (a *memArchive) Upload(_ context.Context, raw []byte) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.items = append(a.items, raw)
	return nil
}

func (a *memArchive) decoded() []*dataitem.Item {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []*dataitem.Item
	for _, raw := range a.items {
		it, err := dataitem.Decode(raw)
		if err != nil {
			panic(err)
		}
		out = append(out, it)
	}
	return out
}

func (a *memArchive) Transactions(_ context.Context, q gateway.TxQuery) (gateway.TxPage, error) {
	var page gateway.TxPage
	its := a.decoded()
	for i := len(its) - 1; i >= 0; i-- {
		it := its[i]
		owner := ao.OwnerAddress(it.Owner)
		if !a.lieOwners && len(q.Owners) > 0 && !slices.Contains(q.Owners, owner) {
			continue
		}
		ok := true
		for _, f := range q.Tags {
			v, _ := dataitem.Get(it.Tags, f.Name)
			ok = ok && slices.Contains(f.Values, v)
		}
		if ok {
			page.Edges = append(page.Edges, gateway.TxEdge{Node: gateway.Transaction{ID: it.ID(), Owner: gateway.Owner{Address: owner}, Tags: it.Tags}})
		}
	}
	return page, nil
}

func (a *memArchive) Item(_ context.Context, id string) ([]byte, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, raw := range a.items {
		if it, _ := dataitem.Decode(raw); it.ID() == id {
			return raw, nil
		}
	}
	return nil, gateway.ErrNotFound
}

func metric(t *testing.T, u *unit, name string) int {
	t.Helper()
	_, body := u.get(t, "/metrics")
	m := regexp.MustCompile(`(?m)^` + name + ` (\d+)`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("metric %s missing", name)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// TestCheckpointItems: a CU publishes a Checkpoint item of a process at shutdown, in the reference's format
// (gzipped raw memory whose SHA-256 is tagged); a fresh CU that trusts its key resumes from it without
// evaluating the log before it and then gives the same results and memory hashes as a CU that replayed
// everything; a CU that trusts nobody replays; items signed by an untrusted key (even when a gateway lists
// them) or whose memory does not match are ignored.
func TestCheckpointItems(t *testing.T) {
	n := newNetwork(t)
	// aos 2.0.4's glue has Date.now's counter, outside linear memory: a restore that lost it would change the
	// results that follow.
	pid := n.spawn(realModule(t, n, "aos2_0_4_32", "wasm32-unknown-emscripten4"))
	ctx := context.Background()
	first := eval(n, pid, `Counter = 0; Handlers.add("inc", "Inc", function(m) Counter = Counter + 1 end); return os.time()`)
	var last string
	for i := range 4 {
		last = n.send(pid, strconv.Itoa(i), dataitem.Tag{Name: "Action", Value: "Inc"})
	}
	archive := &memArchive{}
	a := n.newUnit(unitOpts{real: true, archive: archive, archiveEvery: time.Hour})
	ra, err := a.c.Result(ctx, pid, last)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.c.Result(ctx, pid, first); err != nil {
		t.Fatal(err)
	}
	a.stop() // publishes at shutdown
	its := archive.decoded()
	if len(its) != 1 {
		t.Fatalf("%d Checkpoint items published, want 1", len(its))
	}
	cp := its[0]
	for name, want := range map[string]string{"Type": "Checkpoint", "Process": pid, "Nonce": "5", "Content-Encoding": "gzip",
		ao.TagDataProtocol: ao.DataProtocol, "Variant": "ao.TN.1"} {
		if got, _ := dataitem.Get(cp.Tags, name); got != want {
			t.Errorf("tag %s = %q, want %q", name, got, want)
		}
	}
	zr, err := gzip.NewReader(bytes.NewReader(cp.Data))
	if err != nil {
		t.Fatal(err)
	}
	mem, _ := io.ReadAll(zr)
	sum := sha256.Sum256(mem)
	if got, _ := dataitem.Get(cp.Tags, "SHA-256"); got != hex.EncodeToString(sum[:]) || len(mem)%65536 != 0 {
		t.Fatalf("SHA-256 tag %s does not match the %d bytes of memory", got, len(mem))
	}
	if ao.OwnerAddress(cp.Owner) != a.wallet.Address() {
		t.Fatal("not signed by the CU")
	}

	// An untrusted key's newer checkpoint, listed by a gateway that ignores the owners filter, and a trusted
	// key's newer one whose memory is not what it says, are both passed over.
	forger, _ := wallet.Generate(wallet.ED25519)
	forge := func(signer *wallet.Wallet, nonce string) {
		tags := slices.Clone(cp.Tags)
		for i := range tags {
			if tags[i].Name == "Nonce" {
				tags[i].Value = nonce
			}
		}
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write(bytes.Repeat([]byte{1}, len(mem)))
		zw.Close()
		archive.Upload(ctx, n.sign(&dataitem.Item{Tags: tags, Data: gz.Bytes()}, signer))
	}
	forge(forger, "9")
	forge(a.wallet, "8")
	archive.lieOwners = true

	// The next message: B must resume from the checkpoint (slot 5) and evaluate only slot 6. A checkpoint is
	// only used for a slot after it: the slot asked for must be evaluated to have a result.
	last = n.send(pid, "4", dataitem.Tag{Name: "Action", Value: "Inc"})
	ra, err = n.newUnit(unitOpts{real: true}).c.Result(ctx, pid, last)
	if err != nil {
		t.Fatal(err)
	}
	b := n.newUnit(unitOpts{real: true, archive: archive, trust: []string{a.wallet.Address(), "some-other-key"}})
	rb, err := b.c.Result(ctx, pid, last)
	if err != nil {
		t.Fatal(err)
	}
	if got := metric(t, b, "ao_cu_checkpoint_item_restores_total"); got != 1 {
		t.Fatalf("B restored %d times from Checkpoint items, want 1", got)
	}
	if got := metric(t, b, "ao_cu_evaluations_total"); got != 1 {
		t.Fatalf("B evaluated %d messages; the checkpoint covers all but one", got)
	}
	if !bytes.Equal(rb.Body, ra.Body) {
		t.Fatalf("B's result differs from A's:\n%s\n%s", rb.Body, ra.Body)
	}

	c := n.newUnit(unitOpts{real: true, archive: archive})
	if _, err := c.c.Result(ctx, pid, last); err != nil {
		t.Fatal(err)
	}
	if got := metric(t, c, "ao_cu_checkpoint_item_restores_total"); got != 0 {
		t.Fatalf("C, trusting nobody, restored from a Checkpoint item")
	}
	if got := metric(t, c, "ao_cu_evaluations_total"); got != 7 {
		t.Fatalf("C evaluated %d messages, want the whole log (7)", got)
	}

	// Both go on identically: results and memory hashes (the Date.now counter included).
	next := eval(n, pid, `print("tick"); return tostring(Counter) .. " " .. tostring(os.clock()) .. " " .. tostring(os.time())`)
	var hashes []string
	for _, u := range []*unit{b, c} {
		r, err := u.c.Result(ctx, pid, next)
		if err != nil {
			t.Fatal(err)
		}
		at, err := ao.VerifyAttestation(r.Attestation, r.Body)
		if err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, at.ResultHash+" "+at.MemoryHash)
		if got := outputData(t, r.Result); !strings.HasPrefix(got, "tick\n5 ") {
			t.Fatalf("output %q", got)
		}
	}
	if hashes[0] != hashes[1] {
		t.Fatalf("restored CU and replaying CU disagree: %v", hashes)
	}
	_ = cu.TagHostState
}
