package emscripten

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/aogo/aogo/aos"
	"github.com/aogo/aogo/vm"
	"github.com/bytecodealliance/wasmtime-go/v39"
)

// lowerWat exercises every operator lowerMemory64 rewrites, each behind an export taking i64 operands.
const lowerWat = `(module
  (memory (export "memory") i64 1 3)
  (data (i64.const 16) "\01\02\03\04\05\06\07\08\09\0a\0b\0c\0d\0e\0f\10")
  (data $p "passive segment!")
  (data (i64.const 48) "\01\00\80\7f\01\00\c0\ff\ff\ff\ff\7f")
  (func (export "load8") (param i64) (result i32) (i32.load8_u (local.get 0)))
  (func (export "load32off") (param i64) (result i32) (i32.load offset=65532 (local.get 0)))
  (func (export "load64") (param i64) (result i64) (i64.load (local.get 0)))
  (func (export "store16") (param i64 i32) (i32.store16 (local.get 0) (local.get 1)))
  (func (export "store64") (param i64 i64) (i64.store offset=8 (local.get 0) (local.get 1)))
  (func (export "storef32") (param i64 f32) (f32.store (local.get 0) (local.get 1)))
  (func (export "storef64") (param i64 f64) (f64.store (local.get 0) (local.get 1)))
  ;; ggml's table lookup: a 16-bit load, shifted, plus a constant: proven below 2^32
  (func (export "table") (param i64) (result i32)
    (i32.load (i64.add (i64.shl (i64.load16_u (local.get 0)) (i64.const 2)) (i64.const 1024))))
  ;; the same shape with a bound that is not below 2^32: checked
  (func (export "tablefar") (param i64) (result i32)
    (i32.load (i64.add (i64.shl (i64.load32_u (local.get 0)) (i64.const 2)) (i64.const 1024))))
  (func (export "lane") (param i64 i64) (result i32)
    (i32x4.extract_lane 3
      (v128.load32_lane 3 (local.get 1)
        (v128.load32_lane 1 (i64.add (i64.shl (i64.load16_u (local.get 0)) (i64.const 2)) (i64.const 64))
          (v128.load32_splat (local.get 0))))))
  ;; the table lookup, narrowed, with its constant moved into an access's offset: a load, a lane load under
  ;; a vector, a store under a value; and one whose constant and offset together do not fit 32 bits
  (func (export "tablelane") (param i64 i64) (result i32)
    (i64.store offset=8 (i64.add (i64.shl (i64.load16_u (local.get 0)) (i64.const 3)) (i64.const 64))
      (i64.load offset=4 (i64.add (i64.shl (i64.load8_u (local.get 1)) (i64.const 1)) (i64.const 16))))
    (i32x4.extract_lane 1
      (v128.load32_lane 1 (i64.add (i64.shl (i64.load16_u (local.get 1)) (i64.const 2)) (i64.const 100))
        (v128.const i32x4 0 0 0 0))))
  (func (export "tableoff") (param i64) (result i32)
    (i32.load offset=4294966272 (i64.add (i64.shl (i64.load16_u (local.get 0)) (i64.const 2)) (i64.const 1024))))
  ;; vectors built from signalling and negative NaNs: their bits must reach memory unchanged
  (func (export "lanenan") (param i64)
    (v128.store (i64.const 96)
      (v128.load32_lane 3 (i64.const 52)
        (v128.load32_lane 1 (local.get 0) (v128.load32_splat (i64.const 48))))))
  (func (export "v128") (param i64 i64) (result i32)
    (v128.store (local.get 1) (v128.load (local.get 0)))
    (i32x4.extract_lane 2 (v128.load64_zero (local.get 1))))
  (func (export "storelane") (param i64) (v128.store8_lane 5 (local.get 0) (v128.const i32x4 1 2 3 4)))
  ;; a checked local proves later reads of it, until it is set again
  (func (export "facts") (param i64 i64) (result i32) (local i32)
    local.get 0  i32.load8_u
    local.get 0  i32.load8_u offset=1
    i32.add
    local.set 2
    local.get 0  local.get 1  i64.add  local.set 0
    local.get 2
    local.get 0  i32.load8_u offset=2
    i32.add)
  ;; a check of a value read before its local was set again proves nothing about the local's new value
  (func (export "stale") (param i64 i64) (result i32)
    local.get 0
    local.get 1
    local.set 0
    i32.load8_u
    local.get 0
    i32.load8_u
    i32.add)
  (func (export "size") (result i64) (memory.size))
  (func (export "grow") (param i64) (result i64) (memory.grow (local.get 0)))
  (func (export "copy") (param i64 i64 i64) (memory.copy (local.get 0) (local.get 1) (local.get 2)))
  (func (export "fill") (param i64 i32 i64) (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "init") (param i64 i32 i32) (memory.init $p (local.get 0) (local.get 1) (local.get 2)))
  (func (export "drop") (data.drop $p))
  (func (export "sum") (param i64 i64) (result i64) (local i64)
    (block $done (loop $l
      (br_if $done (i64.ge_u (local.get 0) (local.get 1)))
      (local.set 2 (i64.add (local.get 2) (i64.load8_u (local.get 0))))
      (local.set 0 (i64.add (local.get 0) (i64.const 1)))
      (br $l)))
    (local.get 2)))`

// lowerCall is one call of the differential test.
type lowerCall struct {
	fn   string
	args []any
}

// TestLowerMemory64 runs the same calls on the module as it is, lowered to a 32-bit memory and in the
// lowering's shadow, and wants the same results, the same traps and the same memory after every call;
// the lowered module and its shadow must also burn the same fuel on each call.
func TestLowerMemory64(t *testing.T) {
	wasm, err := wasmtime.Wat2Wasm(lowerWat)
	if err != nil {
		t.Fatal(err)
	}
	lowered, err := lowerMemory64(wasm, true)
	if err != nil {
		t.Fatal(err)
	}
	shadow, err := lowerMemory64(wasm, false)
	if err != nil {
		t.Fatal(err)
	}
	const page = 65536
	huge := []uint64{1 << 32, 1<<32 + 16, math.MaxUint64, math.MaxUint64 - 3, 1 << 63}
	var calls []lowerCall
	addrs := []uint64{0, 16, 17, page - 8, page - 4, page - 1, page, page + 1, 2*page - 1, 3*page - 1}
	addrs = append(addrs, huge...)
	for _, a := range addrs {
		calls = append(calls,
			lowerCall{"load8", []any{int64(a)}}, lowerCall{"load32off", []any{int64(a)}}, lowerCall{"load64", []any{int64(a)}},
			lowerCall{"store16", []any{int64(a), int32(0x4142)}}, lowerCall{"store64", []any{int64(a), int64(-2)}},
			lowerCall{"storef32", []any{int64(a), float32(1.5)}}, lowerCall{"storef64", []any{int64(a), float64(-2.25)}},
			lowerCall{"table", []any{int64(a)}}, lowerCall{"tablefar", []any{int64(a)}},
			lowerCall{"lane", []any{int64(a), int64(16)}}, lowerCall{"lane", []any{int64(16), int64(a)}},
			lowerCall{"v128", []any{int64(a), int64(32)}}, lowerCall{"v128", []any{int64(0), int64(a)}},
			lowerCall{"tablelane", []any{int64(a), int64(16)}}, lowerCall{"tablelane", []any{int64(16), int64(a)}},
			lowerCall{"tableoff", []any{int64(a)}}, lowerCall{"lanenan", []any{int64(a)}},
			lowerCall{"storelane", []any{int64(a)}},
			lowerCall{"fill", []any{int64(a), int32(7), int64(3)}}, lowerCall{"fill", []any{int64(a), int32(9), int64(0)}},
			lowerCall{"copy", []any{int64(a), int64(16), int64(5)}}, lowerCall{"copy", []any{int64(16), int64(a), int64(5)}},
			lowerCall{"copy", []any{int64(a), int64(a), int64(0)}},
			lowerCall{"init", []any{int64(a), int32(2), int32(4)}}, lowerCall{"init", []any{int64(a), int32(0), int32(0)}},
			lowerCall{"facts", []any{int64(a), int64(0)}}, lowerCall{"facts", []any{int64(a), int64(1 << 32)}},
			lowerCall{"facts", []any{int64(a), int64(-a)}},
			lowerCall{"stale", []any{int64(16), int64(a)}}, lowerCall{"stale", []any{int64(a), int64(16)}},
		)
	}
	for _, n := range huge {
		calls = append(calls, lowerCall{"fill", []any{int64(0), int32(1), int64(n)}}, lowerCall{"copy", []any{int64(0), int64(0), int64(n)}},
			lowerCall{"grow", []any{int64(n)}})
	}
	calls = append(calls,
		lowerCall{"size", nil}, lowerCall{"grow", []any{int64(1)}}, lowerCall{"size", nil}, lowerCall{"load8", []any{int64(2*page - 1)}},
		lowerCall{"grow", []any{int64(5)}}, lowerCall{"grow", []any{int64(1)}}, lowerCall{"grow", []any{int64(0)}}, lowerCall{"size", nil},
		lowerCall{"sum", []any{int64(0), int64(64)}}, lowerCall{"init", []any{int64(3*page - 16), int32(0), int32(16)}},
		lowerCall{"init", []any{int64(3*page - 15), int32(0), int32(16)}}, lowerCall{"init", []any{int64(0), int32(10), int32(7)}},
		lowerCall{"drop", nil}, lowerCall{"init", []any{int64(0), int32(0), int32(0)}}, lowerCall{"init", []any{int64(0), int32(0), int32(1)}},
		lowerCall{"fill", []any{int64(3*page - 4), int32(3), int64(4)}}, lowerCall{"fill", []any{int64(3*page - 4), int32(3), int64(5)}},
		lowerCall{"copy", []any{int64(3 * page), int64(3 * page), int64(0)}}, lowerCall{"copy", []any{int64(1), int64(0), int64(3*page - 1)}},
	)

	type run struct {
		name  string
		store *wasmtime.Store
		inst  *wasmtime.Instance
		mem   *wasmtime.Memory
	}
	newRun := func(name string, b []byte) *run {
		cfg := wasmtime.NewConfig()
		cfg.SetWasmMemory64(true)
		cfg.SetConsumeFuel(true)
		cfg.SetCraneliftNanCanonicalization(true) // as sharedEngine: lanes loaded as floats must keep NaN bits
		eng := wasmtime.NewEngineWithConfig(cfg)
		mod, err := wasmtime.NewModule(eng, b)
		if err != nil {
			t.Fatalf("%s: compile: %v", name, err)
		}
		store := wasmtime.NewStore(eng)
		inst, err := wasmtime.NewInstance(store, mod, nil)
		if err != nil {
			t.Fatalf("%s: instantiate: %v", name, err)
		}
		return &run{name: name, store: store, inst: inst, mem: inst.GetExport(store, "memory").Memory()}
	}
	runs := []*run{newRun("memory64", wasm), newRun("lowered", lowered), newRun("shadow", shadow)}
	if runs[1].mem.Type(runs[1].store).Is64() || !runs[2].mem.Type(runs[2].store).Is64() {
		t.Fatal("the lowered memory should be 32-bit and the shadow's 64-bit")
	}
	traps := 0
	for i, c := range calls {
		var outs [3]string
		var fuel [3]uint64
		for k, r := range runs {
			if err := r.store.SetFuel(1 << 40); err != nil {
				t.Fatal(err)
			}
			got, err := r.inst.GetFunc(r.store, c.fn).Call(r.store, c.args...)
			left, _ := r.store.GetFuel()
			fuel[k] = 1<<40 - left
			if err != nil {
				got = "trap: " + trapText(err)
			}
			outs[k] = fmt.Sprintf("%v", got)
		}
		if strings0 := outs[0]; len(strings0) > 5 && strings0[:5] == "trap:" {
			traps++
		}
		what := fmt.Sprintf("call %d %s%v", i, c.fn, c.args)
		if outs[1] != outs[0] || outs[2] != outs[0] {
			t.Errorf("%s: memory64 %s, lowered %s, shadow %s", what, outs[0], outs[1], outs[2])
		}
		if fuel[1] != fuel[2] {
			t.Errorf("%s: fuel lowered %d, shadow %d", what, fuel[1], fuel[2])
		}
		m0 := runs[0].mem.UnsafeData(runs[0].store)
		for _, r := range runs[1:] {
			if m := r.mem.UnsafeData(r.store); !bytes.Equal(m, m0) {
				t.Fatalf("%s: %s memory differs from memory64 (%d vs %d bytes)", what, r.name, len(m), len(m0))
			}
		}
	}
	if traps < len(calls)/4 || traps == len(calls) {
		t.Errorf("%d of %d calls trapped: the cases should cover both", traps, len(calls))
	}
}

// TestNarrowScaled: a scaled index is narrowed (a 32-bit shift, its constant in the access's offset) exactly
// when its one use is an access's address and the sum fits 32 bits. What it does is checked against the
// original by TestLowerMemory64; this checks that it happens, and only when it may.
func TestNarrowScaled(t *testing.T) {
	const scaled = `(i64.add (i64.shl (i64.load16_u (local.get 0)) (i64.const 2)) (i64.const 1024))`
	for _, c := range []struct {
		body   string
		narrow bool
	}{
		{`(i32.load offset=4 ` + scaled + `)`, true},
		{`(i32x4.extract_lane 0 (v128.load32_lane 1 ` + scaled + ` (v128.load (local.get 0))))`, true},
		{`(i32.store ` + scaled + ` (i32.load (local.get 0))) (i32.const 0)`, true},
		{`(i32.load (local.tee 0 ` + scaled + `))`, false},                               // also kept in a local
		{`(i32.wrap_i64 ` + scaled + `)`, false},                                         // not an address
		{`(i32.store (local.get 0) (i32.wrap_i64 ` + scaled + `)) (i32.const 0)`, false}, // the stored value
		{`(i32.load offset=4294966272 ` + scaled + `)`, false},                           // offset + 1024 >= 2^32
		{`(i32.load (i64.add (i64.shl (i64.load32_u (local.get 0)) (i64.const 2)) (i64.const 1024)))`, false},
		{`(block (result i64) ` + scaled + `) (i32.load)`, false}, // control flow before the use
	} {
		wasm, err := wasmtime.Wat2Wasm(`(module (memory i64 1) (func (param i64) (result i32) ` + c.body + `))`)
		if err != nil {
			t.Fatalf("%s: %v", c.body, err)
		}
		lowered, err := lowerMemory64(wasm, true)
		if err != nil {
			t.Fatalf("%s: %v", c.body, err)
		}
		if _, err := wasmtime.NewModule(wasmtime.NewEngine(), lowered); err != nil {
			t.Fatalf("%s: lowered module invalid: %v", c.body, err)
		}
		got := bytes.Contains(lowered, []byte{0xa7, 0x41, 0x02, 0x74}) // i32.wrap_i64 i32.const 2 i32.shl
		if got != c.narrow {
			t.Errorf("%s: narrowed %v, want %v", c.body, got, c.narrow)
		}
	}
}

// trapText is a trap's message without wasmtime's backtrace.
func trapText(err error) string {
	if tr, ok := err.(*wasmtime.Trap); ok {
		if code := tr.Code(); code != nil {
			return fmt.Sprint(*code)
		}
		return tr.Message()
	}
	return oneLine(err)
}

// TestLowerRefuses: what the pass cannot prove it handles is left as it is.
func TestLowerRefuses(t *testing.T) {
	for name, wat := range map[string]string{
		"wasm32":          `(module (memory 1))`,
		"imported memory": `(module (import "env" "m" (memory i64 1)))`,
		"big offset":      `(module (memory i64 1) (func (param i64) (result i32) (i32.load offset=4294967296 (local.get 0))))`,
		"too big":         `(module (memory i64 65537))`,
		"global offset":   `(module (global i64 (i64.const 0)) (memory i64 1) (data (global.get 0) "x"))`,
	} {
		wasm, err := wasmtime.Wat2Wasm(wat)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, wrap := range []bool{true, false} { // compile relies on the shadow refusing what lowering refuses
			if _, err := lowerMemory64(wasm, wrap); err == nil {
				t.Errorf("%s: lowered (wrap %v)", name, wrap)
			}
		}
	}
}

// FuzzLowerMemory64: any bytes are refused or lowered without a panic, and a module wasmtime accepts stays
// valid once lowered, and once shadowed.
func FuzzLowerMemory64(f *testing.F) {
	if wasm, err := wasmtime.Wat2Wasm(lowerWat); err == nil {
		f.Add(wasm)
	}
	f.Add([]byte("\x00asm\x01\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		valid := wasmtime.ModuleValidate(sharedEngine(), b) == nil
		for _, wrap := range []bool{true, false} {
			out, err := lowerMemory64(b, wrap)
			if err != nil {
				continue
			}
			if !bytes.HasPrefix(out, b[:8]) {
				t.Fatal("header changed")
			}
			if valid {
				if err := wasmtime.ModuleValidate(sharedEngine(), out); err != nil {
					t.Fatalf("valid module (wrap %v) lowered into an invalid one: %v", wrap, err)
				}
			}
		}
	})
}

// TestLowerKeepsFormatCheck: a wasm32 module opened in a wasm64 format is still refused with the mismatch,
// whether or not the machine would lower a wasm64 module.
func TestLowerKeepsFormatCheck(t *testing.T) {
	for _, limit := range []uint64{1 << 30, 0} {
		_, err := vm.Open("wasm64-unknown-emscripten-draft_2024_02_15", aos.Module, vm.Options{MemoryLimit: limit})
		if err == nil || !strings.Contains(err.Error(), "memory32") {
			t.Errorf("cap %d: %v, want the memory32/memory64 mismatch", limit, err)
		}
	}
}
