package emscripten

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// gasWat is a module that meters itself the way the old builds do, and then some: usegas called directly (in a
// loop, in a block of a type index, in dead code after br, with a negative amount), through the table
// (call_indirect) and from another function; among the operators inlineUsegas must step over, immediates that
// hold the bytes of `call 0` (v128.const, i32.const 16), bulk memory (0xfc) and select t. Each round calls
// env.tick, so how far a run got before running out of gas shows where it stopped. @T@ is i32 or i64.
const gasWat = `(module
  (type $pair (func (param i32) (result i32 i32)))
  (import "metering" "usegas" (func $usegas (param @T@)))
  (import "env" "tick" (func $tick))
  (memory (export "memory") 1)
  (table 2 funcref)
  (elem (i32.const 0) $usegas $helper)
  (func $helper (param @T@) (call $usegas (local.get 0)))
  (func (export "run") (param $n i32)
    (local $i i32)
    (loop $l
      (call $usegas (@T@.const 1000))
      (call $tick)
      (drop (v128.const i8x16 0x10 0x00 0x10 0x00 0x10 0x00 0x10 0x00 0x10 0x00 0x10 0x00 0x10 0x00 0x10 0x00))
      (memory.copy (i32.const 16) (i32.const 0) (i32.const 16))
      (drop (select (result i32) (i32.const 16) (i32.const 0) (local.get $i)))
      (call_indirect (param @T@) (@T@.const 7) (i32.const 0))
      (call $helper (@T@.const 300))
      (call $usegas (@T@.const -10))
      (block (br 0) (call $usegas (@T@.const 99999)))
      (i32.const 4)
      (block (type $pair) (call $usegas (@T@.const 16)) (i32.const 0x10))
      (drop) (drop)
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_s (local.get $i) (local.get $n))))))`

// gasRun runs run(rounds) of wasm under limit with a usegas that is the glue's (on a Go counter) or, for a
// module rewritten by inlineUsegas, ours. It returns the gas used, whether it ran out, and the rounds begun.
func gasRun(t *testing.T, wasm []byte, rewritten bool, limit int64, rounds int32) (used int64, outOfGas bool, ticks int) {
	t.Helper()
	store := wasmtime.NewStore(sharedEngine())
	defer store.Close()
	store.SetFuel(1 << 40)
	store.SetEpochDeadline(1 << 62) // see TestMeterModuleTiny
	mod, err := wasmtime.NewModule(sharedEngine(), wasm)
	if err != nil {
		t.Fatal(err)
	}
	var imports []wasmtime.AsExtern
	for _, imp := range mod.Imports() {
		ft := imp.Type().FuncType()
		switch *imp.Name() {
		case "usegas":
			i32 := ft.Params()[0].Kind() == wasmtime.KindI32
			imports = append(imports, wasmtime.NewFunc(store, ft, func(c *wasmtime.Caller, a []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
				var amount int64
				if i32 {
					amount = int64(a[0].I32())
				} else {
					amount = a[0].I64()
				}
				if rewritten {
					g := c.GetExport(meterGasExport).Global()
					used = g.Get(c).I64() + amount
					g.Set(c, wasmtime.ValI64(used))
				} else {
					used += amount
				}
				if used > limit {
					outOfGas = true
					return nil, wasmtime.NewTrap("out of gas!")
				}
				return nil, nil
			}))
		case "tick":
			imports = append(imports, wasmtime.WrapFunc(store, func() { ticks++ }))
		}
	}
	inst, err := wasmtime.NewInstance(store, mod, imports)
	if err != nil {
		t.Fatal(err)
	}
	if rewritten {
		inst.GetExport(store, meterGasExport).Global().Set(store, wasmtime.ValI64(0))
		inst.GetExport(store, meterLimitExp).Global().Set(store, wasmtime.ValI64(limit))
	}
	_, err = inst.GetFunc(store, "run").Call(store, rounds)
	if err != nil && !outOfGas {
		t.Fatalf("run: %v", err)
	}
	if rewritten {
		used = inst.GetExport(store, meterGasExport).Global().Get(store).I64()
	}
	return used, outOfGas, ticks
}

// TestInlineUsegasTable: the rewritten module spends exactly the gas the original spends through the glue's
// usegas, and stops at the same round, under limits that cut it anywhere and under no limit; i32 and i64 usegas.
func TestInlineUsegasTable(t *testing.T) {
	for _, typ := range []string{"i32", "i64"} {
		t.Run(typ, func(t *testing.T) {
			wasm, err := wasmtime.Wat2Wasm(strings.ReplaceAll(gasWat, "@T@", typ))
			if err != nil {
				t.Fatal(err)
			}
			out, ok, err := inlineUsegas(wasm)
			if err != nil || !ok {
				t.Fatalf("inlineUsegas: ok %v, %v", ok, err)
			}
			if err := wasmtime.ModuleValidate(sharedEngine(), out); err != nil {
				t.Fatalf("rewritten module does not validate: %v", err)
			}
			const rounds = 20
			full, oog, _ := gasRun(t, wasm, false, math.MaxInt64, rounds)
			// Per round: 1000 + 7 (table) + 300 (helper) - 10 + 16 (the dead 99999 never runs).
			if oog || full != rounds*(1000+7+300-10+16) {
				t.Fatalf("original: gas %d out of gas %v", full, oog)
			}
			for _, limit := range []int64{math.MaxInt64, full, full - 1, full / 2, 1000, 999, 1006, 1007, 1306, 1307, 0} {
				u1, o1, k1 := gasRun(t, wasm, false, limit, rounds)
				u2, o2, k2 := gasRun(t, out, true, limit, rounds)
				if u1 != u2 || o1 != o2 || k1 != k2 {
					t.Errorf("limit %d: original gas %d out %v rounds %d; rewritten gas %d out %v rounds %d", limit, u1, o1, k1, u2, o2, k2)
				}
			}
		})
	}
}

// TestInlineUsegasLeavesOthers: modules it cannot or need not rewrite come back as not rewritten, never broken.
func TestInlineUsegasLeavesOthers(t *testing.T) {
	for name, wat := range map[string]string{
		"no usegas":      `(module (func (export "f")))`,
		"usegas returns": `(module (import "metering" "usegas" (func (param i32) (result i32))) (func (drop (call 0 (i32.const 1)))))`,
		"usegas f64":     `(module (import "metering" "usegas" (func (param f64))) (func (call 0 (f64.const 1))))`,
		"exports the name": `(module (import "metering" "usegas" (func (param i32))) (global (export "aogo_gas") i32 (i32.const 0))
			(func (call 0 (i32.const 1))))`,
	} {
		wasm, err := wasmtime.Wat2Wasm(wat)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if out, ok, err := inlineUsegas(wasm); ok || out != nil || err != nil {
			t.Errorf("%s: rewritten (ok %v, err %v)", name, ok, err)
		}
	}
	if _, _, err := inlineUsegas([]byte("not wasm")); err == nil {
		t.Error("garbage accepted")
	}
}

// withUniqueSection appends a custom section that makes wasm's hash new to this process (and to the disk cache).
func withUniqueSection(t *testing.T, wasm []byte) []byte {
	name := fmt.Sprintf("aogo-test-%s-%d", t.Name(), time.Now().UnixNano())
	payload := append(binary.AppendUvarint(nil, uint64(len(name))), name...)
	out := append(bytes.Clone(wasm), 0x00)
	out = binary.AppendUvarint(out, uint64(len(payload)))
	return append(out, payload...)
}

// TestModuleCacheEveryRewrite: a plain module, the same bytes in a metering format, and a module that meters
// itself all go through the disk cache, each under a key of its own (a rewrite is never loaded for the plain
// module, nor the other way round), and a second start, with nothing compiled in the process, compiles none.
func TestModuleCacheEveryRewrite(t *testing.T) {
	selfMetering, err := wasmtime.Wat2Wasm(strings.ReplaceAll(gasWat, "@T@", "i32"))
	if err != nil {
		t.Fatal(err)
	}
	tiny := withUniqueSection(t, tinyModule())
	cases := []struct {
		wasm  []byte
		meter bool
		want  rewrite
	}{
		{tiny, false, rewriteNone},
		{tiny, true, rewriteMeter},
		{withUniqueSection(t, selfMetering), false, rewriteInlineGas},
	}
	dir := filepath.Join(t.TempDir(), "cache")
	keys := map[[32]byte]bool{}
	for start := 1; start <= 2; start++ {
		for i, tc := range cases {
			key, rw := cacheKey(sha256.Sum256(tc.wasm), tc.wasm, tc.meter)
			if rw != tc.want {
				t.Fatalf("case %d: rewrite %d, want %d", i, rw, tc.want)
			}
			keys[key] = true
			if start == 2 { // a new process: nothing compiled in memory
				compiledMu.Lock()
				delete(compiled, key)
				compiledMu.Unlock()
			}
			compiles := 0
			if _, err := compile(tc.wasm, dir, tc.meter, lowerNone, func() { compiles++ }); err != nil {
				t.Fatalf("case %d: %v", i, err)
			}
			if want := map[int]int{1: 1, 2: 0}[start]; compiles != want {
				t.Errorf("start %d, case %d: compiled %d times, want %d", start, i, compiles, want)
			}
		}
	}
	entries, _ := filepath.Glob(filepath.Join(dir, "*.cwasm"))
	if len(keys) != len(cases) || len(entries) != len(cases) {
		t.Fatalf("%d keys and %d cache entries for %d cases", len(keys), len(entries), len(cases))
	}
}

// FuzzInlineUsegas: any bytes are refused or rewritten without a panic, and a module wasmtime accepts stays
// valid once rewritten.
func FuzzInlineUsegas(f *testing.F) {
	for _, typ := range []string{"i32", "i64"} {
		if wasm, err := wasmtime.Wat2Wasm(strings.ReplaceAll(gasWat, "@T@", typ)); err == nil {
			f.Add(wasm)
		}
	}
	f.Add([]byte("\x00asm\x01\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		out, ok, err := inlineUsegas(b)
		if err != nil || !ok {
			if out != nil {
				t.Fatal("output without ok")
			}
			return
		}
		if !bytes.HasPrefix(out, b[:8]) {
			t.Fatal("header changed")
		}
		if wasmtime.ModuleValidate(sharedEngine(), b) != nil {
			return
		}
		if err := wasmtime.ModuleValidate(sharedEngine(), out); err != nil {
			t.Fatalf("valid module rewritten into an invalid one: %v", err)
		}
	})
}

// TestEdgeModulesMeterThemselves: the v1 and v2 edge modules call metering.usegas, and are rewritten, so
// TestEdgeDifferential (GasUsed and "out of gas!" against ao-loader) covers the inlined counter in both formats.
func TestEdgeModulesMeterThemselves(t *testing.T) {
	for _, mod := range edgeModules[:2] {
		wasm, err := os.ReadFile(mod.file)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok, err := inlineUsegas(wasm); !importsUsegas(wasm) || !ok || err != nil {
			t.Errorf("%s: imports usegas %v, rewritten %v (%v)", mod.file, importsUsegas(wasm), ok, err)
		}
	}
}
