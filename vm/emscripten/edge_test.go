package emscripten

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/aogo/aogo/vm"
)

// The hand-written modules in testdata/wat (see build.sh): the same ABI as v1 (minified) and v2.
var edgeModules = []struct{ file, format, bootDigit string }{
	{"testdata/wat/edge1.wasm", "wasm32-unknown-emscripten", "0"},  // main(0, 0)
	{"testdata/wat/edge2.wasm", "wasm32-unknown-emscripten2", "1"}, // main(1, ["thisProgram"])
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
