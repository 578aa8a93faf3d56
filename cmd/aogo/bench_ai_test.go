package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aogo/aogo/internal/testenv"
)

// TestBenchAI runs `aogo bench ai` as a user would, on a tiny model and a few tokens so CI stays lean: it
// checks correctness (our outputs equal the reference's, which the command itself requires) and that every
// figure is there, never a speed.
func TestBenchAI(t *testing.T) {
	node := testenv.Node(t)
	nm := testenv.NodeModules(t, "@permaweb/weavedrive")
	testenv.NodeModules(t, "@permaweb/ao-loader")
	testenv.WaoModule(t, "llama")
	var out, errb bytes.Buffer
	args := []string{"bench", "ai", "--embd", "64", "--layers", "2", "--heads", "4", "--ff", "172", "--vocab", "512", "--ctx", "256",
		"--messages", "3", "--tokens", "4", "--node", node, "--node-modules", nm, "--json",
		"--cache-dir", filepath.Join(testenv.RepoRoot(), ".cache", "wasm")}
	if code := run(context.Background(), args, &out, &errb); code != 0 {
		t.Fatalf("aogo bench ai: exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	var rep benchAIReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out.String())
	}
	if !rep.Identical || rep.Messages != 3 || rep.Tokens != 4 || rep.ModelBytes < 100_000 || len(rep.ModelSHA256) != 64 {
		t.Fatalf("report: %+v", rep)
	}
	for name, s := range map[string]benchAISide{"aogo": rep.Ours, "node": rep.Node} {
		if len(s.MessageSeconds) != 3 || s.TokensPerSecond <= 0 || s.LoadSeconds <= 0 || s.OpenSeconds <= 0 || s.PeakRSSBytes <= 0 {
			t.Errorf("%s: figures missing: %+v", name, s)
		}
	}
	if rep.Ours.SnapshotBytes <= 0 || rep.Ratio <= 0 {
		t.Errorf("snapshot %d bytes, ratio %v", rep.Ours.SnapshotBytes, rep.Ratio)
	}
	if len(rep.Output) != 3 || rep.Output[0] == "" || rep.Output[0] == rep.Output[1] {
		t.Errorf("generated text: %q (want 3 different, non-empty continuations)", rep.Output)
	}
	t.Logf("aogo %.1f tokens/s, node %.1f (tiny model: not a speed measurement)", rep.Ours.TokensPerSecond, rep.Node.TokensPerSecond)
}

// TestBenchAIMissing: without node or the npm packages the bench fails loudly, before generating anything.
func TestBenchAIMissing(t *testing.T) {
	exe, err := os.Executable() // an executable that exists, standing in for node where node is not what is missing
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--node", filepath.Join(t.TempDir(), "no-node")}, "node not found"},
		{[]string{"--node", exe, "--node-modules", t.TempDir()}, "npm package @permaweb/ao-loader not found"},
		{[]string{"--messages", "10", "--tokens", "64"}, "does not fit the model's context"},
	} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), append([]string{"bench", "ai"}, c.args...), &out, &errb); code != 1 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("bench ai %v: exit %d, %q; want 1 and %q", c.args, code, errb.String(), c.want)
		}
	}
}
