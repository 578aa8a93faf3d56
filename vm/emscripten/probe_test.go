package emscripten

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aogo/aogo/internal/testenv"
	"github.com/aogo/aogo/vm"
)

// The probe modules (testdata/probe, built from probe.c with emscripten 3.1.6) report the clock imports'
// values at boot and per message, and where the glue put handle()'s arguments.
var probeModules = []struct{ file, format string }{
	{"testdata/probe/probe1.wasm", "wasm32-unknown-emscripten"},
	{"testdata/probe/probe2.wasm", "wasm32-unknown-emscripten2"},
}

func probeMsg(id, data string) []byte {
	b, _ := json.Marshal(map[string]string{"Id": id, "Data": data})
	return b
}

// TestProbeDifferential runs the probe modules through @permaweb/ao-loader's v1 and v2 glues and through us.
// Those glues answer _emscripten_date_now with 0 and emscripten_get_now with 0 (v1) or NaN (v2), at boot and
// per message, where the later glues serve the Date.now counter; and they reserve (JS length x 4) + 1 stack
// bytes per string argument, so where the message lands depends on its length in UTF-16 units (ASCII, 2-byte
// and 4-byte UTF-8 below). The last messages overflow the 1 MiB stack: one by a few hundred bytes, over the
// static data under it, and one past address 0; the reference traps on both (and is stuck after the first),
// we must too, and must then go on.
func TestProbeDifferential(t *testing.T) {
	log := [][]byte{
		probeMsg("A", ""),
		probeMsg("B", strings.Repeat("x", 20000)),
		probeMsg("C", strings.Repeat("é", 10000)),
		probeMsg("D", strings.Repeat("😀", 5000)),
		probeMsg("E", "short"),
	}
	normal := len(log)
	// The stack of the probe is 1 MiB under a top near 1051968; v1/v2 reserve 4 bytes per byte of ASCII.
	log = append(log, probeMsg("F", strings.Repeat("x", 262_600)), probeMsg("G", strings.Repeat("x", 300_000)))
	for _, mod := range probeModules {
		t.Run(mod.format, func(t *testing.T) {
			node := testenv.Node(t)
			nodeModules := testenv.NodeModules(t, "@permaweb/ao-loader")
			procPath, msgsPath := writeRefFiles(t, log, []byte(`{"Id":"P","Owner":"O","Tags":[]}`))
			cmd := exec.Command(node, "testdata/refrun.cjs", nodeModules, mod.file, mod.format, procPath, msgsPath)
			cmd.Env = append(os.Environ(), "AOGO_REFRUN_INPUTS=1")
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("reference loader: %v", err)
			}
			ref := readRefResults(t, out, len(log), "")
			wasm, err := os.ReadFile(mod.file)
			if err != nil {
				t.Fatal(err)
			}
			m, err := vm.Open(mod.format, wasm, vm.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			for i := 0; i <= normal; i++ { // up to and including the first overflow
				msg, env := refInputs(t, ref[i])
				r, err := m.Apply(context.Background(), msg, env)
				if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				compareResult(t, i, ref[i], r, false)
				t.Logf("message %d: %s %s", i, r.Output, r.Error)
			}
			// The reference's loader traps on every message after the overflow (its stack pointer stays where
			// the overflow left it); we roll the overflow back, so the next one past address 0 traps on its own
			// and a short one after it evaluates as message E did.
			for _, msg := range [][]byte{log[normal+1], log[normal-1]} {
				before := m.MemoryHash()
				r, err := m.Apply(context.Background(), msg, []byte(`{}`))
				if err != nil {
					t.Fatal(err)
				}
				if len(msg) > 1000 {
					if r.Error != "memory access out of bounds" || m.MemoryHash() != before {
						t.Fatalf("past address 0: Error %q (state changed: %v)", r.Error, m.MemoryHash() != before)
					}
				} else if r.Error != "" || !strings.Contains(string(r.Output), "len=25 ") {
					t.Fatalf("after the overflows: %s %q", r.Output, r.Error)
				}
			}
		})
	}
}

// TestProbeModulesMatchSources: the committed probe modules are the ones testdata/probe/build.sh records for
// the current sources (build.sh --check rebuilds them byte for byte with the toolchain).
func TestProbeModulesMatchSources(t *testing.T) {
	rec, err := os.ReadFile("testdata/probe/probe.sha256")
	if err != nil {
		t.Fatal(err)
	}
	var files bytes.Buffer
	for _, f := range []string{"build.sh", "probe.c", "v1names.go"} {
		b, err := os.ReadFile(filepath.Join("testdata/probe", f))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		fmt.Fprintf(&files, "%s  %s\n", hex.EncodeToString(sum[:]), f)
	}
	inputs := sha256.Sum256(files.Bytes())
	want := hex.EncodeToString(inputs[:]) + "  inputs\n"
	for _, f := range []string{"probe1.wasm", "probe2.wasm"} {
		b, err := os.ReadFile(filepath.Join("testdata/probe", f))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		want += fmt.Sprintf("%s  %s\n", hex.EncodeToString(sum[:]), f)
	}
	if string(rec) != want {
		t.Fatalf("testdata/probe changed without a rebuild (run testdata/probe/build.sh):\nrecorded:\n%scomputed:\n%s", rec, want)
	}
}
