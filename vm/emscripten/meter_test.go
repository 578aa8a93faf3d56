package emscripten

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/aogo/aogo/internal/testenv"
	"github.com/aogo/aogo/vm"
	"github.com/bytecodealliance/wasmtime-go/v39"
)

// TestMeteringMatchesReference: the reference's own @permaweb/wasm-metering rewrites the real aos modules; run
// in our machine as natively metered modules (they then import metering.usegas, called per segment), they must
// use exactly the gas our meterModule rewrite reports for the metering formats, message by message, with the
// same outputs: same cuts, same costs.
func TestMeteringMatchesReference(t *testing.T) {
	node := testenv.Node(t)
	nodeModules := testenv.NodeModules(t, "@permaweb/wasm-metering")
	for _, tc := range []struct{ name, plain, metering, meterType string }{
		{"aos2_0_4_32", "wasm32-unknown-emscripten4", "wasm32-unknown-emscripten-metering", "i32"},
		{"aos2_0_6", "wasm64-unknown-emscripten-draft_2024_02_15", "wasm64-unknown-emscripten-draft_2024_10_16-metering", "i64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // the reference-metered module calls the host per segment: ~30 s each
			refPath := filepath.Join(t.TempDir(), "ref-metered.wasm")
			cmd := exec.Command(node, "testdata/meter.cjs", nodeModules, testenv.WaoModule(t, tc.name), refPath, tc.meterType)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("reference wasm-metering: %v\n%s", err, out)
			}
			refWasm, err := os.ReadFile(refPath)
			if err != nil {
				t.Fatal(err)
			}
			ref, err := vm.Open(tc.plain, refWasm, vm.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer ref.Close()
			ours, err := vm.Open(tc.metering, realWasm(t, tc.name), vm.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer ours.Close()
			env := testEnv()
			for i, msg := range diffLog() {
				a, err1 := ref.Apply(context.Background(), msg, env)
				b, err2 := ours.Apply(context.Background(), msg, env)
				if err1 != nil || err2 != nil {
					t.Fatalf("message %d: %v / %v", i, err1, err2)
				}
				if a.GasUsed == 0 || a.GasUsed != b.GasUsed || a.Error != b.Error || string(a.Output) != string(b.Output) {
					t.Fatalf("message %d: reference-metered gas %d error %q, ours gas %d error %q", i, a.GasUsed, a.Error, b.GasUsed, b.Error)
				}
			}
		})
	}
}

// TestMeteringOutOfGas: a metering-format process runs out where its gas passes the Compute-Limit, with the
// reference's error, and its memory is as before the message; a limit of exactly the gas it needs lets it through.
func TestMeteringOutOfGas(t *testing.T) {
	const format = "wasm32-unknown-emscripten-metering"
	wasm := realWasm(t, "aos2_0_4_32")
	booted, err := vm.Open(format, wasm, vm.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustApply(t, booted, bootMsg())
	var snap bytes.Buffer
	if _, err := booted.Snapshot(&snap); err != nil {
		t.Fatal(err)
	}
	heavy := evalMsg(`local t = {}; for i = 1, 20000 do t[i] = tostring(i) end; return #table.concat(t)`)
	need := mustApply(t, booted, heavy).GasUsed
	booted.Close()
	if need == 0 {
		t.Fatal("no gas reported")
	}
	for _, tc := range []struct {
		limit uint64
		fail  bool
	}{{need - 1, true}, {need, false}} {
		// The booted state under the limit: only the heavy message is measured against it.
		m, err := vm.Restore(format, wasm, vm.Options{ComputeLimit: tc.limit}, bytes.NewReader(snap.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		before := m.MemoryHash()
		r, err := m.Apply(context.Background(), heavy, testEnv())
		if err != nil {
			t.Fatal(err)
		}
		if tc.fail {
			if r.Error != "out of gas!" || m.MemoryHash() != before {
				t.Fatalf("limit %d (need %d): error %q, memory changed %v", tc.limit, need, r.Error, m.MemoryHash() != before)
			}
		} else if r.Error != "" || r.GasUsed != need {
			t.Fatalf("limit %d: error %q gas %d, want success using %d", tc.limit, r.Error, r.GasUsed, need)
		}
		m.Close()
	}
}

// tinyModule is a valid module with a function import, a global, an exported function that loops, calls and
// branches, an element segment and a start function: every index meterModule moves.
func tinyModule() []byte {
	sec := func(id byte, payload ...byte) []byte {
		return append(append([]byte{id}, binary.AppendUvarint(nil, uint64(len(payload)))...), payload...)
	}
	body := func(code ...byte) []byte { // no locals
		return append(binary.AppendUvarint(nil, uint64(len(code)+1)), append([]byte{0x00}, code...)...)
	}
	m := []byte("\x00asm\x01\x00\x00\x00")
	m = append(m, sec(1, 0x02, 0x60, 0x00, 0x00, 0x60, 0x01, 0x7f, 0x00)...) // ()->(), (i32)->()
	m = append(m, sec(2, 0x01, 0x01, 'e', 0x01, 'f', 0x00, 0x01)...)         // import e.f: func 0, (i32)->()
	m = append(m, sec(3, 0x02, 0x00, 0x00)...)                               // funcs 1 and 2: ()->()
	m = append(m, sec(4, 0x01, 0x70, 0x00, 0x01)...)                         // table funcref min 1
	m = append(m, sec(6, 0x01, 0x7f, 0x01, 0x41, 0x00, 0x0b)...)             // global mut i32 = 0
	m = append(m, sec(7, 0x01, 0x01, 'g', 0x00, 0x01)...)                    // export "g" = func 1
	m = append(m, sec(8, 0x02)...)                                           // start = func 2
	m = append(m, sec(9, 0x01, 0x00, 0x41, 0x00, 0x0b, 0x01, 0x02)...)       // elem at 0: [func 2]
	// func 1: loop { global.get 0; i32.const 1; i32.add; global.set 0; global.get 0; i32.const 10; i32.lt_s;
	// br_if 0 } end; call 2; i32.const 42; call 0; end
	f1 := body(0x03, 0x40, 0x23, 0x00, 0x41, 0x01, 0x6a, 0x24, 0x00, 0x23, 0x00, 0x41, 0x0a, 0x48, 0x0d, 0x00, 0x0b,
		0x10, 0x02, 0x41, 0x2a, 0x10, 0x00, 0x0b)
	f2 := body(0x01, 0x0b) // nop; end
	m = append(m, sec(10, append(append([]byte{0x02}, f1...), f2...)...)...)
	return m
}

func TestMeterModuleTiny(t *testing.T) {
	in := tinyModule()
	if err := wasmtime.ModuleValidate(sharedEngine(), in); err != nil {
		t.Fatalf("the test module itself: %v", err)
	}
	out, err := meterModule(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := wasmtime.ModuleValidate(sharedEngine(), out); err != nil {
		t.Fatalf("metered module does not validate: %v", err)
	}
	// Run it: the loop runs 10 times; gas is the segments' costs as the reference counts them.
	store := wasmtime.NewStore(sharedEngine())
	store.SetFuel(1 << 40)
	// The shared engine interrupts on epochs (instances install a callback; this bare store has none): a
	// deadline no epoch reaches, or any interrupt other tests caused would stop it.
	store.SetEpochDeadline(1 << 62)
	mod, err := wasmtime.NewModule(sharedEngine(), out)
	if err != nil {
		t.Fatal(err)
	}
	var got []int32
	f := wasmtime.WrapFunc(store, func(x int32) { got = append(got, x) })
	oog := wasmtime.WrapFunc(store, func() { t.Fatal("out of gas with a 2^62 limit") })
	inst, err := wasmtime.NewInstance(store, mod, []wasmtime.AsExtern{f, oog})
	if err != nil {
		t.Fatal(err)
	}
	gas := inst.GetExport(store, meterGasExport).Global()
	limit := inst.GetExport(store, meterLimitExp).Global()
	gas.Set(store, wasmtime.ValI64(0))
	limit.Set(store, wasmtime.ValI64(1<<62))
	if _, err := inst.GetFunc(store, "g").Call(store); err != nil {
		t.Fatal(err)
	}
	// Func 1's segments: [loop] = 1; [global.get, i32.const, i32.add, global.set, global.get, i32.const, i32.lt_s,
	// br_if] = 120+1+45+120+120+1+45+90 = 542, ten times; [end] (of the loop) = 0, not charged; [call 2,
	// i32.const, call 0, end] = 90+1+90 = 181. Func 2 (run by the call): [nop, end] = 1. Each charged segment
	// costs 91 more for the metering statement. (The start function ran at instantiation, before the reset.)
	want := int64((1 + 91) + 10*(542+91) + (181 + 91) + (1 + 91))
	if g := gas.Get(store).I64(); g != want || len(got) != 1 || got[0] != 42 {
		t.Fatalf("gas %d, want %d; calls %v", g, want, got)
	}
}

// FuzzMeterModule: any bytes are refused or rewritten without a panic, and a module wasmtime accepts stays valid
// once metered.
func FuzzMeterModule(f *testing.F) {
	f.Add(tinyModule())
	f.Add([]byte("\x00asm\x01\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := meterModule(b)
		if err != nil || wasmtime.ModuleValidate(sharedEngine(), b) != nil {
			return
		}
		if err := wasmtime.ModuleValidate(sharedEngine(), out); err != nil {
			t.Fatalf("valid module metered into an invalid one: %v", err)
		}
	})
}
