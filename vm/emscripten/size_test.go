package emscripten

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
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

func bigMsg(size int) []byte { return bigMsgOf(size, 'x') }

func bigState() []byte { return evalMsg(`return tostring(N) .. " " .. tostring(Len)`) }

// runReference runs log through @permaweb/ao-loader (testdata/refrun.cjs) and returns one result per message,
// each with the exact strings the loader gave handle() (_msg, _env).
func runReference(t *testing.T, wasmPath, format string, log [][]byte) []map[string]json.RawMessage {
	t.Helper()
	node := testenv.Node(t)
	nodeModules := testenv.NodeModules(t, "@permaweb/ao-loader")
	procPath, msgsPath := writeRefLog(t, log)
	cmd := exec.Command(node, "--experimental-wasm-memory64", "testdata/refrun.cjs", nodeModules, wasmPath, format, procPath, msgsPath)
	cmd.Env = append(os.Environ(), "TZ=UTC", "AOGO_REFRUN_INPUTS=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("reference loader: %v\n%s", err, stderr.String())
	}
	return readRefResults(t, out, len(log), stderr.String())
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

// bigMsgOf is a message of Action "Big" whose Data is size bytes of fill (one byte).
func bigMsgOf(size int, fill byte) []byte {
	return msgFrom(testOwner, "Big", strings.Repeat(string(fill), size))
}

// Sizes of control-character messages (\x01 is "\u0001" in JSON: 6 characters, so 24 bytes of a v1/v2 glue's
// stack per byte of Data) against our module's 64 MiB stack:
const (
	ctlTooBig  = 2_774_000 // fits, but leaves handle ~0.5 MiB of stack (< 1 MiB): an Error from the module
	ctlOverrun = 2_798_000 // runs ~46 KB past the stack's end, over static data: the module traps
	ctlWrapped = 3_000_000 // reservation larger than the stack pointer: wraps below address 0, traps
)

// TestBigMessagesDifferential sends messages of up to 9.9 MB through @permaweb/ao-loader and through us. The
// reference puts both handle() arguments on the wasm stack in every format (ccall's stackAlloc; the v1/v2 glue
// reserves 4 bytes per UTF-16 unit), so a module evaluates a message only if its stack holds it. The aos 2
// modules and ours (aos/aos.wasm, v2 glue) have a 64 MiB stack and evaluate every plain-text size up to the
// item limit (10 MiB of text takes 40 MiB of it). Our module refuses, with an Error in both, a message that
// fits but leaves it less than 1 MiB of stack, and traps on one whose copy ran past the stack's end (over its
// static data: nothing in memory can be trusted then); results must be equal up to that trap (trapAt). After
// it the reference's loader is stuck (its stack pointer stays wrapped and every later message traps too); we
// roll the message back and the next one evaluates on the state before it.
func TestBigMessagesDifferential(t *testing.T) {
	type big struct {
		size int
		fill byte
		err  bool // the message ends in an Error (not a trap)
	}
	for _, c := range []struct {
		name, format, wasmPath string
		msgs                   []big
		trapAt                 int // index in msgs of the message both trap on, or -1
	}{
		{"aogo-aos", aos.Format, "../../aos/aos.wasm", []big{{1_000_000, 'x', false}, {2_000_000, 'x', false},
			{5_000_000, 'x', false}, {9_900_000, 'x', false}, {ctlTooBig, 1, true}, {ctlOverrun, 1, false}}, 5},
		{"aos2_0_4_32", "wasm32-unknown-emscripten4", "", []big{{1_000_000, 'x', false}, {2_000_000, 'x', false},
			{5_000_000, 'x', false}, {9_900_000, 'x', false}}, -1},
		{"aos2_0_6", "wasm64-unknown-emscripten-draft_2024_02_15", "", []big{{1_000_000, 'x', false}, {2_000_000, 'x', false},
			{5_000_000, 'x', false}, {9_900_000, 'x', false}}, -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			wasmPath := c.wasmPath
			if wasmPath == "" {
				wasmPath = testenv.WaoModule(t, c.name)
			}
			log := [][]byte{bootMsg(), bigAddHandler}
			for _, b := range c.msgs {
				log = append(log, bigMsgOf(b.size, b.fill), bigState())
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
					t.Logf("message %d: %d bytes in %v: Error %q", i, len(msg), time.Since(start).Round(time.Millisecond), r.Error)
				}
				if trapped < 0 {
					compareResult(t, i, ref[i], r, false)
				}
				if r.Error != "" && m.MemoryHash() != before {
					t.Fatalf("message %d: Error %q changed the state", i, r.Error)
				}
				if k := i - 2; k >= 0 && k%2 == 0 {
					b := c.msgs[k/2]
					switch {
					case k/2 == c.trapAt:
						if !strings.Contains(r.Error, "unreachable") {
							t.Fatalf("message %d: Error %q, want the module's trap", i, r.Error)
						}
						trapped = i
					case b.err:
						if !strings.Contains(r.Error, "message too large for the wasm stack") {
							t.Fatalf("message %d: Error %q, want the module's refusal", i, r.Error)
						}
					case r.Error != "":
						t.Fatalf("message %d (%d bytes): Error %q", i, len(msg), r.Error)
					}
				}
			}
			// The state message after each size reports N and Len: after a trap, the values before it.
			last, err := m.Apply(context.Background(), bigState(), testEnv())
			if err != nil || last.Error != "" {
				t.Fatalf("after the big messages: %v %q", err, last.Error)
			}
			n, size := 0, 0
			for k, b := range c.msgs {
				if k == c.trapAt {
					break
				}
				if !b.err {
					n, size = n+1, b.size
				}
			}
			want := fmt.Sprintf("%d %d", n, size)
			if got := outputData(t, last); got != want {
				t.Fatalf("state %q, want %q", got, want)
			}
		})
	}
}

// TestMessageSizes applies messages from empty to the item limit to our aos module (v2 glue, 64 MiB stack).
// Every plain-text size, and binary Data as the SU hands it over (lossy UTF-8), must evaluate. Data made of
// control characters (24 stack bytes per byte of Data) gets past what the stack holds within the item limit:
// the module must refuse it with an Error, or trap when the host's copy of it ran over static data or
// wrapped below address 0, and the state must stay as it was. After each, the process goes on.
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
	binary := make([]byte, itemLimit-overhead-4096) // room for the JSON's escapes of it
	rand.NewChaCha8([32]byte{1}).Read(binary)
	lossy := strings.ToValidUTF8(string(binary), "\uFFFD")
	ok, last := 0, 0
	for _, c := range []struct {
		name, data string
		err        string // "" (evaluates), "refused" or "trap"
	}{
		{data: ""}, {data: "x"}, {data: strings.Repeat("x", 1000)}, {data: strings.Repeat("x", 100_000)},
		{data: strings.Repeat("x", 255_000)}, {data: strings.Repeat("x", 300_000)},
		{data: strings.Repeat("x", 1_000_000)}, {data: strings.Repeat("x", 1_500_000)},
		{data: strings.Repeat("x", 2_000_000)}, {data: strings.Repeat("x", 5_000_000)},
		{data: strings.Repeat("x", 9_900_000)}, {data: strings.Repeat("x", itemLimit-overhead)},
		{name: "binary", data: lossy},
		{name: "control", data: strings.Repeat("\x01", ctlTooBig), err: "refused"},
		{name: "control", data: strings.Repeat("\x01", ctlOverrun), err: "trap"},
		{name: "control", data: strings.Repeat("\x01", ctlWrapped), err: "trap"},
	} {
		msg := msgFrom(testOwner, "Big", c.data)
		before := m.MemoryHash()
		r, err := m.Apply(context.Background(), msg, testEnv())
		if err != nil {
			t.Fatalf("%s %d bytes: host error %v", c.name, len(c.data), err)
		}
		t.Logf("%-7s %8d bytes (JSON %8d): error %q", c.name, len(c.data), len(msg), r.Error)
		switch {
		case c.err == "" && r.Error != "":
			t.Fatalf("%s %d bytes: Error %q", c.name, len(c.data), r.Error)
		case c.err == "refused" && !strings.Contains(r.Error, "message too large for the wasm stack"),
			c.err == "trap" && !strings.Contains(r.Error, "unreachable"):
			t.Fatalf("%s %d bytes: Error %q, want the module's %s", c.name, len(c.data), r.Error, c.err)
		}
		if r.Error != "" {
			if m.MemoryHash() != before {
				t.Fatalf("%d bytes: Error %q changed the state", len(c.data), r.Error)
			}
		} else {
			ok, last = ok+1, len(c.data)
		}
		s := mustApply(t, m, bigState())
		if want := fmt.Sprintf("%d %d", ok, last); s.Error != "" || outputData(t, s) != want {
			t.Fatalf("after %d bytes: state %q %q, want %q", len(c.data), outputData(t, s), s.Error, want)
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
