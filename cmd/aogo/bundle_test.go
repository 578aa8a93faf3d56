package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aogo/aogo/dataitem"
)

func TestBundleCommands(t *testing.T) {
	dir := t.TempDir()
	var items, ids []string
	for i, kind := range []string{"ed25519", "ethereum", "ed25519"} {
		key := newWalletFile(t, t.TempDir(), kind)
		f := filepath.Join(dir, fmt.Sprintf("%d.item", i))
		code, out, errs := aogo(t, "item", "sign", "--wallet", key, "--tag", fmt.Sprintf("N=%d", i), "--data", strings.Repeat("d", i*1000), "-o", f)
		if code != 0 {
			t.Fatal(errs)
		}
		items = append(items, f)
		ids = append(ids, strings.TrimSpace(out))
	}
	bundle := filepath.Join(dir, "b.bundle")
	code, out, errs := aogo(t, append(append([]string{"bundle", "pack"}, items...), "-o", bundle)...)
	if code != 0 || strings.Fields(out)[2] != ids[2] {
		t.Fatalf("pack: exit %d %q %s", code, out, errs)
	}
	raw, _ := os.ReadFile(bundle)
	decoded, err := dataitem.VerifyBundle(raw)
	if err != nil || len(decoded) != 3 {
		t.Fatalf("packed bundle: %v", err)
	}

	code, out, errs = aogo(t, "bundle", "verify", bundle)
	if code != 0 {
		t.Fatalf("verify: %s", errs)
	}
	var v struct {
		Items int      `json:"items"`
		IDs   []string `json:"ids"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.Items != 3 || strings.Join(v.IDs, ",") != strings.Join(ids, ",") {
		t.Fatalf("verify printed %s (%v)", out, err)
	}

	outDir := filepath.Join(dir, "unpacked")
	code, out, errs = aogo(t, "bundle", "unpack", bundle, "-o", outDir)
	if code != 0 || strings.Join(strings.Fields(out), ",") != strings.Join(ids, ",") {
		t.Fatalf("unpack: exit %d %q %s", code, out, errs)
	}
	for i, id := range ids {
		a, _ := os.ReadFile(items[i])
		b, err := os.ReadFile(filepath.Join(outDir, id))
		if err != nil || string(a) != string(b) {
			t.Fatalf("unpacked item %d differs (%v)", i, err)
		}
	}

	// Failures: tampered item, trailing bytes, truncation, not a bundle.
	tampered := append([]byte{}, raw...)
	tampered[len(tampered)-1] ^= 1
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o644)
		return p
	}
	cases := []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"verify tampered", []string{"bundle", "verify", write("t.bundle", tampered)}, 1, "bundle item 2 (" + ids[2] + "): signature does not verify"},
		{"verify trailing", []string{"bundle", "verify", write("tr.bundle", append(append([]byte{}, raw...), 1, 2, 3))}, 1, "3 trailing bytes"},
		{"verify truncated", []string{"bundle", "verify", write("tc.bundle", raw[:len(raw)-10])}, 1, "truncated"},
		{"verify garbage", []string{"bundle", "verify", write("g.bundle", []byte("hello"))}, 1, "truncated item count"},
		{"unpack truncated", []string{"bundle", "unpack", write("tc2.bundle", raw[:len(raw)-10]), "-o", filepath.Join(dir, "u2")}, 1, "truncated"},
		{"pack not an item", []string{"bundle", "pack", bundle, "-o", filepath.Join(dir, "x.bundle")}, 1, "invalid"},
		{"pack no output", []string{"bundle", "pack", items[0]}, 2, "usage"},
		{"unpack no dir", []string{"bundle", "unpack", bundle}, 2, "usage"},
		{"verify no arg", []string{"bundle", "verify"}, 2, "usage"},
		{"unknown verb", []string{"bundle", "frob"}, 2, "unknown verb"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errs := aogo(t, c.args...)
			if code != c.code || !strings.Contains(errs, c.err) {
				t.Fatalf("exit %d stderr %q, want %d containing %q", code, errs, c.code, c.err)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "x.bundle")); !os.IsNotExist(err) {
		t.Fatal("failed pack left its output behind")
	}
}
