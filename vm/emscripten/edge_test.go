package emscripten

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aogo/aogo/internal/testenv"
	"github.com/aogo/aogo/vm"
)

// The hand-written modules in testdata/wat (see build.sh): the same ABI as v1 (minified) and v2.
var edgeModules = []struct{ file, format, bootDigit string }{
	{"testdata/wat/edge1.wasm", "wasm32-unknown-emscripten", "0"},  // main(0, 0)
	{"testdata/wat/edge2.wasm", "wasm32-unknown-emscripten2", "1"}, // main(1, ["thisProgram"])
	{"testdata/wat/edge3.wasm", "wasm32-unknown-emscripten3", "0"}, // main(0, 0); "u" is _emscripten_system here
}

func edgeCmd(c string) []byte { return []byte(`{"c":"` + c + `"}`) }

func TestEdgeModules(t *testing.T) {
	for _, mod := range edgeModules {
		t.Run(mod.format, func(t *testing.T) {
			wasm, err := os.ReadFile(mod.file)
			if err != nil {
				t.Fatal(err)
			}
			m, err := vm.Open(mod.format, wasm, vm.Options{ComputeLimit: 50_000_000, MemoryLimit: 4 << 20})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			apply := func(c string) vm.Result {
				t.Helper()
				r, err := m.Apply(context.Background(), edgeCmd(c), []byte(`{}`))
				if err != nil {
					t.Fatalf("%s: %v", c, err)
				}
				return r
			}
			out := func(r vm.Result) string { return strings.Trim(string(r.Output), `"`) }
			if r := apply("b"); out(r) != mod.bootDigit {
				t.Fatalf("main saw argc %s (error %q), want %s", r.Output, r.Error, mod.bootDigit)
			}
			if r := apply("i"); out(r) != "1" {
				t.Fatalf("inc: %s %q", r.Output, r.Error)
			}
			h := m.MemoryHash()
			cases := []struct{ cmd, err string }{
				{"e", "boom"},
				{"g", "out of gas!"},
				{"f", "out of gas!"},
				{"m", "nomem"},
				{"u", "unsupported import"},
			}
			for _, c := range cases {
				if c.cmd == "u" && mod.format == "wasm32-unknown-emscripten3" {
					continue // edge3 imports nothing the emscripten3 glue lacks (see build.sh)
				}
				r := apply(c.cmd)
				if !strings.Contains(r.Error, c.err) {
					t.Fatalf("%s: error %q, want %q", c.cmd, r.Error, c.err)
				}
				if m.MemoryHash() != h {
					t.Fatalf("%s: memory changed", c.cmd)
				}
			}
			if r := apply("l"); out(r) != "J" {
				t.Fatalf("longjmp: %s %q", r.Output, r.Error)
			}
			if r := apply("i"); out(r) != "2" {
				t.Fatalf("inc after failures: %s %q", r.Output, r.Error)
			}
			if r := apply("g"); r.GasUsed == 0 {
				t.Fatal("metered module reports no gas")
			}
		})
	}
}

// TestEdgeGrowWithinLimit: emscripten_resize_heap grows when the limit allows.
func TestEdgeGrowWithinLimit(t *testing.T) {
	wasm, err := os.ReadFile("testdata/wat/edge2.wasm")
	if err != nil {
		t.Fatal(err)
	}
	m, err := vm.Open("wasm32-unknown-emscripten2", wasm, vm.Options{MemoryLimit: 256 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	r, err := m.Apply(context.Background(), edgeCmd("m"), []byte(`{}`))
	if err != nil || r.Error != "" || m.MemorySize() < 64<<20 {
		t.Fatalf("grow: %v %q size %d", err, r.Error, m.MemorySize())
	}
}

// TestEdgeDifferential runs the edge modules the reference's glues can link (edge1 under the v1 glue, edge3
// under emscripten3: neither imports anything its glue lacks) through @permaweb/ao-loader and through us: boot
// under main(0, 0), state, an error that rolls back, longjmp through invoke_vii, heap growth, and gas running
// out under a Compute-Limit.
func TestEdgeDifferential(t *testing.T) {
	for _, mod := range []struct{ file, format string }{
		{"testdata/wat/edge1.wasm", "wasm32-unknown-emscripten"},
		{"testdata/wat/edge3.wasm", "wasm32-unknown-emscripten3"},
	} {
		t.Run(mod.format, func(t *testing.T) { edgeDifferential(t, mod.file, mod.format) })
	}
}

func edgeDifferential(t *testing.T, file, format string) {
	node := testenv.Node(t)
	nodeModules := testenv.NodeModules(t, "@permaweb/ao-loader")
	const limit = "50000000"
	dir := t.TempDir()
	cmds := []string{"b", "i", "i", "e", "i", "l", "m", "g", "i"}
	var log bytes.Buffer
	for _, c := range cmds {
		log.Write(edgeCmd(c))
		log.WriteByte('\n')
	}
	msgsPath, procPath := filepath.Join(dir, "msgs.jsonl"), filepath.Join(dir, "proc.json")
	if err := os.WriteFile(msgsPath, log.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(procPath, []byte(`{"Id":"P","Owner":"O","Tags":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "--experimental-wasm-memory64", "testdata/refrun.cjs", nodeModules, file, format, procPath, msgsPath, limit)
	cmd.Env = append(os.Environ(), "AOGO_REFRUN_INPUTS=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("reference loader: %v", err)
	}
	var ref []map[string]json.RawMessage
	for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		var r map[string]json.RawMessage
		if json.Unmarshal(line, &r) == nil {
			ref = append(ref, r)
		}
	}
	if len(ref) != len(cmds) {
		t.Fatalf("reference gave %d results for %d messages:\n%s", len(ref), len(cmds), out)
	}
	wasm, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	m, err := vm.Open(format, wasm, vm.Options{ComputeLimit: 50_000_000})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for i := range cmds {
		var msg, env string
		if json.Unmarshal(ref[i]["_msg"], &msg) != nil || json.Unmarshal(ref[i]["_env"], &env) != nil {
			t.Fatalf("message %d: reference did not echo its inputs", i)
		}
		r, err := m.Apply(context.Background(), []byte(msg), []byte(env))
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		compareResult(t, i, ref[i], r, false)
	}
}
