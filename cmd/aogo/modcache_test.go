package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aogo/aogo/aos"
)

// TestModuleCacheSharedByRunAndDev: `aogo run` and the CU of `aogo dev` (in a data dir of its own) share one
// compiled-module cache, as they do by default (the user's cache directory): aos compiled by aogo run is not
// compiled again when the network starts, and the entry is not rewritten.
func TestModuleCacheSharedByRunAndDev(t *testing.T) {
	bin := aogoBinary(t)
	cache := filepath.Join(t.TempDir(), "wasm")
	dir := writeFiles(t, map[string]string{"proc.json": `{"Id":"P","Owner":"O","Tags":[]}`, "msgs.jsonl": ""})
	module := filepath.Join(dir, "aos.wasm")
	if err := os.WriteFile(module, aos.Module, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--module", module, "--format", aos.Format, "--process", filepath.Join(dir, "proc.json"),
		"--messages", filepath.Join(dir, "msgs.jsonl"), "--cache-dir", cache)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("aogo run: %v\n%s", err, out)
	}
	entries, _ := filepath.Glob(filepath.Join(cache, "*.cwasm"))
	if len(entries) != 1 {
		t.Fatalf("cache entries after aogo run: %v", entries)
	}
	before, err := os.Stat(entries[0])
	if err != nil {
		t.Fatal(err)
	}
	errOut, _ := devStartOutput(t, bin, t.TempDir(), "--cache-dir", cache)
	if strings.Contains(errOut, "compiling") {
		t.Fatalf("aogo dev compiled the module aogo run had compiled:\n%s", errOut)
	}
	after, _ := filepath.Glob(filepath.Join(cache, "*.cwasm"))
	if len(after) != 1 || after[0] != entries[0] {
		t.Fatalf("cache entries after aogo dev: %v", after)
	}
	if fi, err := os.Stat(after[0]); err != nil || !os.SameFile(before, fi) {
		t.Fatalf("aogo dev rewrote the entry (%v)", err)
	}
}
