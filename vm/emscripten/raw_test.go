package emscripten

import (
	"bytes"
	"errors"
	"testing"

	"github.com/aogo/aogo/vm"
)

// TestRestoreRaw: raw memory (what a reference Checkpoint item holds) plus the exported host state restores a
// machine that continues exactly as replay-from-zero does; without the host state it still runs (the reference
// CU's resume) from the same memory; bad inputs are refused.
func TestRestoreRaw(t *testing.T) {
	for _, mod := range realModules[:2] {
		t.Run(mod.name, func(t *testing.T) {
			log := stateLog()
			wasm := realWasm(t, mod.name)
			full, err := vm.Open(mod.format, wasm, vm.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer full.Close()
			want := applyAll(t, full, log)

			half, err := vm.Open(mod.format, wasm, vm.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer half.Close()
			got := applyAll(t, half, log[:4])
			var raw bytes.Buffer
			if err := half.WriteMemory(&raw); err != nil {
				t.Fatal(err)
			}
			host, err := half.(vm.HostStater).HostState(3072)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := half.(vm.HostStater).HostState(10); !errors.Is(err, vm.ErrHostStateTooLarge) {
				t.Fatalf("HostState(10): %v", err)
			}
			restored, err := vm.RestoreRaw(mod.format, wasm, vm.Options{}, raw.Bytes(), host)
			if err != nil {
				t.Fatal(err)
			}
			defer restored.Close()
			if restored.MemoryHash() != half.MemoryHash() {
				t.Fatal("restored memory differs")
			}
			got = append(got, applyAll(t, restored, log[4:])...)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("message %d:\nreplay:  %s\nrestore: %s", i, want[i], got[i])
				}
			}
			if restored.MemoryHash() != full.MemoryHash() {
				t.Fatal("memory after raw restore-then-continue differs from replay-from-zero")
			}

			bare, err := vm.RestoreRaw(mod.format, wasm, vm.Options{}, raw.Bytes(), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer bare.Close()
			if bare.MemoryHash() != half.MemoryHash() {
				t.Fatal("restored memory (no host state) differs")
			}
			applyAll(t, bare, log[4:])

			for name, c := range map[string]struct {
				mem, host []byte
				opts      vm.Options
			}{
				"partial page":   {mem: raw.Bytes()[:raw.Len()-1], host: host},
				"over the limit": {mem: raw.Bytes(), host: host, opts: vm.Options{MemoryLimit: uint64(raw.Len()) - pageSize}},
				"bad host":       {mem: raw.Bytes(), host: []byte(`{"clock":1}`)},
				"host not JSON":  {mem: raw.Bytes(), host: []byte(`{`)},
			} {
				if m, err := vm.RestoreRaw(mod.format, wasm, c.opts, c.mem, c.host); err == nil {
					m.Close()
					t.Errorf("%s: restored", name)
				}
			}
		})
	}
}
