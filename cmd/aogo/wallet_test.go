package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aogo/aogo/wallet"
)

// aogo runs the command in-process and returns the exit code, stdout and stderr.
func aogo(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestWalletCommands(t *testing.T) {
	dir := t.TempDir()
	for _, kind := range []string{"ed25519", "ethereum", "rsa"} {
		t.Run(kind, func(t *testing.T) {
			f := filepath.Join(dir, kind+".json")
			code, out, errs := aogo(t, "wallet", "new", "--type", kind, "-o", f)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			w, err := wallet.Load(f)
			if err != nil {
				t.Fatal(err)
			}
			if strings.TrimSpace(out) != w.Address() || w.Kind() != kind {
				t.Fatalf("printed %q, file holds a %s key with address %s", out, w.Kind(), w.Address())
			}
			if st, _ := os.Stat(f); st.Mode().Perm() != 0o600 {
				t.Fatalf("key file mode %v", st.Mode().Perm())
			}
			code, out, _ = aogo(t, "wallet", "address", f)
			if code != 0 || strings.TrimSpace(out) != w.Address() {
				t.Fatalf("address: exit %d, %q", code, out)
			}
		})
	}
	existing := filepath.Join(dir, "ed25519.json")
	before, _ := os.ReadFile(existing)
	garbage := filepath.Join(dir, "garbage.json")
	os.WriteFile(garbage, []byte("{}"), 0o600)
	cases := []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"no verb", []string{"wallet"}, 2, "usage"},
		{"unknown verb", []string{"wallet", "frob"}, 2, "unknown verb"},
		{"no output", []string{"wallet", "new"}, 2, "usage"},
		{"bad type", []string{"wallet", "new", "--type", "dsa", "-o", filepath.Join(dir, "x")}, 2, "unknown type"},
		{"refuses to overwrite", []string{"wallet", "new", "--type", "ed25519", "-o", existing}, 1, "already exists"},
		{"address missing file", []string{"wallet", "address", filepath.Join(dir, "nope")}, 1, "no such file"},
		{"address bad key", []string{"wallet", "address", garbage}, 1, "unsupported JWK kty"},
		{"address no arg", []string{"wallet", "address"}, 2, "usage"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errs := aogo(t, c.args...)
			if code != c.code || !strings.Contains(errs, c.err) {
				t.Fatalf("exit %d stderr %q, want %d containing %q", code, errs, c.code, c.err)
			}
		})
	}
	if after, _ := os.ReadFile(existing); !bytes.Equal(before, after) {
		t.Fatal("existing key file was modified")
	}
}
