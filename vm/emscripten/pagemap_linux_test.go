package emscripten

import (
	"slices"
	"strings"
	"testing"

	"github.com/aogo/aogo/aos"
	"github.com/aogo/aogo/vm"
)

// The pagemap shortcut may only call a page zero when it is, on the real aos heaps (wasm32 and wasm64), after
// start-up and after messages that grow and churn the heap (and on ours); and it must find most of an aos 2.x heap untouched,
// or it gains nothing. Reading a page faults it in, so each stage gets a fresh machine: its shortcut hash and
// untouched count are taken before the test reads the whole memory for the reference hash.
func TestUntouchedPagesAreZero(t *testing.T) {
	stages := []struct {
		name   string
		msgs   []string
		rebase bool
	}{
		{"after boot", nil, false},
		{"after a large allocation", []string{`Big = {} for i = 1, 20000 do Big[i] = string.rep("x", 100) .. i end return #Big`}, false},
		{"after freeing it", []string{`Big = {} for i = 1, 20000 do Big[i] = string.rep("x", 100) .. i end return #Big`, `Big = nil collectgarbage() return "freed"`}, false},
		{"after a capture", []string{`X = string.rep("y", 300000) return #X`}, true},
	}
	for _, mod := range benchModules {
		for _, st := range stages {
			t.Run(mod.name+"/"+st.name, func(t *testing.T) {
				m := openBooted(t, mod.name, mod.format, vm.Options{})
				defer m.Close()
				for _, code := range st.msgs {
					mustApply(t, m, evalMsg(code))
				}
				mm := m.(*machine)
				if st.rebase {
					mm.rebase()
				}
				got := mm.MemoryHash()
				mem, zero := mm.cur.scanMemory()
				if zero == nil {
					t.Fatal("pagemap unreadable on Linux")
				}
				n := 0
				for _, z := range zero {
					if z {
						n++
					}
				}
				if n < len(zero)/2 {
					t.Fatalf("only %d of %d pages untouched", n, len(zero))
				}
				for i, z := range zero {
					if z && !vm.IsZeroPage(mem[i*pageSize:(i+1)*pageSize]) {
						t.Fatalf("page %d reported untouched but holds data", i)
					}
				}
				if want := vm.HashMemory(mem); got != want {
					t.Fatalf("MemoryHash %x, HashMemory of the memory %x", got, want)
				}
			})
		}
	}
}

// PAGEMAP_SCAN (the touched ranges) and the pagemap entries (one per OS page) must mark the same pages
// untouched, on a memory with a data image, a big stack and a heap touched here and there (our module after
// a message that filled part of its stack, and an aos 2 module).
func TestPagemapScanMatchesEntries(t *testing.T) {
	for _, mod := range []struct{ name, format string }{{ourModule, aos.Format}, realModules[1]} {
		t.Run(mod.name, func(t *testing.T) {
			m := openBooted(t, mod.name, mod.format, vm.Options{})
			mustApply(t, m, evalMsg(`Big = {} for i = 1, 5000 do Big[i] = string.rep("x", 100) .. i end return #Big`))
			size := 3_000_000
			if mod.name != ourModule {
				size = 300_000 // aos 2's Lua JSON decoder takes seconds for megabytes
			}
			mustApply(t, m, msgFrom(testOwner, "Big", strings.Repeat("y", size)))
			in := m.(*machine).cur
			if pagemap.noScan.Load() {
				t.Skip("no PAGEMAP_SCAN on this kernel")
			}
			mem, scanned := in.scanMemory()
			if pagemap.noScan.Load() || scanned == nil {
				t.Skip("no PAGEMAP_SCAN on this kernel")
			}
			scanned = slices.Clone(scanned)
			pagemap.noScan.Store(true)
			_, read := in.scanMemory()
			pagemap.noScan.Store(false)
			if !slices.Equal(scanned, read) {
				for i := range scanned {
					if scanned[i] != read[i] {
						t.Errorf("page %d: PAGEMAP_SCAN says untouched %v, entries %v", i, scanned[i], read[i])
					}
				}
			}
			n := 0
			for _, z := range read {
				if z {
					n++
				}
			}
			t.Logf("%d of %d pages untouched (%d MiB of memory)", n, len(read), len(mem)>>20)
		})
	}
}

// BenchmarkUntouchedPages: finding the untouched pages of a booted process's memory (every memory hash and
// capture starts with it), through PAGEMAP_SCAN and through the pagemap entries.
func BenchmarkUntouchedPages(b *testing.B) {
	for _, mod := range benchModules {
		m := openBooted(b, mod.name, mod.format, vm.Options{})
		mustApply(b, m, evalMsg(pingHandler))
		in := m.(*machine).cur
		for _, how := range []string{"scan", "entries"} {
			b.Run(mod.name+"/"+how, func(b *testing.B) {
				was := pagemap.noScan.Load()
				pagemap.noScan.Store(how == "entries" || was)
				defer pagemap.noScan.Store(was)
				if how == "scan" && was {
					b.Skip("no PAGEMAP_SCAN on this kernel")
				}
				mem := in.memory()
				for b.Loop() {
					if untouchedPages(mem, in.cm.imageEnd, &in.scratch) == nil {
						b.Fatal("pagemap unreadable")
					}
				}
				b.ReportMetric(float64(len(mem)>>20), "MiB")
			})
		}
	}
}

// A 9.9 MB message leaves ~30 MB of pages our module has zeroed again (freed heap blocks, the host's copy on
// the stack): the first scan after it gives them back to the kernel, so later scans and hashes skip them, and
// nothing a process sees changes: a machine that hashed after every message ends with the same memory as
// one that never did, and both go on.
func TestZeroPagesReleased(t *testing.T) {
	log := [][]byte{bigAddHandler, msgFrom(testOwner, "Big", strings.Repeat("x", 9_900_000)),
		evalMsg(`collectgarbage() return "gc"`), msgFrom(testOwner, "Big", strings.Repeat("y", 1_000_000)), bigState()}
	hashing := openBooted(t, ourModule, aos.Format, vm.Options{})
	quiet := openBooted(t, ourModule, aos.Format, vm.Options{})
	in := hashing.(*machine).cur
	// touched counts the pages a scan reads: not known zero, nor known equal to the base under the memory.
	touched := func() int {
		_, zero, clean := in.scanTracked()
		if zero == nil {
			t.Skip("pagemap unreadable")
		}
		n := 0
		for i, z := range zero {
			if !z && (i >= len(clean) || !clean[i]) {
				n++
			}
		}
		return n
	}
	hashing.MemoryHash()
	before := touched()
	for i, msg := range log {
		a, b := mustApply(t, hashing, msg), mustApply(t, quiet, msg)
		if a.Error != "" || string(a.Output) != string(b.Output) {
			t.Fatalf("message %d: %q %s, without hashing %s", i, a.Error, a.Output, b.Output)
		}
		if got, want := hashing.MemoryHash(), vm.HashMemory(hashing.(*machine).cur.memory()); got != want {
			t.Fatalf("message %d: MemoryHash %x, HashMemory %x", i, got, want)
		}
		if i == 2 {
			// Under a base mapped under the memory (track.go), a page zeroed over a non-zero base page is read
			// until the next capture clears the base's copy: take one, as a running machine soon does.
			if hashing.(*machine).base.back != nil {
				hashing.(*machine).rebase()
			}
			if n := touched(); n > before+16 {
				t.Fatalf("after the 9.9 MB message and a collection: %d pages touched, %d before it", n, before)
			}
			t.Logf("touched pages: %d before the 9.9 MB message, %d after it", before, touched())
		}
	}
	if got := outputData(t, mustApply(t, hashing, log[4])); got != "2 1000000" {
		t.Fatalf("state %q", got)
	}
	mustApply(t, quiet, log[4])
	if hashing.MemoryHash() != quiet.MemoryHash() {
		t.Fatal("hashing (and releasing) changed the memory")
	}
}
