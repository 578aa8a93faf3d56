package emscripten

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/aogo/aogo/vm"
)

// stateLog is a message log that exercises state: globals, handlers, an error in the middle.
func stateLog() [][]byte {
	return [][]byte{
		bootMsg(),
		evalMsg(`Counter = 0; Handlers.add("inc", Handlers.utils.hasMatchingTag("Action","Inc"), function(m) Counter = Counter + 1; ao.send({Target = m.From, Data = tostring(Counter)}) end); return "ok"`),
		msgFrom("A", "Inc", ""),
		evalMsg(`error("fails")`),
		msgFrom("B", "Inc", ""),
		evalMsg(`T = {}; for i = 1, 1000 do T[i] = string.rep("y", i) end; return #T`),
		msgFrom("C", "Inc", ""),
	}
}

func applyAll(t *testing.T, m vm.Machine, log [][]byte) []string {
	t.Helper()
	var out []string
	for _, msg := range log {
		r := mustApply(t, m, msg)
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

// TestSnapshotRoundTrip: replay-from-zero ≡ snapshot, restore, continue — results and memory hashes byte
// for byte; and the stack pointer is back at its start value after every call, error or not.
func TestSnapshotRoundTrip(t *testing.T) {
	for _, mod := range realModules[:2] {
		t.Run(mod.name, func(t *testing.T) {
			log := stateLog()
			wasm := realWasm(t, mod.name)
			full, err := vm.Open(mod.format, wasm, vm.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer full.Close()
			sp0 := stackPointer(t, full)
			want := applyAll(t, full, log)
			if sp := stackPointer(t, full); sp != sp0 {
				t.Fatalf("stack pointer %#x after the log, %#x after start-up", sp, sp0)
			}

			half, err := vm.Open(mod.format, wasm, vm.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer half.Close()
			got := applyAll(t, half, log[:4])
			var snap bytes.Buffer
			sum, err := half.Snapshot(&snap)
			if err != nil {
				t.Fatal(err)
			}
			if sum != half.MemoryHash() {
				t.Fatal("snapshot hash is not the memory hash")
			}
			var snap2 bytes.Buffer
			if _, err := half.Snapshot(&snap2); err != nil || !bytes.Equal(snap.Bytes(), snap2.Bytes()) {
				t.Fatal("two snapshots of one state differ")
			}
			restored, err := vm.Restore(mod.format, wasm, vm.Options{}, bytes.NewReader(snap.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			defer restored.Close()
			if restored.MemoryHash() != sum {
				t.Fatal("restored memory differs")
			}
			got = append(got, applyAll(t, restored, log[4:])...)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("message %d:\nreplay:  %s\nrestore: %s", i, want[i], got[i])
				}
			}
			if restored.MemoryHash() != full.MemoryHash() {
				t.Fatal("memory after restore-then-continue differs from replay-from-zero")
			}
			t.Logf("snapshot %d bytes for %d bytes of memory", snap.Len(), full.MemorySize())
		})
	}
}

func stackPointer(t *testing.T, m vm.Machine) uint64 {
	in := m.(*machine).cur
	sp, err := in.callExport(in.store, in.exp.stackSave)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// TestDeterministic: two machines on the same log give identical results and memory hashes.
func TestDeterministic(t *testing.T) {
	mod := realModules[0]
	var results [2][]string
	var hashes [2][32]byte
	log := stateLog()
	for i := range 2 {
		m, err := vm.Open(mod.format, realWasm(t, mod.name), vm.Options{})
		if err != nil {
			t.Fatal(err)
		}
		results[i] = applyAll(t, m, log)
		hashes[i] = m.MemoryHash()
		m.Close()
	}
	for j := range results[0] {
		if results[0][j] != results[1][j] {
			t.Fatalf("message %d differs:\n%s\n%s", j, results[0][j], results[1][j])
		}
	}
	if hashes[0] != hashes[1] {
		t.Fatal("memory hashes differ")
	}
}

// TestFork: a dry-run on a fork never changes the parent, and forks roll back on their own.
func TestFork(t *testing.T) {
	mod := realModules[1]
	m := openBooted(t, mod.name, mod.format, vm.Options{})
	mustApply(t, m, evalMsg(`Counter = 5`))
	before := m.MemoryHash()
	f, err := m.Fork(vm.ForkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.MemoryHash() != before {
		t.Fatal("fork starts from a different state")
	}
	r, err := f.Apply(context.Background(), evalMsg(`Counter = Counter + 100; return Counter`), testEnv())
	if err != nil || outputData(t, r) != "105" {
		t.Fatalf("fork eval: %v %s", err, r.Output)
	}
	if r, _ := f.Apply(context.Background(), evalMsg(`error("x")`), testEnv()); r.Error == "" {
		t.Fatal("want error")
	}
	if r, _ := f.Apply(context.Background(), evalMsg(`return Counter`), testEnv()); outputData(t, r) != "105" {
		t.Fatalf("fork rollback lost its own state: %s", r.Output)
	}
	if m.MemoryHash() != before {
		t.Fatal("parent changed by its fork")
	}
	if r := mustApply(t, m, evalMsg(`return Counter`)); outputData(t, r) != "5" {
		t.Fatalf("parent counter %s", r.Output)
	}
}

// TestMemoryHashAndWriteMemory: WriteMemory hands out exactly the memory, and MemoryHash — which reuses
// the leaves of pages the base still holds — is vm.HashMemory of it, before and after rebases and
// rollbacks; a change in a page the base holds changes the hash.
func TestMemoryHashAndWriteMemory(t *testing.T) {
	mod := realModules[1]
	m := openBooted(t, mod.name, mod.format, vm.Options{})
	mm := m.(*machine)
	check := func(when string) [32]byte {
		t.Helper()
		var buf bytes.Buffer
		if err := m.WriteMemory(&buf); err != nil {
			t.Fatal(err)
		}
		if uint64(buf.Len()) != m.MemorySize() {
			t.Fatalf("%s: wrote %d bytes of %d", when, buf.Len(), m.MemorySize())
		}
		h := m.MemoryHash()
		if want := vm.HashMemory(buf.Bytes()); h != want {
			t.Fatalf("%s: MemoryHash %x, HashMemory of the memory %x", when, h, want)
		}
		return h
	}
	check("after boot (pristine base)")
	mustApply(t, m, evalMsg(`Counter = 1`))
	mm.rebase()
	h1 := check("right after a rebase")
	if mm.base.pristine || len(mm.base.pages) == 0 {
		t.Fatal("rebase captured nothing")
	}
	mustApply(t, m, evalMsg(`Counter = Counter + 1; Big = string.rep("z", 300000)`))
	h2 := check("after a message")
	if h2 == h1 {
		t.Fatal("memory hash did not change")
	}
	if r := mustApply(t, m, evalMsg(`error("no")`)); r.Error == "" {
		t.Fatal("want an error")
	}
	if check("after a rollback") != h2 {
		t.Fatal("rollback changed the memory hash")
	}
	prev := mm.base
	mm.rebase()
	shared := 0
	for _, p := range mm.base.pages {
		for _, q := range prev.pages {
			if p.idx == q.idx && &p.data[0] == &q.data[0] {
				shared++
			}
		}
	}
	if shared == 0 {
		t.Fatal("a rebase copied every page again")
	}
	check("after a second rebase")
	// Flip one byte in a page the base holds: the reused leaf must not hide it.
	mem := mm.cur.memory()
	off := uint64(mm.base.pages[len(mm.base.pages)-1].idx)*pageSize + 100
	mem[off] ^= 0xff
	if check("after poking memory") == h2 {
		t.Fatal("a changed page kept its old leaf")
	}
	mem[off] ^= 0xff
}

// TestMemoryHashCacheBound: past its page bound the hash cache holds what it has and the other pages are
// compared with the base: the hash stays vm.HashMemory of the memory through messages and rollbacks.
func TestMemoryHashCacheBound(t *testing.T) {
	defer func(n int) { maxHashCachePages = n }(maxHashCachePages)
	maxHashCachePages = 3
	mod := realModules[1]
	m := openBooted(t, mod.name, mod.format, vm.Options{})
	m.(*machine).rebase()
	for i := range 6 {
		code := fmt.Sprintf(`Counter = (Counter or 0) + 1; T%d = string.rep("y", %d)`, i, 20000*(i+1))
		if i == 3 {
			code = `error("roll back")`
		}
		mustApply(t, m, evalMsg(code))
		var buf bytes.Buffer
		if err := m.WriteMemory(&buf); err != nil {
			t.Fatal(err)
		}
		if got, want := m.MemoryHash(), vm.HashMemory(buf.Bytes()); got != want {
			t.Fatalf("message %d: MemoryHash %x, HashMemory of the memory %x", i, got, want)
		}
	}
	if n := m.(*machine).hashes.n; n != 3 {
		t.Fatalf("hash cache holds %d pages, bound 3", n)
	}
}
