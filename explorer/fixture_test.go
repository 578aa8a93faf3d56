package explorer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/cu"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/explorer"
	"github.com/aogo/aogo/mu"
	"github.com/aogo/aogo/store/sqlite"
	"github.com/aogo/aogo/su"
	"github.com/aogo/aogo/wallet"
)

// fixture is an explorer over real stores (the SU's, CU's and MU's SQLite stores and the explorer index),
// filled the way the units fill them: signed items and assignments committed to the SU store, evaluations and
// signed attestations saved in the CU store, crank links written by MU task advances.
type fixture struct {
	t                testing.TB
	ctx              context.Context
	su               *sqlite.SUStore
	cu               *sqlite.CUStore
	mu               *sqlite.MUStore
	idx              *sqlite.ExplorerIndex
	ex               *explorer.Explorer
	srv              *httptest.Server
	user, sched, cuw *wallet.Wallet
	module           string
	now              int64
	n                int
	heads            map[string]su.Slot // each process's newest slot
	seq              map[string]int64   // each process's next CU evaluation seq
	notify           bool               // schedule calls Notify (for a running Run) instead of IndexProcess
}

func newFixture(t testing.TB, opts ...func(*explorer.Config)) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{t: t, ctx: context.Background(), now: 1_700_000_000_000, heads: map[string]su.Slot{}, seq: map[string]int64{}}
	var err error
	if f.su, err = sqlite.OpenSU(filepath.Join(dir, "su.db")); err != nil {
		t.Fatal(err)
	}
	if f.cu, err = sqlite.OpenCU(filepath.Join(dir, "cu.db")); err != nil {
		t.Fatal(err)
	}
	if f.mu, err = sqlite.OpenMU(filepath.Join(dir, "mu.db")); err != nil {
		t.Fatal(err)
	}
	if f.idx, err = sqlite.OpenExplorer(filepath.Join(dir, "index.db")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.idx.Close(); f.mu.Close(); f.cu.Close(); f.su.Close() })
	for _, w := range []**wallet.Wallet{&f.user, &f.sched, &f.cuw} {
		if *w, err = wallet.Generate(wallet.ED25519); err != nil {
			t.Fatal(err)
		}
	}
	f.module = dataitem.B64(make([]byte, 32))
	cfg := explorer.Config{Log: f.su, Index: f.idx, Results: f.cu, Links: f.mu,
		Now: func() time.Time { return time.UnixMilli(f.now) }}
	for _, o := range opts {
		o(&cfg)
	}
	if f.ex, err = explorer.New(cfg); err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(f.ex.Handler())
	t.Cleanup(f.srv.Close)
	return f
}

// item signs an item of the user (or w) with the tags given as name, value pairs.
func (f *fixture) item(w *wallet.Wallet, target string, data []byte, kv ...string) *dataitem.Item {
	f.t.Helper()
	// ed25519 signs deterministically: a unique anchor gives equal messages distinct ids, as clients do.
	f.n++
	it := &dataitem.Item{Data: data, Anchor: []byte(fmt.Sprintf("%032d", f.n))}
	if target != "" {
		b, _ := dataitem.DecodeB64(target)
		it.Target = b
	}
	for i := 0; i+1 < len(kv); i += 2 {
		it.Tags = append(it.Tags, dataitem.Tag{Name: kv[i], Value: kv[i+1]})
	}
	if err := it.Sign(w); err != nil {
		f.t.Fatal(err)
	}
	return it
}

// schedule commits it as pid's next slot (as the SU does: hash chain, signed assignment) and indexes it.
func (f *fixture) schedule(pid string, it *dataitem.Item) su.Slot {
	f.t.Helper()
	f.now += 10
	head, ok := f.heads[pid]
	var nonce uint64
	var chain string
	var err error
	if !ok {
		chain, err = ao.FirstHashChain(pid)
	} else {
		nonce = head.Nonce + 1
		chain, err = ao.NextHashChain(head.HashChain, head.AssignmentID)
	}
	if err != nil {
		f.t.Fatal(err)
	}
	msg := it.ID()
	if nonce == 0 {
		msg = ""
	}
	a := &dataitem.Item{Tags: ao.AssignmentTags(pid, nonce, chain, 7, f.now, msg, nil)}
	if err := a.Sign(f.sched); err != nil {
		f.t.Fatal(err)
	}
	araw, _ := a.Bytes()
	mraw, _ := it.Bytes()
	s := su.Slot{Process: pid, Nonce: nonce, Timestamp: f.now, BlockHeight: 7, HashChain: chain, AssignmentID: a.ID(),
		MessageID: it.ID(), Assignment: araw, Message: mraw}
	if err := f.su.Commit(f.ctx, []su.Slot{s}, nil); err != nil {
		f.t.Fatal(err)
	}
	f.heads[pid] = s
	if f.notify {
		f.ex.Notify(pid)
		return s
	}
	if err := f.ex.IndexProcess(f.ctx, pid); err != nil {
		f.t.Fatal(err)
	}
	return s
}

// spawn schedules a Process item of the user with extra tags; it returns the process id.
func (f *fixture) spawn(kv ...string) string {
	f.t.Helper()
	tags := append([]string{"Data-Protocol", "ao", "Variant", "ao.TN.1", "Type", "Process", "Module", f.module, "Scheduler", f.sched.Address()}, kv...)
	it := f.item(f.user, "", []byte("init"), tags...)
	f.schedule(it.ID(), it)
	return it.ID()
}

// send schedules a Message of the user to pid; it returns the message id.
func (f *fixture) send(pid string, data []byte, kv ...string) string {
	f.t.Helper()
	tags := append([]string{"Data-Protocol", "ao", "Variant", "ao.TN.1", "Type", "Message"}, kv...)
	it := f.item(f.user, pid, data, tags...)
	f.schedule(pid, it)
	return it.ID()
}

// result saves the CU's evaluation of message mid (slot nonce) in pid, signed when attest.
func (f *fixture) result(pid, mid string, nonce int64, body string, attest bool) {
	f.t.Helper()
	seq := f.seq[pid]
	f.seq[pid] = seq + 1
	ev := cu.Eval{Process: pid, Seq: seq, Message: mid, Nonce: nonce, Timestamp: f.now, BlockHeight: 7,
		Result: []byte(body), MemoryHash: []byte{0xab, 0xcd, byte(seq)}}
	if attest {
		var err error
		if ev.Attestation, err = cu.Attest(f.cuw, &ev); err != nil {
			f.t.Fatal(err)
		}
	}
	if err := f.cu.SaveEvals(f.ctx, []cu.Eval{ev}); err != nil {
		f.t.Fatal(err)
	}
}

// crank records, as the MU's crank of parent's result does, that it caused children (id → target process).
func (f *fixture) crank(parent, parentProcess string, kind mu.Kind, children ...[2]string) {
	f.t.Helper()
	task, _, err := f.mu.Insert(f.ctx, mu.Task{Key: "item:" + parent + parentProcess, Kind: mu.KindMessage, Process: parentProcess, ItemID: parent})
	if err != nil {
		f.t.Fatal(err)
	}
	var kids []mu.Task
	for i, c := range children {
		kids = append(kids, mu.Task{Key: fmt.Sprintf("t%d/m%d", task.ID, i), Kind: kind, Process: c[1], ItemID: c[0]})
	}
	if _, err := f.mu.Advance(f.ctx, mu.Advance{ID: task.ID, From: mu.StageWrite, To: mu.StageDone, Children: kids}); err != nil {
		f.t.Fatal(err)
	}
}

// get fetches path from the explorer and decodes its JSON into out (when not nil); it returns the status.
func (f *fixture) get(path string, out any) int {
	f.t.Helper()
	resp, err := http.Get(f.srv.URL + path)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		f.t.Fatalf("GET %s: Content-Type %q, body %s", path, ct, body)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
			f.t.Fatalf("GET %s: %d without a JSON error: %s", path, resp.StatusCode, body)
		}
		return resp.StatusCode
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			f.t.Fatalf("GET %s: %v: %s", path, err, body)
		}
	}
	return resp.StatusCode
}

// wantStatus checks that each path answers status with a JSON error.
func (f *fixture) wantStatus(status int, paths ...string) {
	f.t.Helper()
	for _, p := range paths {
		if got := f.get(p, nil); got != status {
			f.t.Errorf("GET %s: %d, want %d", p, got, status)
		}
	}
}
