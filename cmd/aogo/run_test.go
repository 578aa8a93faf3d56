package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aogo/aogo/internal/testenv"
)

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func runCmd(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"run"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

const edgeWasm = "../../vm/emscripten/testdata/wat/edge2.wasm"

func TestRunEdgeModule(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"proc.json":  `{"Id":"P","Owner":"O","Tags":[]}`,
		"msgs.jsonl": "{\"c\":\"i\"}\n\n{\"c\":\"e\"}\n{\"c\":\"i\"}\n",
	})
	snap := filepath.Join(dir, "state.snap")
	code, out, errs := runCmd("--module", edgeWasm, "--format", "wasm32-unknown-emscripten2",
		"--process", filepath.Join(dir, "proc.json"), "--messages", filepath.Join(dir, "msgs.jsonl"), "--snapshot-out", snap,
		"--memory-limit", "16-mb", "--compute-limit", "1000000")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 3 results, got %q", out)
	}
	want := []string{
		`{"Output":"1","Messages":[],"Spawns":[],"Assignments":[],"GasUsed":0}`,
		`{"Output":null,"Messages":[],"Spawns":[],"Assignments":[],"Error":"boom","GasUsed":0}`,
		`{"Output":"2","Messages":[],"Spawns":[],"Assignments":[],"GasUsed":0}`,
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Fatalf("line %d:\ngot  %s\nwant %s", i, lines[i], want[i])
		}
	}
	// Continue from the snapshot: the counter goes on.
	code, out, errs = runCmd("--module", edgeWasm, "--format", "wasm32-unknown-emscripten2",
		"--process", filepath.Join(dir, "proc.json"), "--messages", filepath.Join(dir, "msgs.jsonl"), "--snapshot-in", snap)
	if code != 0 || !strings.HasPrefix(out, `{"Output":"3"`) {
		t.Fatalf("from snapshot: exit %d %q %s", code, out, errs)
	}
}

func TestRunBadInput(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"proc.json": `{"Id":"P"}`, "noid.json": `{"Owner":"O"}`, "bad.jsonl": "{\"c\":\"i\"}\nnot json\n",
		"ok.jsonl": "{\"c\":\"i\"}\n", "junk.wasm": "junk", "snap": "not a snapshot",
	})
	p := func(n string) string { return filepath.Join(dir, n) }
	cases := [][]string{
		{},
		{"--module", edgeWasm},
		{"--module", p("missing.wasm"), "--format", "wasm32-unknown-emscripten2", "--process", p("proc.json"), "--messages", p("ok.jsonl")},
		{"--module", p("junk.wasm"), "--format", "wasm32-unknown-emscripten2", "--process", p("proc.json"), "--messages", p("ok.jsonl")},
		{"--module", edgeWasm, "--format", "wasm99-nope", "--process", p("proc.json"), "--messages", p("ok.jsonl")},
		{"--module", edgeWasm, "--format", "wasm32-unknown-emscripten2", "--process", p("noid.json"), "--messages", p("ok.jsonl")},
		{"--module", edgeWasm, "--format", "wasm32-unknown-emscripten2", "--process", p("proc.json"), "--messages", p("bad.jsonl")},
		{"--module", edgeWasm, "--format", "wasm32-unknown-emscripten2", "--process", p("proc.json"), "--messages", p("ok.jsonl"), "--memory-limit", "lots"},
		{"--module", edgeWasm, "--format", "wasm32-unknown-emscripten2", "--process", p("proc.json"), "--messages", p("ok.jsonl"), "--snapshot-in", p("snap")},
		{"--module", edgeWasm, "--format", "wasm64-unknown-emscripten-draft_2024_02_15", "--process", p("proc.json"), "--messages", p("ok.jsonl")},
		{"--bogus"},
	}
	for _, c := range cases {
		code, _, errs := runCmd(c...)
		if code != 1 {
			t.Errorf("%v: exit %d, want 1", c, code)
		}
		if n := strings.Count(strings.TrimSpace(errs), "\n"); n > 0 && !strings.Contains(errs, "usage") && !strings.Contains(errs, "flag provided") {
			t.Errorf("%v: error is not one line: %q", c, errs)
		}
	}
}

// TestRunAOS drives a real aos module: boot with the Process message, then an Eval.
func TestRunAOS(t *testing.T) {
	wasm := testenv.WaoModule(t, "aos2_0_4_32")
	proc := `{"Id":"PID","Owner":"OWNER","Tags":[{"name":"Name","value":"t"},{"name":"Authority","value":"OWNER"}]}`
	boot := `{"Id":"PID","Owner":"OWNER","From":"OWNER","Target":"PID","Tags":[{"name":"Type","value":"Process"}],"Data":"","Timestamp":1,"Block-Height":1,"Module":"M"}`
	eval := `{"Id":"M1","Owner":"OWNER","From":"OWNER","Target":"PID","Tags":[{"name":"Action","value":"Eval"}],"Data":"return 6*7","Timestamp":2,"Block-Height":2}`
	dir := writeFiles(t, map[string]string{"proc.json": proc, "msgs.jsonl": boot + "\n" + eval + "\n"})
	code, out, errs := runCmd("--module", wasm, "--format", "wasm32-unknown-emscripten4",
		"--process", filepath.Join(dir, "proc.json"), "--messages", filepath.Join(dir, "msgs.jsonl"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var r struct {
		Output struct {
			Data string `json:"data"`
		}
		Error string
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r); err != nil || r.Output.Data != "42" {
		t.Fatalf("eval result %s (%v)", lines[len(lines)-1], err)
	}
}

// TestRunInterrupted: SIGINT/SIGTERM (the context ending) stop `aogo run` inside a message that loops with no
// Compute-Limit, not only between messages; it exits 1 saying the evaluation was interrupted.
func TestRunInterrupted(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"proc.json":  `{"Id":"P","Owner":"O","Tags":[]}`,
		"msgs.jsonl": "{\"c\":\"i\"}\n{\"c\":\"f\"}\n",
	})
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"run", "--module", edgeWasm, "--format", "wasm32-unknown-emscripten2",
			"--process", filepath.Join(dir, "proc.json"), "--messages", filepath.Join(dir, "msgs.jsonl")}, &out, &errb)
	}()
	time.Sleep(300 * time.Millisecond)
	cancel()
	select {
	case code := <-done:
		if code != 1 || !strings.Contains(errb.String(), "msgs.jsonl:2: evaluation interrupted") {
			t.Fatalf("exit %d, stderr %q", code, errb.String())
		}
		if !strings.HasPrefix(out.String(), `{"Output":"1"`) {
			t.Fatalf("the first message's result is missing: %q", out.String())
		}
	case <-time.After(time.Minute): // without interruption the loop spins on 2^62 fuel
		t.Fatal("aogo run kept looping after its context ended")
	}
}

// TestRunModuleCache: a first aogo run compiles the module and stores it in --cache-dir (0700, entry
// 0600); a second loads it (the entry is not rewritten) with the same results; a corrupted entry is
// recompiled and replaced, never run.
func TestRunModuleCache(t *testing.T) {
	bin := aogoBinary(t)
	dir := writeFiles(t, map[string]string{
		"proc.json":  `{"Id":"P","Owner":"O","Tags":[]}`,
		"msgs.jsonl": "{\"c\":\"i\"}\n{\"c\":\"i\"}\n",
	})
	cache := filepath.Join(dir, "cache")
	aogoRun := func() string {
		t.Helper()
		cmd := exec.Command(bin, "run", "--module", edgeWasm, "--format", "wasm32-unknown-emscripten2",
			"--process", filepath.Join(dir, "proc.json"), "--messages", filepath.Join(dir, "msgs.jsonl"), "--cache-dir", cache)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("aogo run: %v", err)
		}
		return string(out)
	}
	entry := func() (string, os.FileInfo) {
		t.Helper()
		m, _ := filepath.Glob(filepath.Join(cache, "*.cwasm"))
		if len(m) != 1 {
			t.Fatalf("cache entries %v", m)
		}
		fi, err := os.Stat(m[0])
		if err != nil {
			t.Fatal(err)
		}
		return m[0], fi
	}
	first := aogoRun()
	path, fi := entry()
	if di, _ := os.Stat(cache); di.Mode().Perm() != 0o700 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("modes: cache %v entry %v", di.Mode().Perm(), fi.Mode().Perm())
	}
	if second := aogoRun(); second != first {
		t.Fatalf("second run:\n%s\nfirst:\n%s", second, first)
	}
	if _, fi2 := entry(); !os.SameFile(fi, fi2) {
		t.Fatal("the second run rewrote the entry: it did not load it")
	}
	b, _ := os.ReadFile(path)
	b[len(b)/2] ^= 0xff
	os.WriteFile(path, b, 0o600)
	if third := aogoRun(); third != first {
		t.Fatalf("after corruption:\n%s", third)
	}
	if _, fi3 := entry(); os.SameFile(fi, fi3) {
		t.Fatal("the corrupted entry was not replaced")
	}
}
