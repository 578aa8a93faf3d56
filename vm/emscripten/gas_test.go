package emscripten

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aogo/aogo/aos"
	"github.com/aogo/aogo/internal/testenv"
	"github.com/aogo/aogo/vm"
)

// selfMetered is a module that meters itself (it imports metering.usegas and calls it per block), with a log
// to run it on and the Compute-Limit that log runs under.
type selfMetered struct {
	name, format string
	wasm         func(testing.TB) []byte
	log          func() [][]byte
	limit        uint64
}

// selfMeteredModules: our own aos module instrumented at test time by the reference's @permaweb/wasm-metering
// (what ao's dev-cli did to the builds of that time), and, when AOGO_AO_LOADER_TESTS names a copy of the
// permaweb/ao repository's loader/test directory, ao-loader's own self-metering test modules: aos 0.2.0 and
// the process.lua modules of the v1 and v2 formats (those are not published on npm).
func selfMeteredModules() []selfMetered {
	return []selfMetered{
		{"aogo-aos+wasm-metering", aos.Format, meteredAos, gasLog, 9e15},
		{"ao-aos-0.2.0", "wasm32-unknown-emscripten2", aoLoaderTestModule("aos"), gasLog, 9e15},
		{"ao-emscripten-v1", "wasm32-unknown-emscripten", aoLoaderTestModule("emscripten"), processLog, 1e10},
		{"ao-emscripten2", "wasm32-unknown-emscripten2", aoLoaderTestModule("emscripten2"), processLog, 1e10},
	}
}

// gasLog is diffLog with some messages that spend gas in Lua (loops, strings, tables): 24 messages. Its
// message 6 does without os.time(): after `os.time(), os.date(F, T)` in one message, the next os.date() spends a
// little other gas under ao-loader's v2 glue than here (~1e-4; same output; the same with usegas called through
// the host: a difference in a clock or time import, not in the gas accounting).
func gasLog() [][]byte {
	log := diffLog()
	log[6] = evalMsg(`return os.date("%Y-%m-%d %H:%M:%S %j %a %b", 86400*400)`)
	for i := range 9 {
		log = append(log, evalMsg(fmt.Sprintf(`local s, t = 0, {} for i = 1, %d do s = s + i %% 7; t[#t+1] = tostring(i) end return s + #table.concat(t, ",")`, 2000+i*500)))
	}
	return log
}

// processLog is for ao's test process.lua: an action it does not know loops until the Compute-Limit.
func processLog() [][]byte {
	log := [][]byte{}
	for i, a := range []string{"echo", "inc", "inc", "Date", "Random", "Spin", "inc", "echo", "Spin", "inc"} {
		log = append(log, msgFrom(testOwner, a, fmt.Sprintf("data %d", i)))
	}
	return log
}

var (
	meteredMu  sync.Mutex
	meteredBin []byte
)

// meteredAos is aos.Module instrumented by @permaweb/wasm-metering (testdata/meter.cjs), with i32 costs.
func meteredAos(t testing.TB) []byte {
	t.Helper()
	node := testenv.Node(t)
	nodeModules := testenv.NodeModules(t, "@permaweb/wasm-metering")
	meteredMu.Lock()
	defer meteredMu.Unlock()
	if meteredBin != nil {
		return meteredBin
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "aos.wasm"), filepath.Join(dir, "aos-metered.wasm")
	if err := os.WriteFile(in, aos.Module, 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(node, "testdata/meter.cjs", nodeModules, in, out, "i32").CombinedOutput(); err != nil {
		t.Fatalf("wasm-metering: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !importsUsegas(b) {
		t.Fatal("the instrumented module does not import metering.usegas")
	}
	meteredBin = b
	return b
}

// aoLoaderTestModule reads DIR/process.wasm of ao's loader/test directory (AOGO_AO_LOADER_TESTS), or skips.
func aoLoaderTestModule(dir string) func(testing.TB) []byte {
	return func(t testing.TB) []byte {
		t.Helper()
		root := os.Getenv("AOGO_AO_LOADER_TESTS")
		if root == "" {
			t.Skip("AOGO_AO_LOADER_TESTS (a copy of permaweb/ao's loader/test) is not set")
		}
		b, err := os.ReadFile(filepath.Join(root, dir, "process.wasm"))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
}

// refRun runs log through ao-loader (testdata/refrun.cjs) under limit.
func refRun(t *testing.T, wasm []byte, format string, log [][]byte, limit uint64) []map[string]json.RawMessage {
	t.Helper()
	node := testenv.Node(t)
	nodeModules := testenv.NodeModules(t, "@permaweb/ao-loader")
	procPath, msgsPath := writeRefLog(t, log)
	wasmPath := filepath.Join(filepath.Dir(procPath), "module.wasm")
	if err := os.WriteFile(wasmPath, wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "--experimental-wasm-memory64", "testdata/refrun.cjs", nodeModules, wasmPath, format, procPath, msgsPath, fmt.Sprint(limit))
	cmd.Env = append(os.Environ(), "TZ=UTC", "AOGO_REFRUN_INPUTS=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("reference loader: %v\n%s", err, stderr.String())
	}
	return readRefResults(t, out, len(log), stderr.String())
}

// ourRun feeds our machine the very strings the reference's handle() got (gas counts every byte parsed).
func ourRun(t *testing.T, wasm []byte, format string, ref []map[string]json.RawMessage, limit uint64) []vm.Result {
	t.Helper()
	m, err := vm.Open(format, wasm, vm.Options{ComputeLimit: limit})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var out []vm.Result
	for i := range ref {
		var msg, env string
		if json.Unmarshal(ref[i]["_msg"], &msg) != nil || json.Unmarshal(ref[i]["_env"], &env) != nil {
			t.Fatalf("message %d: reference did not echo its inputs", i)
		}
		r, err := m.Apply(context.Background(), []byte(msg), []byte(env))
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		out = append(out, r)
	}
	return out
}

// TestInlineGasDifferential: a module that meters itself, compiled with its usegas calls inlined, gives
// ao-loader's results and GasUsed on every message, and runs out of gas at the same message: under the log's
// limit, and, on the log up to its costliest message, under limits of exactly that message's gas (all pass: the
// glue stops only past the limit) and one less (it fails with "out of gas!", as in the reference).
func TestInlineGasDifferential(t *testing.T) {
	for _, mod := range selfMeteredModules() {
		t.Run(mod.name, func(t *testing.T) {
			wasm, log := mod.wasm(t), mod.log()
			if _, ok, err := inlineUsegas(wasm); err != nil || !ok {
				t.Fatalf("inlineUsegas: ok %v, %v", ok, err) // it would run, but through the host
			}
			ref := refRun(t, wasm, mod.format, log, mod.limit)
			ours := ourRun(t, wasm, mod.format, ref, mod.limit)
			var need uint64
			heaviest := 0
			outOfGas := compareGas(t, ref, ours)
			for i, r := range ours {
				if r.Error == "" && r.GasUsed > need {
					need, heaviest = r.GasUsed, i
				}
			}
			if need == 0 {
				t.Fatal("no message reported gas")
			}
			if mod.limit < 9e15 {
				if outOfGas == 0 {
					t.Fatalf("no message ran out of gas under %d", mod.limit)
				}
				// The process.lua modules' messages cost less than their boot, which the reference runs under
				// the Compute-Limit too (we boot under the default limit): no boundary below it to test.
				return
			}
			log = log[:heaviest+1] // what follows it cannot change where it stops
			for _, limit := range []uint64{need, need - 1} {
				ref := refRun(t, wasm, mod.format, log, limit)
				failed := compareGas(t, ref, ourRun(t, wasm, mod.format, ref, limit))
				if limit == need-1 && failed == 0 {
					t.Errorf("limit %d: no message out of gas, want at least message %d", limit, heaviest)
				}
				if limit == need && failed != 0 {
					t.Errorf("limit %d (the largest message's gas): %d messages out of gas, want none", limit, failed)
				}
			}
		})
	}
}

// compareGas compares our results with the reference's and returns how many ran out of gas. Up to the first
// that does, GasUsed must be equal on every message; after it only the results: the reference's glue leaves its
// globals (the stack pointer) where the trap left them, so its later messages run on another stack and their
// gas differs a little, where we roll the whole instance back.
func compareGas(t *testing.T, ref []map[string]json.RawMessage, ours []vm.Result) (outOfGas int) {
	t.Helper()
	for i := range ref {
		r := ours[i]
		if outOfGas > 0 {
			r.GasUsed = 0
			delete(ref[i], "GasUsed")
		}
		for _, k := range []string{"Messages", "Spawns", "Assignments"} {
			if _, ok := ref[i][k]; !ok { // process.lua returns only Output: the loader passes undefined on
				ref[i][k] = json.RawMessage("[]")
			}
		}
		if _, ok := ref[i]["GasUsed"]; !ok && outOfGas > 0 {
			ref[i]["GasUsed"] = json.RawMessage("0")
		}
		compareResult(t, i, ref[i], r, false)
		if r.Error == errOutOfGas.Error() {
			outOfGas++
		}
	}
	return outOfGas
}

// BenchmarkSelfMetering: the log of each self-metering module under ao-loader (node, the same run) and under
// us, with the usegas calls inlined (inline) and as host calls (host, how they ran before). Only the messages
// are timed, on a fresh instance each round. Reports the medians and ao-loader's median over ours (x-vs-ref).
// The host variant takes minutes a round (-bench 'SelfMetering/.*/inline' leaves it out); the total GasUsed up to
// the first message out of gas must be ao-loader's in both.
//
//	AOGO_AO_LOADER_TESTS=…/ao/loader/test go test -run '^$' -bench SelfMetering -benchtime 7x ./vm/emscripten
func BenchmarkSelfMetering(b *testing.B) {
	const rounds = 7
	for _, mod := range selfMeteredModules() {
		b.Run(mod.name, func(b *testing.B) {
			wasm, log := mod.wasm(b), mod.log()
			refMS, refGas := refBench(b, wasm, mod.format, log, mod.limit, rounds)
			for _, mode := range []string{"inline", "host"} {
				b.Run(mode, func(b *testing.B) {
					noInlineGas = mode == "host"
					defer func() { noInlineGas = false }()
					var times []float64
					var gas uint64
					for b.Loop() {
						ms, g := ourBench(b, wasm, mod.format, log, mod.limit)
						times, gas = append(times, ms), g
					}
					if gas != refGas {
						b.Errorf("total GasUsed %d, ao-loader %d", gas, refGas)
					}
					ours := median(times)
					b.ReportMetric(ours, "ms/log")
					b.ReportMetric(refMS, "ref-ms/log")
					b.ReportMetric(refMS/ours, "x-vs-ref")
				})
			}
		})
	}
}

func ourBench(b *testing.B, wasm []byte, format string, log [][]byte, limit uint64) (ms float64, gas uint64) {
	m, err := vm.Open(format, wasm, vm.Options{ComputeLimit: limit})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	env := []byte(`{"Process":{"Id":"` + testPID + `","Owner":"` + testOwner + `","Tags":[]},"Module":{"Id":"` + moduleID(wasm) + `","Owner":"","Tags":[]}}`)
	start := time.Now()
	threw := false
	for _, msg := range log {
		r, err := m.Apply(context.Background(), msg, env)
		if err != nil {
			b.Fatal(err)
		}
		threw = threw || r.Error == errOutOfGas.Error() // as refbench.cjs counts (see compareGas)
		if !threw {
			gas += r.GasUsed
		}
	}
	return float64(time.Since(start).Microseconds()) / 1e3, gas
}

// refBench runs testdata/refbench.cjs and returns the median milliseconds and the total gas of a round.
func refBench(b *testing.B, wasm []byte, format string, log [][]byte, limit uint64, rounds int) (float64, uint64) {
	node := testenv.Node(b)
	nodeModules := testenv.NodeModules(b, "@permaweb/ao-loader")
	dir := b.TempDir()
	var msgs bytes.Buffer
	for _, m := range log {
		msgs.Write(m)
		msgs.WriteByte('\n')
	}
	files := map[string][]byte{"module.wasm": wasm, "msgs.jsonl": msgs.Bytes(),
		"proc.json": []byte(`{"Id":"` + testPID + `","Owner":"` + testOwner + `","Tags":[]}`)}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	cmd := exec.Command(node, "--experimental-wasm-memory64", "testdata/refbench.cjs", nodeModules, filepath.Join(dir, "module.wasm"),
		format, filepath.Join(dir, "proc.json"), filepath.Join(dir, "msgs.jsonl"), fmt.Sprint(limit), fmt.Sprint(rounds))
	cmd.Env = append(os.Environ(), "TZ=UTC")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("refbench: %v\n%s", err, stderr.String())
	}
	var times []float64
	var gas uint64
	for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		var r struct {
			MS  float64
			Gas uint64
		}
		if err := json.Unmarshal(line, &r); err != nil {
			b.Fatalf("refbench output %q: %v", line, err)
		}
		times, gas = append(times, r.MS), r.Gas
	}
	return median(times), gas
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}
