package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aogo/aogo/dataitem"
)

func newWalletFile(t *testing.T, dir, kind string) string {
	t.Helper()
	f := filepath.Join(dir, kind+"-key.json")
	if code, _, errs := aogo(t, "wallet", "new", "--type", kind, "-o", f); code != 0 {
		t.Fatalf("wallet new: %s", errs)
	}
	return f
}

func TestItemSignVerifyInspect(t *testing.T) {
	dir := t.TempDir()
	target := dataitem.B64(bytes.Repeat([]byte{9}, 32))
	bigData := bytes.Repeat([]byte("0123456789"), 300_000) // 3 MB, signed by streaming the file
	dataFile := filepath.Join(dir, "data.bin")
	if err := os.WriteFile(dataFile, bigData, 0o644); err != nil {
		t.Fatal(err)
	}
	anchorB64 := dataitem.B64(bytes.Repeat([]byte{'z'}, 32))
	cases := []struct {
		name, kind string
		args       []string
		wantTags   []dataitem.Tag
		wantTarget string
		wantAnchor []byte
		wantData   []byte
	}{
		{"ed25519 full", "ed25519", []string{"--target", target, "--anchor", "00000000000000000000000000000001", "--tag", "Action=Eval", "--tag", "Data-Protocol=ao", "--tag", "Eq=a=b", "--data", "1 + 1"},
			[]dataitem.Tag{{Name: "Action", Value: "Eval"}, {Name: "Data-Protocol", Value: "ao"}, {Name: "Eq", Value: "a=b"}}, target, []byte("00000000000000000000000000000001"), []byte("1 + 1")},
		{"ethereum bare", "ethereum", nil, nil, "", nil, []byte{}},
		{"rsa data file, base64url anchor", "rsa", []string{"--data-file", dataFile, "--anchor", anchorB64}, nil, "", bytes.Repeat([]byte{'z'}, 32), bigData},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			key := filepath.Join("..", "..", "dataitem", "testdata", "arweave-wallet.json") // no RSA keygen per run
			if c.kind != "rsa" {
				key = newWalletFile(t, t.TempDir(), c.kind)
			}
			out := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".item")
			// Flags may come in any order, -o first here.
			code, stdout, errs := aogo(t, append([]string{"item", "sign", "-o", out, "--wallet", key}, c.args...)...)
			if code != 0 {
				t.Fatalf("sign: exit %d: %s", code, errs)
			}
			id := strings.TrimSpace(stdout)
			raw, _ := os.ReadFile(out)
			it, err := dataitem.Decode(raw)
			if err != nil {
				t.Fatal(err)
			}
			if it.ID() != id || it.Verify() != nil {
				t.Fatalf("printed id %s, file id %s, verify %v", id, it.ID(), it.Verify())
			}

			code, stdout, errs = aogo(t, "item", "verify", out)
			if code != 0 {
				t.Fatalf("verify: exit %d: %s", code, errs)
			}
			var v map[string]any
			if err := json.Unmarshal([]byte(stdout), &v); err != nil {
				t.Fatal(err)
			}
			if v["id"] != id || v["owner_address"] != it.OwnerAddress() || v["signature_type"] != float64(it.SignatureType) || len(v) != 3 {
				t.Fatalf("verify printed %s", stdout)
			}
			if !strings.HasPrefix(stdout, `{"id":`) {
				t.Fatalf("verify output field order: %s", stdout)
			}

			code, stdout, errs = aogo(t, "item", "inspect", out)
			if code != 0 {
				t.Fatalf("inspect: exit %d: %s", code, errs)
			}
			var in struct {
				ID            string         `json:"id"`
				SignatureType int            `json:"signature_type"`
				Owner         string         `json:"owner"`
				OwnerAddress  string         `json:"owner_address"`
				Target        string         `json:"target"`
				Anchor        string         `json:"anchor"`
				Tags          []dataitem.Tag `json:"tags"`
				DataSize      int            `json:"data_size"`
				Data          string         `json:"data"`
			}
			if err := json.Unmarshal([]byte(stdout), &in); err != nil {
				t.Fatal(err)
			}
			if in.ID != id || in.OwnerAddress != dataitem.Address(it.Owner) || in.Owner != dataitem.B64(it.Owner) || in.Target != c.wantTarget ||
				in.Anchor != dataitem.B64(c.wantAnchor) || in.DataSize != len(c.wantData) || in.Data != dataitem.B64(c.wantData) {
				t.Fatalf("inspect printed %.400s", stdout)
			}
			if !strings.Contains(stdout, `"tags":[`) || len(in.Tags) != len(c.wantTags) {
				t.Fatalf("tags: %v", in.Tags)
			}
			for i := range c.wantTags {
				if in.Tags[i] != c.wantTags[i] {
					t.Fatalf("tag %d: %+v", i, in.Tags[i])
				}
			}
		})
	}
}

func TestItemErrors(t *testing.T) {
	dir := t.TempDir()
	key := newWalletFile(t, dir, "ed25519")
	good := filepath.Join(dir, "good.item")
	if code, _, errs := aogo(t, "item", "sign", "--wallet", key, "--data", "x", "--tag", "A=1", "-o", good); code != 0 {
		t.Fatal(errs)
	}
	raw, _ := os.ReadFile(good)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o644)
		return p
	}
	tampered := append([]byte{}, raw...)
	tampered[len(tampered)-1] ^= 1
	badType := append([]byte{}, raw...)
	badType[0] = 9
	badPresence := append([]byte{}, raw...)
	badPresence[2+64+32] = 5
	cases := []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"verify tampered", []string{"item", "verify", write("t.item", tampered)}, 1, "signature does not verify"},
		{"verify bad type", []string{"item", "verify", write("b.item", badType)}, 1, "unsupported signature type 9"},
		{"verify bad presence", []string{"item", "verify", write("p.item", badPresence)}, 1, "presence byte is 5"},
		{"verify truncated", []string{"item", "verify", write("tr.item", raw[:50])}, 1, "truncated"},
		{"verify empty", []string{"item", "verify", write("e.item", nil)}, 1, "truncated"},
		{"verify missing", []string{"item", "verify", filepath.Join(dir, "nope")}, 1, "no such file"},
		{"verify no arg", []string{"item", "verify"}, 2, "usage"},
		{"inspect bad", []string{"item", "inspect", write("b2.item", badType)}, 1, "unsupported signature type"},
		{"sign no wallet", []string{"item", "sign", "-o", filepath.Join(dir, "o")}, 2, "--wallet and -o are required"},
		{"sign both data", []string{"item", "sign", "--wallet", key, "--data", "a", "--data-file", good, "-o", filepath.Join(dir, "o")}, 2, "not both"},
		{"sign bad tag", []string{"item", "sign", "--wallet", key, "--tag", "novalue", "-o", filepath.Join(dir, "o")}, 2, "NAME=VALUE"},
		{"sign empty tag name", []string{"item", "sign", "--wallet", key, "--tag", "=v", "-o", filepath.Join(dir, "o")}, 2, "NAME=VALUE"},
		{"sign bad target", []string{"item", "sign", "--wallet", key, "--target", "abc", "-o", filepath.Join(dir, "o")}, 1, "not a base64url id"},
		{"sign bad anchor", []string{"item", "sign", "--wallet", key, "--anchor", "short", "-o", filepath.Join(dir, "o")}, 1, "anchor must be 32 bytes"},
		{"sign 43-char non-b64 anchor", []string{"item", "sign", "--wallet", key, "--anchor", strings.Repeat("!", 43), "-o", filepath.Join(dir, "o")}, 1, "anchor must be"},
		{"sign oversized tag", []string{"item", "sign", "--wallet", key, "--tag", "A=" + strings.Repeat("v", 3073), "-o", filepath.Join(dir, "o")}, 1, "value is 3073 bytes"},
		{"sign missing data file", []string{"item", "sign", "--wallet", key, "--data-file", filepath.Join(dir, "nope"), "-o", filepath.Join(dir, "o")}, 1, "data file"},
		{"sign extra arg", []string{"item", "sign", "--wallet", key, "-o", filepath.Join(dir, "o"), "stray"}, 2, "unexpected argument"},
		{"unknown verb", []string{"item", "frob"}, 2, "unknown verb"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := aogo(t, c.args...)
			if code != c.code || !strings.Contains(errs, c.err) {
				t.Fatalf("exit %d stderr %q, want %d containing %q", code, errs, c.code, c.err)
			}
			if code == 1 && strings.Count(strings.TrimSpace(errs), "\n") != 0 {
				t.Fatalf("reason is not one line: %q", errs)
			}
			if code != 0 && out != "" {
				t.Fatalf("printed %q on failure", out)
			}
		})
	}
}

func TestItemSignEnvWallet(t *testing.T) {
	dir := t.TempDir()
	key := newWalletFile(t, dir, "ed25519")
	t.Setenv("AOGO_WALLET", key)
	out := filepath.Join(dir, "env.item")
	if code, _, errs := aogo(t, "item", "sign", "--data", "x", "-o", out); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
}
