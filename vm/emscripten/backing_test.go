//go:build linux

package emscripten

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/aogo/aogo/aos"
	"github.com/aogo/aogo/vm"
)

// TestBigMemoryRollback: a process holding 48 MiB of data. After a capture, a message that touches a few
// pages is rolled back to a bit-exact memory, the next capture only copies what a message wrote, and the
// memory hash stays vm.HashMemory of the memory throughout; the same with private copies for bases, with the
// pagemap entries instead of PAGEMAP_SCAN, and across a fork that shares the base.
func TestBigMemoryRollback(t *testing.T) {
	for _, mode := range []string{"memfd", "memfd-entries", "copies"} {
		t.Run(mode, func(t *testing.T) {
			defer func(off, noScan bool) { backingsOff = off; pagemap.noScan.Store(noScan) }(backingsOff, pagemap.noScan.Load())
			backingsOff = mode == "copies"
			if mode == "memfd-entries" {
				pagemap.noScan.Store(true)
			}
			m := openBooted(t, ourModule, aos.Format, vm.Options{}).(*machine)
			mustApply(t, m, bigLive(48))
			m.rebase()
			if mode != "copies" {
				if !backingsOK() {
					t.Skip("no memfd base on this kernel")
				}
				if m.base.back == nil || m.cur.mapped.back != m.base.back {
					t.Fatal("the base is not mapped under the memory")
				}
			}
			check := func(when string) [32]byte {
				t.Helper()
				h := m.MemoryHash()
				if want := vm.HashMemory(m.cur.memory()); h != want {
					t.Fatalf("%s: MemoryHash %x, HashMemory %x", when, h, want)
				}
				return h
			}
			h0, s0 := check("after the capture"), memSum(m)
			if n, nz := written(m); mode != "copies" && (n != 0 || nz < 48*16) {
				t.Fatalf("right after a capture: %d of %d non-zero pages written", n, nz)
			}
			if r := mustApply(t, m, evalMsg(`Counter = (Counter or 0) + 1; Weights[3] = "changed"; error("no")`)); r.Error == "" {
				t.Fatal("want an error")
			}
			if check("after a rollback") != h0 || memSum(m) != s0 {
				t.Fatal("the rollback did not restore the memory bit for bit")
			}
			mustApply(t, m, evalMsg(`Counter = (Counter or 0) + 1; return Counter`))
			n, nz := written(m)
			t.Logf("a small message wrote %d of %d non-zero pages", n, nz)
			if mode != "copies" && n*10 > nz {
				t.Fatalf("a small message left %d of %d non-zero pages written", n, nz)
			}
			h1 := check("after a message")
			m.rebase()
			if check("after the second capture") != h1 {
				t.Fatal("a capture changed the memory hash")
			}
			s1 := memSum(m)
			// The capture keeps the private copies of the pages it saw change (likely written again) and
			// drops them at the next capture that finds them unchanged.
			if k, _ := written(m); mode != "copies" && k > n {
				t.Fatalf("right after the second capture: %d pages written, the message wrote %d", k, n)
			}
			m.rebase()
			if n, _ := written(m); mode != "copies" && n != 0 {
				t.Fatalf("after a capture with nothing written since the last: %d pages written", n)
			}
			if check("after the third capture") != h1 || memSum(m) != s1 {
				t.Fatal("a capture changed the memory")
			}
			// A fork shares the base; the parent's next capture must leave the fork's memory alone.
			f, err := m.Fork(vm.ForkOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			fm := f.(*machine)
			if f.MemoryHash() != h1 || memSum(fm) != s1 {
				t.Fatal("the fork's memory differs")
			}
			mustApply(t, m, evalMsg(`Weights[5] = "parent"; Counter = Counter + 10; return Counter`))
			m.rebase()
			h2 := check("after the parent's capture")
			if f.MemoryHash() != h1 || memSum(fm) != s1 {
				t.Fatal("the parent's capture changed the fork's memory")
			}
			if r := mustApply(t, f, evalMsg(`Weights[7] = "fork"; error("no")`)); r.Error == "" {
				t.Fatal("want an error")
			}
			if f.MemoryHash() != h1 || memSum(fm) != s1 {
				t.Fatal("the fork's rollback did not restore its memory")
			}
			if got := outputData(t, mustApply(t, f, evalMsg(`return Counter .. Weights[5]:sub(1, 9)`))); got != "100000005-" {
				t.Fatalf("fork state %q", got)
			}
			fm.rebase()
			f.Close()
			if r := mustApply(t, m, evalMsg(`Weights[9] = "x"; error("no")`)); r.Error == "" {
				t.Fatal("want an error")
			}
			if check("after the parent's rollback") != h2 {
				t.Fatal("the parent's rollback changed its memory")
			}
			if got := outputData(t, mustApply(t, m, evalMsg(`return Counter .. Weights[5]`))); got != "11parent" {
				t.Fatalf("parent state %q", got)
			}
			// A snapshot of it restores to the same memory, on a backing again.
			var snap bytes.Buffer
			if _, err := m.Snapshot(&snap); err != nil {
				t.Fatal(err)
			}
			r, err := vm.Restore(aos.Format, realWasm(t, ourModule), vm.Options{}, &snap)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if r.MemoryHash() != m.MemoryHash() || memSum(r.(*machine)) != memSum(m) {
				t.Fatal("restored memory differs")
			}
			if r := mustApply(t, r, evalMsg(`Weights[2] = "y"; error("no")`)); r.Error == "" {
				t.Fatal("want an error")
			}
			if r.MemoryHash() != m.MemoryHash() {
				t.Fatal("a rollback after a restore changed the memory")
			}
		})
	}
}

// BenchmarkBigMemoryCapture: the capture (rebase) after a message that touches a few pages of a process
// holding 48 MiB of data, with the base in a memfd under the memory and as private copies (the comparison),
// and the memory hash after it, in CPU time (the machine is shared). pages/op is the pages the message wrote.
func BenchmarkBigMemoryCapture(b *testing.B) {
	for _, mib := range []int{16, 64} {
		for _, mode := range []string{"memfd", "copies"} {
			b.Run(fmt.Sprintf("%dMiB/%s", mib, mode), func(b *testing.B) {
				defer func(off bool) { backingsOff = off }(backingsOff)
				backingsOff = mode == "copies"
				m := openBooted(b, ourModule, aos.Format, vm.Options{}).(*machine)
				defer m.Close()
				mustApply(b, m, bigLive(mib))
				m.rebase()
				var capture, hash time.Duration
				pages := 0
				for b.Loop() {
					b.StopTimer()
					mustApply(b, m, evalMsg(`Counter = (Counter or 0) + 1; return Counter`))
					n, _ := written(m)
					pages += n
					b.StartTimer()
					start := cpuNow()
					m.rebase()
					capture += cpuNow() - start
					start = cpuNow()
					m.MemoryHash()
					hash += cpuNow() - start
				}
				b.ReportMetric(float64(capture.Microseconds())/float64(b.N), "capture-cpu-µs/op")
				b.ReportMetric(float64(hash.Microseconds())/float64(b.N), "hash-cpu-µs/op")
				b.ReportMetric(float64(pages)/float64(b.N), "pages/op")
			})
		}
	}
}
