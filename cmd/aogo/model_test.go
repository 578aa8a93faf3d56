package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestModelGen: aogo model gen writes the same bytes as package gguf's golden test model (the flags map
// to the Config), info reads it back, and bad flags are usage errors.
func TestModelGen(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "tiny.gguf")
	aogo := func(args ...string) (int, string, string) {
		var o, e bytes.Buffer
		code := run(context.Background(), args, &o, &e)
		return code, o.String(), e.String()
	}
	code, stdout, stderr := aogo("model", "gen", "--out", out, "--embd", "64", "--layers", "2", "--heads", "4", "--heads-kv", "2",
		"--ff", "172", "--vocab", "512", "--ctx", "256", "--seed", "7", "--type", "f16")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	const golden = "91f8ded628a8d344ce7eac37a03a477cb32901c0b264c9e101acad28a96680b1" // gguf's TestLlamaReproducible
	if hex.EncodeToString(sum[:]) != golden || !strings.Contains(stdout, golden) {
		t.Fatalf("sha256 %x, stdout %q", sum, stdout)
	}
	code, stdout, stderr = aogo("model", "info", out)
	if code != 0 || !strings.Contains(stdout, `general.architecture                     "llama"`) || !strings.Contains(stdout, "21 tensors (16 f16, 5 f32)") {
		t.Fatalf("info: exit %d %s %s", code, stdout, stderr)
	}
	for _, bad := range [][]string{
		{"model", "gen", "--out", out, "--vocab", "10"},
		{"model", "gen", "--out", out, "--type", "q4"},
		{"model", "gen", "--out", out, "--embd", "-5"},
		{"model", "gen", "--out", out, "extra"},
		{"model", "nope"},
	} {
		if code, _, stderr := aogo(bad...); code != 2 || stderr == "" {
			t.Errorf("%v: exit %d %q", bad, code, stderr)
		}
	}
	if b2, _ := os.ReadFile(out); !bytes.Equal(b, b2) {
		t.Fatal("a refused gen changed the file")
	}
	os.WriteFile(filepath.Join(dir, "bad.gguf"), []byte("GGUF\x03\x00\x00\x00garbage"), 0o644)
	if code, _, stderr := aogo("model", "info", filepath.Join(dir, "bad.gguf")); code != 1 || !strings.Contains(stderr, "not a well-formed GGUF") {
		t.Fatalf("info of a bad file: exit %d %q", code, stderr)
	}
}
