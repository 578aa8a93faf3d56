package emscripten

import (
	"testing"

	"github.com/aogo/aogo/vm"
)

// The pagemap shortcut may only call a page zero when it is, on the real aos heaps (wasm32 and wasm64), after
// start-up and after messages that grow and churn the heap; and it must find most of an aos 2.x heap untouched,
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
	for _, mod := range realModules[:2] {
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
