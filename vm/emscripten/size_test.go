package emscripten

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aogo/aogo/aos"
	"github.com/aogo/aogo/internal/testenv"
	"github.com/aogo/aogo/vm"
)

// itemLimit is the largest data item the MU and SU accept (10 MiB): the largest Data a message can carry.
const itemLimit = 10 << 20

// bigAddHandler makes an aos process count the messages of Action "Big" and remember the length of the last.
var bigAddHandler = evalMsg(`Handlers.add("big", Handlers.utils.hasMatchingTag("Action","Big"), function(m) Len = #m.Data; N = (N or 0) + 1; print("len " .. Len) end); return "ok"`)

func bigMsg(size int) []byte { return msgFrom(testOwner, "Big", strings.Repeat("x", size)) }

func bigState() []byte { return evalMsg(`return tostring(N) .. " " .. tostring(Len)`) }

// runReference runs log through @permaweb/ao-loader (testdata/refrun.cjs) and returns one result per message,
// each with the exact strings the loader gave handle() (_msg, _env).
func runReference(t *testing.T, wasmPath, format string, log [][]byte) []map[string]json.RawMessage {
	t.Helper()
	node := testenv.Node(t)
	nodeModules := testenv.NodeModules(t, "@permaweb/ao-loader")
	dir := t.TempDir()
	var buf bytes.Buffer
	for _, m := range log {
		buf.Write(m)
		buf.WriteByte('\n')
	}
	msgsPath, procPath := filepath.Join(dir, "msgs.jsonl"), filepath.Join(dir, "proc.json")
	var env struct{ Process json.RawMessage }
	json.Unmarshal(testEnv(), &env)
	if err := os.WriteFile(msgsPath, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(procPath, env.Process, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "--experimental-wasm-memory64", "testdata/refrun.cjs", nodeModules, wasmPath, format, procPath, msgsPath)
	cmd.Env = append(os.Environ(), "TZ=UTC", "AOGO_REFRUN_INPUTS=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("reference loader: %v\n%s", err, stderr.String())
	}
	var ref []map[string]json.RawMessage
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var r map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("reference output %.200q: %v", sc.Text(), err)
		}
		ref = append(ref, r)
	}
	if len(ref) != len(log) {
		t.Fatalf("reference gave %d results for %d messages", len(ref), len(log))
	}
	return ref
}

// refInputs is the message and env strings the reference gave handle() for result r.
func refInputs(t *testing.T, r map[string]json.RawMessage) (msg, env []byte) {
	t.Helper()
	var m, e string
	if json.Unmarshal(r["_msg"], &m) != nil || json.Unmarshal(r["_env"], &e) != nil {
		t.Fatal("reference did not echo its inputs")
	}
	return []byte(m), []byte(e)
}

// TestBigMessagesDifferential sends messages of up to 9.9 MB through @permaweb/ao-loader and through us. The
// reference puts both handle() arguments on the wasm stack in every format (ccall's stackAlloc; the v1/v2 glue
// reserves 4 bytes per UTF-16 unit), so a module evaluates a message only if its stack holds it. The aos 2
// modules have a 64 MiB stack and evaluate every size; ours (aos/aos.wasm, 1 MiB stack, v2 glue) holds up to
// ~255 KB of message, and a bigger one traps ("memory access out of bounds") in both. Results must be equal
// up to that trap. After it the reference's loader is stuck (its stack pointer stays wrapped and every later
// message traps too); we roll the message back and the next one evaluates on the state before it.
func TestBigMessagesDifferential(t *testing.T) {
	for _, c := range []struct {
		name, format, wasmPath string
		sizes                  []int
		trapAt                 int // index in sizes of the message the reference traps on, or -1
	}{
		{"aogo-aos", aos.Format, "../../aos/aos.wasm", []int{255_000, 1_000_000}, 1},
		{"aos2_0_4_32", "wasm32-unknown-emscripten4", "", []int{2_000_000}, -1},
		{"aos2_0_6", "wasm64-unknown-emscripten-draft_2024_02_15", "", []int{9_900_000}, -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			wasmPath := c.wasmPath
			if wasmPath == "" {
				wasmPath = testenv.WaoModule(t, c.name)
			}
			log := [][]byte{bootMsg(), bigAddHandler}
			for _, s := range c.sizes {
				log = append(log, bigMsg(s), bigState())
			}
			ref := runReference(t, wasmPath, c.format, log)
			wasm, err := os.ReadFile(wasmPath)
			if err != nil {
				t.Fatal(err)
			}
			m, err := vm.Open(c.format, wasm, vm.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			trapped := -1
			for i := range log {
				msg, env := refInputs(t, ref[i])
				before := m.MemoryHash()
				start := time.Now()
				r, err := m.Apply(context.Background(), msg, env)
				if err != nil {
					t.Fatalf("message %d (%d bytes): %v", i, len(msg), err)
				}
				if len(msg) > 1<<20 {
					t.Logf("message %d: %d bytes in %v", i, len(msg), time.Since(start).Round(time.Millisecond))
				}
				if trapped < 0 {
					compareResult(t, i, ref[i], r, false)
				}
				if r.Error != "" && m.MemoryHash() != before {
					t.Fatalf("message %d: Error %q changed the state", i, r.Error)
				}
				if c.trapAt >= 0 && i == 2+2*c.trapAt {
					if r.Error != "memory access out of bounds" {
						t.Fatalf("message %d: Error %q, want the reference's trap", i, r.Error)
					}
					trapped = i
				}
			}
			// The state message after each size reports N and Len: after a trap, the values before it.
			last, err := m.Apply(context.Background(), bigState(), testEnv())
			if err != nil || last.Error != "" {
				t.Fatalf("after the big messages: %v %q", err, last.Error)
			}
			n := len(c.sizes)
			if trapped >= 0 {
				n = c.trapAt
			}
			want := fmt.Sprintf("%d %d", n, c.sizes[n-1])
			if got := outputData(t, last); got != want {
				t.Fatalf("state %q, want %q", got, want)
			}
		})
	}
}

// TestMessageSizes applies messages from empty to the item limit to our aos module (v2 glue, 1 MiB stack): each
// must evaluate or end in a result Error that leaves the state as it was, never in a host error (a log the CU
// cannot get past), and the process must go on. Sizes around the stack's end and past the wrap below address 0
// are included (the 4x reservation of the v2 glue: ~255 KB fits).
func TestMessageSizes(t *testing.T) {
	m, err := vm.Open(aos.Format, aos.Module, vm.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, msg := range [][]byte{bootMsg(), bigAddHandler} {
		if r := mustApply(t, m, msg); r.Error != "" {
			t.Fatal(r.Error)
		}
	}
	overhead := len(bigMsg(0))
	ok, last := 0, 0
	for _, size := range []int{0, 1, 1000, 100_000, 255_000, 258_000, 262_000, 266_000, 300_000,
		1_000_000, 1_500_000, 2_000_000, 5_000_000, 9_900_000, itemLimit - overhead} {
		before := m.MemoryHash()
		r, err := m.Apply(context.Background(), bigMsg(size), testEnv())
		if err != nil {
			t.Fatalf("%d bytes: host error %v", size, err)
		}
		if r.Error != "" {
			if m.MemoryHash() != before {
				t.Fatalf("%d bytes: Error %q changed the state", size, r.Error)
			}
		} else {
			ok, last = ok+1, size
		}
		t.Logf("%8d bytes: error %q", size, r.Error)
		s := mustApply(t, m, bigState())
		if want := fmt.Sprintf("%d %d", ok, last); s.Error != "" || outputData(t, s) != want {
			t.Fatalf("after %d bytes: state %q %q, want %q", size, outputData(t, s), s.Error, want)
		}
	}
}

// fuzzSizeLimit bounds the sizes FuzzMessageSizes explores: the edge modules' 64 KiB stacks and their static
// data lie far below it, so every placement case (on the stack, over static data, wrapped below 0) is in range, and
// an execution stays cheap enough for the suite's 10,000 of them. Sizes up to the item limit are
// TestMessageSizes' table.
const fuzzSizeLimit = 256 << 10

// FuzzMessageSizes applies one message of a fuzzed size (0 to fuzzSizeLimit) and content to each edge module
// (v1, v2: 4-byte-per-unit reservations, signed pointers; v3: exact reservation, unsigned): its 64 KiB stack
// wraps below address 0 for most sizes. Whatever the size, Apply must give a result (no host error), an Error
// must leave the state as it was, and the machine must take the next message.
func FuzzMessageSizes(f *testing.F) {
	for _, s := range []uint32{0, 1, 16, 4000, 16_000, 16_300, 16_370, 65_536, fuzzSizeLimit - 1} {
		f.Add(s, "x")
	}
	f.Add(uint32(16_000), "é😀")
	mods := make([]vm.Machine, len(edgeModules))
	for i, mod := range edgeModules {
		wasm, err := os.ReadFile(mod.file)
		if err != nil {
			f.Fatal(err)
		}
		if mods[i], err = vm.Open(mod.format, wasm, vm.Options{}); err != nil {
			f.Fatal(err)
		}
	}
	defer func() {
		for _, m := range mods {
			m.Close()
		}
	}()
	f.Fuzz(func(t *testing.T, size uint32, fill string) {
		size %= fuzzSizeLimit
		if fill == "" {
			fill = "x"
		}
		pad := strings.Repeat(fill, int(size)/len(fill)+1)[:size]
		msg := append(edgeCmd("i"), pad...)
		for i, m := range mods {
			before := m.MemoryHash()
			r, err := m.Apply(context.Background(), msg, []byte(`{}`))
			if err != nil {
				t.Fatalf("%s, %d bytes: host error %v", edgeModules[i].format, len(msg), err)
			}
			if r.Error != "" && m.MemoryHash() != before {
				t.Fatalf("%s, %d bytes: Error %q changed the state", edgeModules[i].format, len(msg), r.Error)
			}
			if _, err := m.Apply(context.Background(), edgeCmd("b"), []byte(`{}`)); err != nil {
				t.Fatalf("%s: after %d bytes: %v", edgeModules[i].format, len(msg), err)
			}
		}
	})
}
