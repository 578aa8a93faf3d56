package cu_test

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/aogo/aogo/cu"
)

// TestPagedCheckpoints: a real aos process holding 16 MiB of data, checkpointed after every evaluation. The
// first checkpoint stores its pages; the next ones, after small messages, store a few pages each; old
// checkpoints are pruned with their files and their pages collected; a restart restores from the paged
// checkpoint and computes what a fresh unit computes.
func TestPagedCheckpoints(t *testing.T) {
	n := newNetwork(t)
	pid := n.spawn(realModule(t, n, "aos2_0_4_32", "wasm32-unknown-emscripten4"))
	big := eval(n, pid, `Weights = {} for i = 1, 128 do Weights[i] = string.rep(string.format("%08d-", i), 128 * 1024 // 9) end return "ok"`)
	dir := t.TempDir()
	ctx := context.Background()
	a := n.newUnit(unitOpts{dir: dir, real: true, every: 1})
	if _, err := a.c.Result(ctx, pid, big); err != nil {
		t.Fatal(err)
	}
	cps, pages, bytes1 := metric(t, a, "ao_cu_checkpoints_total"), metric(t, a, "ao_cu_checkpoint_pages_stored_total"), metric(t, a, "ao_cu_checkpoint_page_bytes_total")
	if pages < 16*16 {
		t.Fatalf("%d checkpoints stored %d pages, want the 16 MiB of data's", cps, pages)
	}
	var last string
	var deltas []int
	prev := pages
	for range 20 {
		last = eval(n, pid, "Counter = (Counter or 0) + 1; return Counter")
		if _, err := a.c.Result(ctx, pid, last); err != nil {
			t.Fatal(err)
		}
		now := metric(t, a, "ao_cu_checkpoint_pages_stored_total")
		deltas = append(deltas, now-prev)
		prev = now
	}
	t.Logf("first %d checkpoints: %d pages (%d bytes stored); each next one, after a small message: %v pages", cps, pages, bytes1, deltas)
	// The collector's first cycles after the big message rewrite much of the heap; after them a small
	// message changes a few pages.
	slices.Sort(deltas)
	if med := deltas[len(deltas)/2]; med*10 > pages {
		t.Fatalf("median checkpoint after a small message stored %d pages (the first ones %d)", med, pages)
	}
	if got := metric(t, a, "ao_cu_checkpoint_pages_collected_total"); got == 0 {
		t.Fatal("no page collected after 20 checkpoints")
	}
	// A collection every 16 checkpoints keeps each process's 2 latest: at most 2 + 15 files in between.
	files, _ := filepath.Glob(filepath.Join(dir, "snapshots", "[0-9a-f]*"))
	total := metric(t, a, "ao_cu_checkpoints_total")
	if want := 2 + total%16; len(files) > want {
		t.Fatalf("%d snapshot files after %d checkpoints, want at most %d", len(files), total, want)
	}
	a.stop()

	next := eval(n, pid, "Counter = Counter + 100; return Counter .. Weights[7]:sub(1, 9)")
	a2 := n.newUnit(unitOpts{dir: dir, wallet: a.wallet, real: true, every: 1000})
	r, err := a2.c.Result(ctx, pid, next)
	if err != nil {
		t.Fatal(err)
	}
	if metric(t, a2, "ao_cu_restores_total") != 1 {
		t.Fatal("the restart did not restore from the checkpoint")
	}
	if got := outputData(t, r.Result); got != "12000000007-" {
		t.Fatalf("after restart: %q %q", got, r.Error)
	}
	fresh := n.newUnit(unitOpts{real: true})
	rf, err := fresh.c.Result(ctx, pid, next)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.Body, rf.Body) {
		t.Fatalf("restored %s, fresh %s", r.Body, rf.Body)
	}
	a1, _ := cu.VerifyAttestation(r.Attestation, r.Body)
	af, _ := cu.VerifyAttestation(rf.Attestation, rf.Body)
	if a1 == nil || af == nil || a1.MemoryHash == "" || a1.MemoryHash != af.MemoryHash {
		t.Fatalf("memory hashes differ: %+v %+v", a1, af)
	}
}
