package emscripten

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/aogo/aogo/internal/testenv"
	"github.com/aogo/aogo/vm"
)

// diffLog is the message log run through both the reference loader and us.
func diffLog() [][]byte {
	return [][]byte{
		bootMsg(),
		evalMsg(`Counter = (Counter or 0) + 1; return Counter`),
		evalMsg(`Counter = Counter + 1; error("boom")`),
		evalMsg(`return Counter`),
		evalMsg(`Handlers.add("ping", Handlers.utils.hasMatchingTag("Action","Ping"), function(m) ao.send({Target = m.From, Data = "pong"}) end); Send({Target="X", Data="hi"}); Spawn("MOD", {Data="x"}); return "ok"`),
		msgFrom("SOMEONE", "Ping", ""),
		evalMsg(`return os.time(), os.date("%Y-%m-%d %H:%M:%S %j %a %b", 86400*400)`),
		evalMsg(`return os.date()`),
		evalMsg(`return tostring(os.clock())`),
		evalMsg(`return math.random(1, 10)`),
		evalMsg(`local ok, e = pcall(function() error({code = 7}) end); return type(e) == "table" and e.code`),
		// Not os.execute: the reference emscripten4 glue really runs the command under node.
		evalMsg(`local t = {}; for i = 1, 20000 do t[i] = tostring(i) end; return #table.concat(t)`),
		evalMsg(`return json and json.encode({a = 1}) or require("json").encode({a = 1})`),
		evalMsg(`return io.open("/data/nothing")`),
		evalMsg(`this is not lua`),
	}
}

// TestDifferential runs the same log through @permaweb/ao-loader under node (testdata/refrun.cjs) and
// through our machine, and requires identical Output, Messages, Spawns, Assignments and Error.
func TestDifferential(t *testing.T) {
	node := testenv.Node(t)
	nodeModules := testenv.NodeModules(t, "@permaweb/ao-loader")
	log := diffLog()
	procPath, msgsPath := writeRefLog(t, log)
	cases := append(realModules[:len(realModules):len(realModules)], struct{ name, format string }{"sqlite", sqliteFormat},
		// The metering formats: the reference rewrites the module for gas at load; GasUsed must match exactly.
		struct{ name, format string }{"aos2_0_4_32", "wasm32-unknown-emscripten-metering"},
		struct{ name, format string }{"aos2_0_6", "wasm64-unknown-emscripten-draft_2024_10_16-metering"})
	for _, mod := range cases {
		t.Run(mod.name+"/"+mod.format, func(t *testing.T) {
			wasmPath := testenv.WaoModule(t, mod.name)
			cmd := exec.Command(node, "--experimental-wasm-memory64", "testdata/refrun.cjs", nodeModules, wasmPath, mod.format, procPath, msgsPath)
			cmd.Env = append(os.Environ(), "TZ=UTC", "AOGO_REFRUN_INPUTS=1")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("reference loader: %v\n%s", err, stderr.String())
			}
			ref := readRefResults(t, out, len(log), stderr.String())

			// Our env must carry the same Module as refrun.cjs builds.
			m, err := vm.Open(mod.format, realWasm(t, mod.name), vm.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			ourEnv := refEnv(t, procPath, realWasm(t, mod.name))
			for i, msg := range log {
				// Gas counts every byte the guest parses: give it the very strings the reference gave
				// (JSON.stringify of the message and env, which orders and escapes differently from Go).
				var refMsg, refEnvStr string
				if json.Unmarshal(ref[i]["_msg"], &refMsg) != nil || json.Unmarshal(ref[i]["_env"], &refEnvStr) != nil {
					t.Fatalf("message %d: reference did not echo its inputs", i)
				}
				if !jsonEqual(json.RawMessage(refMsg), msg) || !jsonEqual(json.RawMessage(refEnvStr), ourEnv) {
					t.Fatalf("message %d: reference ran other inputs:\n%s\n%s", i, refMsg, refEnvStr)
				}
				r, err := m.Apply(context.Background(), []byte(refMsg), []byte(refEnvStr))
				if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				compareResult(t, i, ref[i], r, strings.Contains(mod.format, "metering"))
			}
		})
	}
}

func refEnv(t *testing.T, procPath string, wasm []byte) []byte {
	proc, _ := os.ReadFile(procPath)
	env := map[string]any{"Process": json.RawMessage(proc), "Module": map[string]any{"Id": moduleID(wasm), "Owner": "", "Tags": []any{}}}
	b, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// compareResult compares one result. With approxGas, GasUsed may differ by up to 0.2%: the reference runs
// WeaveDrive calls of Asyncify builds through Asyncify's unwind and rewind, with a 40 MB malloc each time (it
// grows the heap at boot), which we do not emulate; that changes the allocator's state and so a little of the
// work every later message does. That our cuts and costs are the reference's is TestMeteringMatchesReference.
func compareResult(t *testing.T, i int, ref map[string]json.RawMessage, got vm.Result, approxGas bool) {
	t.Helper()
	refErr := ""
	if e, ok := ref["Error"]; ok {
		var s string
		if json.Unmarshal(e, &s) == nil {
			refErr = s
		} else {
			refErr = string(e)
		}
	}
	if refErr != got.Error {
		t.Errorf("message %d: Error\nreference: %q\nours:      %q", i, refErr, got.Error)
		return
	}
	if refErr != "" {
		return // the reference returns no outbox with an error; neither field is meaningful
	}
	ours, _ := json.Marshal(got)
	var o map[string]json.RawMessage
	json.Unmarshal(ours, &o)
	for _, k := range []string{"Output", "Messages", "Spawns", "Assignments"} {
		if !jsonEqual(ref[k], o[k]) {
			t.Errorf("message %d: %s\nreference: %s\nours:      %s", i, k, ref[k], o[k])
		}
	}
	if approxGas {
		var rg, og float64
		json.Unmarshal(ref["GasUsed"], &rg)
		json.Unmarshal(o["GasUsed"], &og)
		if rg == 0 || og < rg*0.998 || og > rg*1.002 {
			t.Errorf("message %d: GasUsed reference %s ours %s (beyond 0.2%%)", i, ref["GasUsed"], o["GasUsed"])
		}
	} else if !jsonEqual(ref["GasUsed"], o["GasUsed"]) {
		t.Errorf("message %d: GasUsed reference %s ours %s", i, ref["GasUsed"], o["GasUsed"])
	}
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return strings.TrimSpace(string(a)) == strings.TrimSpace(string(b))
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xb, yb)
}
