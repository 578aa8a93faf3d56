package emscripten

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"testing"
	"time"

	"github.com/aogo/aogo/vm"
)

const pingHandler = `Handlers.add("ping", Handlers.utils.hasMatchingTag("Action","Ping"), function(m) ao.send({Target = m.From, Data = "pong"}) end); return "ok"`

// BenchmarkHotEval: one message through a simple aos handler on a hot instance.
func BenchmarkHotEval(b *testing.B) {
	for _, mod := range benchModules {
		b.Run(mod.name, func(b *testing.B) {
			m := openBooted(b, mod.name, mod.format, vm.Options{})
			mustApply(b, m, evalMsg(pingHandler))
			env := testEnv()
			b.ResetTimer()
			cpu := cpuNow()
			for b.Loop() {
				r, err := m.Apply(context.Background(), msgFrom("SOMEONE", "Ping", ""), env)
				if err != nil || r.Error != "" || len(r.Messages) != 1 {
					b.Fatalf("%v %q", err, r.Error)
				}
			}
			reportCPU(b, cpu, b.N)
		})
	}
}

// BenchmarkColdStart: instantiate + start-up + the boot message (the module is already compiled).
func BenchmarkColdStart(b *testing.B) {
	for _, mod := range benchModules {
		b.Run(mod.name, func(b *testing.B) {
			wasm := realWasm(b, mod.name)
			if _, err := compile(wasm, "", false, lowerNone, nil); err != nil {
				b.Fatal(err)
			}
			boot := bootMsg()
			b.ResetTimer()
			cpu := cpuNow()
			for b.Loop() {
				m, err := vm.Open(mod.format, wasm, vm.Options{})
				if err != nil {
					b.Fatal(err)
				}
				if r, err := m.Apply(context.Background(), boot, testEnv()); err != nil || r.Error != "" {
					b.Fatal(err, r.Error)
				}
				m.Close()
			}
			reportCPU(b, cpu, b.N)
		})
	}
}

// BenchmarkReplay: a 1,000-message log (a counter handler) from a fresh machine; reports msg/s.
func BenchmarkReplay(b *testing.B) {
	for _, mod := range benchModules {
		b.Run(mod.name, func(b *testing.B) {
			wasm := realWasm(b, mod.name)
			log := [][]byte{bootMsg(), evalMsg(`N = 0; Handlers.add("inc", Handlers.utils.hasMatchingTag("Action","Inc"), function(m) N = N + 1 end)`)}
			for range 1000 {
				log = append(log, msgFrom("SOMEONE", "Inc", "x"))
			}
			env := testEnv()
			var total time.Duration
			cpu := cpuNow()
			for b.Loop() {
				start := time.Now()
				m, err := vm.Open(mod.format, wasm, vm.Options{})
				if err != nil {
					b.Fatal(err)
				}
				for _, msg := range log {
					if r, err := m.Apply(context.Background(), msg, env); err != nil || r.Error != "" {
						b.Fatal(err, r.Error)
					}
				}
				m.Close()
				total += time.Since(start)
			}
			b.ReportMetric(float64(len(log)*b.N)/total.Seconds(), "msg/s")
			b.ReportMetric(float64(len(log)*b.N)/(cpuNow()-cpu).Seconds(), "msg/cpu-s")
		})
	}
}

// BenchmarkSnapshot: write a snapshot of a booted aos process (reports its size), and restore it.
func BenchmarkSnapshot(b *testing.B) {
	for _, mod := range benchModules {
		m := openBooted(b, mod.name, mod.format, vm.Options{})
		mustApply(b, m, evalMsg(pingHandler))
		var snap bytes.Buffer
		if _, err := m.Snapshot(&snap); err != nil {
			b.Fatal(err)
		}
		b.Run(mod.name+"/write", func(b *testing.B) {
			cpu := cpuNow()
			for b.Loop() {
				if _, err := m.Snapshot(io.Discard); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu, b.N)
			b.ReportMetric(float64(snap.Len()), "bytes")
			b.ReportMetric(float64(m.MemorySize()), "mem-bytes")
		})
		b.Run(mod.name+"/restore", func(b *testing.B) {
			cpu := cpuNow()
			for b.Loop() {
				r, err := vm.Restore(mod.format, realWasm(b, mod.name), vm.Options{}, bytes.NewReader(snap.Bytes()))
				if err != nil {
					b.Fatal(err)
				}
				r.Close()
			}
			reportCPU(b, cpu, b.N)
		})
	}
}

// BenchmarkMemoryHash: the memory hash after a message (what the CU attests after each evaluation run),
// against SHA-256 of the raw memory (the hash before the page hash existed). Only the hashing is timed.
func BenchmarkMemoryHash(b *testing.B) {
	for _, mod := range benchModules {
		m := openBooted(b, mod.name, mod.format, vm.Options{})
		mustApply(b, m, evalMsg(pingHandler))
		m.(*machine).rebase() // as a hot machine has: a base from some messages ago
		env := testEnv()
		for _, kind := range []string{"pages", "sha256-raw"} {
			b.Run(mod.name+"/"+kind, func(b *testing.B) {
				var hashing, cpuHashing time.Duration
				for b.Loop() {
					if _, err := m.Apply(context.Background(), msgFrom("SOMEONE", "Ping", ""), env); err != nil {
						b.Fatal(err)
					}
					start, cpu := time.Now(), cpuNow()
					if kind == "pages" {
						m.MemoryHash()
					} else {
						sha256.Sum256(m.(*machine).cur.memory())
					}
					hashing += time.Since(start)
					cpuHashing += cpuNow() - cpu
				}
				b.ReportMetric(float64(hashing.Microseconds())/1e3/float64(b.N), "hash-ms/op")
				b.ReportMetric(float64(cpuHashing.Microseconds())/1e3/float64(b.N), "hash-cpu-ms/op")
			})
		}
	}
}

// BenchmarkLoop: an endless Lua loop until a Compute-Limit of 1e9 units, the shape of the worst case a
// Compute-Limit bounds; units/ns is the rate that turns a limit into seconds (cu.DefaultMaxCompute's bound).
func BenchmarkLoop(b *testing.B) {
	for _, mod := range realModules[:2] {
		b.Run(mod.name, func(b *testing.B) {
			const limit = 1e9
			m := openBooted(b, mod.name, mod.format, vm.Options{ComputeLimit: limit})
			msg, env := evalMsg(`while true do end`), testEnv()
			b.ResetTimer()
			cpu := cpuNow()
			for b.Loop() {
				r, err := m.Apply(context.Background(), msg, env)
				if err != nil || r.FuelUsed != limit {
					b.Fatal(err, r.Error)
				}
			}
			reportCPU(b, cpu, b.N)
			b.ReportMetric(limit*float64(b.N)/float64(b.Elapsed().Nanoseconds()), "units/ns")
		})
	}
}
