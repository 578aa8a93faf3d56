package emscripten

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/aogo/aogo/vm"
)

const pingHandler = `Handlers.add("ping", Handlers.utils.hasMatchingTag("Action","Ping"), function(m) ao.send({Target = m.From, Data = "pong"}) end); return "ok"`

// BenchmarkHotEval: one message through a simple aos handler on a hot instance.
func BenchmarkHotEval(b *testing.B) {
	for _, mod := range realModules[:2] {
		b.Run(mod.name, func(b *testing.B) {
			m := openBooted(b, mod.name, mod.format, vm.Options{})
			mustApply(b, m, evalMsg(pingHandler))
			env := testEnv()
			b.ResetTimer()
			for b.Loop() {
				r, err := m.Apply(context.Background(), msgFrom("SOMEONE", "Ping", ""), env)
				if err != nil || r.Error != "" || len(r.Messages) != 1 {
					b.Fatalf("%v %q", err, r.Error)
				}
			}
		})
	}
}

// BenchmarkColdStart: instantiate + start-up + the boot message (the module is already compiled).
func BenchmarkColdStart(b *testing.B) {
	for _, mod := range realModules[:2] {
		b.Run(mod.name, func(b *testing.B) {
			wasm := realWasm(b, mod.name)
			if _, err := compile(wasm, ""); err != nil {
				b.Fatal(err)
			}
			boot := bootMsg()
			b.ResetTimer()
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
		})
	}
}

// BenchmarkReplay: a 1,000-message log (a counter handler) from a fresh machine; reports msg/s.
func BenchmarkReplay(b *testing.B) {
	for _, mod := range realModules[:2] {
		b.Run(mod.name, func(b *testing.B) {
			wasm := realWasm(b, mod.name)
			log := [][]byte{bootMsg(), evalMsg(`N = 0; Handlers.add("inc", Handlers.utils.hasMatchingTag("Action","Inc"), function(m) N = N + 1 end)`)}
			for range 1000 {
				log = append(log, msgFrom("SOMEONE", "Inc", "x"))
			}
			env := testEnv()
			var total time.Duration
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
		})
	}
}

// BenchmarkSnapshot: write a snapshot of a booted aos process (reports its size), and restore it.
func BenchmarkSnapshot(b *testing.B) {
	for _, mod := range realModules[:2] {
		m := openBooted(b, mod.name, mod.format, vm.Options{})
		mustApply(b, m, evalMsg(pingHandler))
		var snap bytes.Buffer
		if _, err := m.Snapshot(&snap); err != nil {
			b.Fatal(err)
		}
		b.Run(mod.name+"/write", func(b *testing.B) {
			for b.Loop() {
				if _, err := m.Snapshot(io.Discard); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(snap.Len()), "bytes")
			b.ReportMetric(float64(m.MemorySize()), "mem-bytes")
		})
		b.Run(mod.name+"/restore", func(b *testing.B) {
			for b.Loop() {
				r, err := vm.Restore(mod.format, realWasm(b, mod.name), vm.Options{}, bytes.NewReader(snap.Bytes()))
				if err != nil {
					b.Fatal(err)
				}
				r.Close()
			}
		})
	}
}
