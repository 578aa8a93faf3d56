package emscripten

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aogo/aogo/vm"
)

// TestAOSHandlers boots each real aos module, adds a handler with Eval, pings it and checks the reply,
// then checks Send and Spawn land in the outbox.
func TestAOSHandlers(t *testing.T) {
	for _, mod := range realModules {
		t.Run(mod.name, func(t *testing.T) {
			m := openBooted(t, mod.name, mod.format, vm.Options{})
			r := mustApply(t, m, evalMsg(`Handlers.add("ping", Handlers.utils.hasMatchingTag("Action","Ping"), function(m) ao.send({Target = m.From, Data = "pong"}) end); return "added"`))
			if r.Error != "" {
				t.Fatalf("eval: %s", r.Error)
			}
			r = mustApply(t, m, msgFrom("SOMEONE", "Ping", ""))
			if r.Error != "" || len(r.Messages) != 1 {
				t.Fatalf("ping: error %q, %d messages", r.Error, len(r.Messages))
			}
			var reply struct{ Target, Data string }
			if err := json.Unmarshal(r.Messages[0], &reply); err != nil || reply.Target != "SOMEONE" || reply.Data != "pong" {
				t.Fatalf("reply %s (%v)", r.Messages[0], err)
			}
			r = mustApply(t, m, evalMsg(`Send({Target="X", Data="hi"}); Spawn("MOD", {Data="x"}); Assign({Processes={"P1"}, Message="M1"}); return "ok"`))
			if r.Error != "" || len(r.Messages) != 1 || len(r.Spawns) != 1 {
				t.Fatalf("send/spawn: error %q, %d messages, %d spawns", r.Error, len(r.Messages), len(r.Spawns))
			}
			if !strings.Contains(string(r.Spawns[0]), `"MOD"`) {
				t.Fatalf("spawn %s", r.Spawns[0])
			}
			if mod.name != "aos" && len(r.Assignments) != 1 {
				t.Fatalf("assignments %v", r.Assignments)
			}
		})
	}
}

// TestAOSErrorRollback: a failing Eval leaves memory (and so the counter) exactly as before.
func TestAOSErrorRollback(t *testing.T) {
	for _, mod := range realModules {
		t.Run(mod.name, func(t *testing.T) {
			m := openBooted(t, mod.name, mod.format, vm.Options{})
			mustApply(t, m, evalMsg(`Counter = 1; return Counter`))
			before := m.MemoryHash()
			r := mustApply(t, m, evalMsg(`Counter = Counter + 1; error("boom")`))
			if !strings.Contains(r.Error, "boom") {
				t.Fatalf("want boom error, got %q", r.Error)
			}
			if m.MemoryHash() != before {
				t.Fatal("memory changed by a failed message")
			}
			r = mustApply(t, m, evalMsg(`Counter = Counter + 1; return Counter`))
			if got := outputData(t, r); got != "2" {
				t.Fatalf("counter = %s, want 2", got)
			}
		})
	}
}

// TestAOSOutOfFuel: an endless loop under a Compute-Limit ends in Error, leaves memory as it was, and the
// machine keeps working.
func TestAOSOutOfFuel(t *testing.T) {
	for _, mod := range realModules[:2] {
		t.Run(mod.name, func(t *testing.T) {
			m := openBooted(t, mod.name, mod.format, vm.Options{ComputeLimit: 2e9})
			mustApply(t, m, evalMsg(`Counter = 1`))
			before := m.MemoryHash()
			r := mustApply(t, m, evalMsg(`Counter = 99; while true do end`))
			if r.Error != "out of gas!" {
				t.Fatalf("want out of gas, got %q", r.Error)
			}
			if r.FuelUsed != 2e9 {
				t.Fatalf("fuel used %d, want the whole limit", r.FuelUsed)
			}
			if m.MemoryHash() != before {
				t.Fatal("memory changed by an out-of-fuel message")
			}
			r = mustApply(t, m, evalMsg(`return Counter`))
			if got := outputData(t, r); got != "1" {
				t.Fatalf("counter = %s, want 1", got)
			}
		})
	}
}

// TestAOSMemoryLimit: an allocation beyond Memory-Limit fails inside the message; the machine survives.
func TestAOSMemoryLimit(t *testing.T) {
	for _, mod := range realModules[:2] {
		t.Run(mod.name, func(t *testing.T) {
			probe := openBooted(t, mod.name, mod.format, vm.Options{})
			limit := probe.MemorySize() + 32<<20
			m := openBooted(t, mod.name, mod.format, vm.Options{MemoryLimit: limit})
			mustApply(t, m, evalMsg(`Counter = 1`))
			before := m.MemoryHash()
			r := mustApply(t, m, evalMsg(`Big = string.rep("x", 256*1024*1024); return #Big`))
			if r.Error == "" {
				t.Fatal("a 256 MiB string fit under the memory limit")
			}
			t.Logf("error: %q", r.Error)
			if m.MemoryHash() != before {
				t.Fatal("memory changed by a failed message")
			}
			if m.MemorySize() > limit {
				t.Fatalf("memory %d beyond limit %d", m.MemorySize(), limit)
			}
			r = mustApply(t, m, evalMsg(`return Counter + 1`))
			if got := outputData(t, r); got != "2" {
				t.Fatalf("after: %q %q", got, r.Error)
			}
		})
	}
}
