package dataitem_test

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/internal/testenv"
	"github.com/aogo/aogo/wallet"
)

var update = flag.Bool("update", false, "regenerate testdata/ with arbundles (needs node and the npm packages)")

// vectors is testdata/vectors.json, written by scripts/node/ans104.cjs gen.
type vectors struct {
	Generator string       `json:"generator"`
	Items     []vectorItem `json:"items"`
	Bundle    struct {
		File string   `json:"file"`
		IDs  []string `json:"ids"`
	} `json:"bundle"`
	DeepHash []struct {
		Input json.RawMessage `json:"input"`
		Hash  string          `json:"hash"`
	} `json:"deepHash"`
	Wallet struct {
		File    string `json:"file"`
		Address string `json:"address"`
	} `json:"wallet"`
}

// vectorItem is how arbundles describes an item (ids, owner, target, anchor and data base64url).
type vectorItem struct {
	File          string         `json:"file"`
	Kind          string         `json:"kind"`
	ID            string         `json:"id"`
	SignatureType int            `json:"signature_type"`
	Owner         string         `json:"owner"`
	Target        string         `json:"target"`
	Anchor        string         `json:"anchor"`
	Tags          []dataitem.Tag `json:"tags"`
	Data          string         `json:"data"`
	Valid         *bool          `json:"valid"`
}

func node(t *testing.T, args ...string) []byte {
	t.Helper()
	bin := testenv.Node(t)
	mods := testenv.NodeModules(t, "arbundles")
	cmd := exec.Command(bin, append([]string{filepath.Join(testenv.RepoRoot(), "scripts", "node", "ans104.cjs")}, args...)...)
	cmd.Env = append(os.Environ(), "NODE_PATH="+mods)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node ans104.cjs %s: %v\n%s", args[0], err, stderr.String())
	}
	return out
}

func loadVectors(t *testing.T, dir string) *vectors {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Items) < 16 || len(v.DeepHash) == 0 {
		t.Fatalf("vectors.json holds %d items, %d deep hashes: regenerate with -update", len(v.Items), len(v.DeepHash))
	}
	return &v
}

func TestMain(m *testing.M) {
	flag.Parse()
	if *update {
		if err := regenerate(); err != nil {
			fmt.Fprintln(os.Stderr, "update:", err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

func regenerate() error {
	mods := os.Getenv("AOGO_NODE_MODULES")
	if mods == "" {
		mods = filepath.Join(testenv.RepoRoot(), ".cache", "node", "node_modules")
	}
	if err := os.RemoveAll("testdata"); err != nil {
		return err
	}
	cmd := exec.Command("node", filepath.Join(testenv.RepoRoot(), "scripts", "node", "ans104.cjs"), "gen", "testdata")
	cmd.Env = append(os.Environ(), "NODE_PATH="+mods)
	cmd.Stderr = os.Stderr
	return cmd.Run()
}

// checkArbundlesItems decodes and verifies every item arbundles made, comparing each field with arbundles'
// own reading, and checks re-encoding reproduces the bytes.
func checkArbundlesItems(t *testing.T, dir string, v *vectors) {
	kinds := map[string]int{}
	for _, want := range v.Items {
		t.Run(strings.TrimSuffix(want.File, ".bin"), func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, want.File))
			if err != nil {
				t.Fatal(err)
			}
			it, err := dataitem.Decode(raw)
			if err != nil {
				t.Fatal(err)
			}
			if err := it.Verify(); err != nil {
				t.Fatalf("verify: %v", err)
			}
			compareItem(t, it, want)
			again, err := it.Bytes()
			if err != nil || !bytes.Equal(again, raw) {
				t.Fatalf("re-encoding differs (%v)", err)
			}
			// Streaming path: header from a reader, data hashed from the rest.
			r := bytes.NewReader(raw)
			h, err := dataitem.ReadHeader(r)
			if err != nil {
				t.Fatal(err)
			}
			if err := h.VerifyReader(r, int64(r.Len())); err != nil || h.ID() != want.ID {
				t.Fatalf("streamed verify: %v, id %s", err, h.ID())
			}
			kinds[want.Kind]++
		})
	}
	for _, k := range []string{"arweave", "ed25519", "ethereum", "solana"} {
		if kinds[k] == 0 {
			t.Errorf("no %s item among the vectors", k)
		}
	}
	t.Run("bundle", func(t *testing.T) {
		raw, err := os.ReadFile(filepath.Join(dir, v.Bundle.File))
		if err != nil {
			t.Fatal(err)
		}
		items, err := dataitem.VerifyBundle(raw)
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != len(v.Bundle.IDs) {
			t.Fatalf("%d items, arbundles saw %d", len(items), len(v.Bundle.IDs))
		}
		for i, it := range items {
			if it.ID() != v.Bundle.IDs[i] {
				t.Fatalf("item %d id %s, arbundles %s", i, it.ID(), v.Bundle.IDs[i])
			}
		}
	})
}

func compareItem(t *testing.T, it *dataitem.Item, want vectorItem) {
	t.Helper()
	got := map[string]any{
		"id": it.ID(), "signature_type": int(it.SignatureType), "owner": dataitem.B64(it.Owner),
		"target": dataitem.B64(it.Target), "anchor": dataitem.B64(it.Anchor), "data": dataitem.B64(it.Data),
	}
	exp := map[string]any{
		"id": want.ID, "signature_type": want.SignatureType, "owner": want.Owner,
		"target": want.Target, "anchor": want.Anchor, "data": want.Data,
	}
	for k := range exp {
		if got[k] != exp[k] {
			t.Errorf("%s: aogo %v, arbundles %v", k, got[k], exp[k])
		}
	}
	if len(it.Tags) != len(want.Tags) {
		t.Fatalf("%d tags, arbundles %d", len(it.Tags), len(want.Tags))
	}
	for i := range want.Tags {
		if it.Tags[i] != want.Tags[i] {
			t.Errorf("tag %d: aogo %+v, arbundles %+v", i, it.Tags[i], want.Tags[i])
		}
	}
}

func TestArbundlesVectors(t *testing.T) {
	v := loadVectors(t, "testdata")
	checkArbundlesItems(t, "testdata", v)
}

// treeOf turns the JSON deep-hash input ({"blob": hex} | {"list": [...]}) into DeepHash's argument.
func treeOf(t *testing.T, raw json.RawMessage) any {
	var n struct {
		Blob *string           `json:"blob"`
		List []json.RawMessage `json:"list"`
	}
	if err := json.Unmarshal(raw, &n); err != nil {
		t.Fatal(err)
	}
	if n.Blob != nil {
		b, err := hex.DecodeString(*n.Blob)
		if err != nil {
			t.Fatal(err)
		}
		return dataitem.Blob(b)
	}
	l := dataitem.List{}
	for _, c := range n.List {
		l = append(l, treeOf(t, c))
	}
	return l
}

func TestDeepHashVectors(t *testing.T) {
	v := loadVectors(t, "testdata")
	for i, dh := range v.DeepHash {
		got := dataitem.DeepHash(treeOf(t, dh.Input))
		if hex.EncodeToString(got[:]) != dh.Hash {
			t.Errorf("vector %d: got %x, arbundles/arweave %s", i, got, dh.Hash)
		}
	}
}

// goItems signs one item of each signature type (two shapes each) with aogo wallets.
func goItems(t *testing.T) []*dataitem.Item {
	t.Helper()
	rsaW, err := wallet.Load(filepath.Join("testdata", "arweave-wallet.json"))
	if err != nil {
		t.Fatal(err)
	}
	edW, err := wallet.Generate(wallet.ED25519)
	if err != nil {
		t.Fatal(err)
	}
	solW, err := edW.AsSolana()
	if err != nil {
		t.Fatal(err)
	}
	ethW, err := wallet.Generate(wallet.Ethereum)
	if err != nil {
		t.Fatal(err)
	}
	var items []*dataitem.Item
	for _, w := range []*wallet.Wallet{rsaW, edW, ethW, solW} {
		for _, it := range []*dataitem.Item{
			{Data: []byte("hello from aogo")},
			{
				Target: bytes.Repeat([]byte{0xab}, 32),
				Anchor: []byte("00000000000000000000000000000007"),
				Tags: []dataitem.Tag{
					{Name: "Data-Protocol", Value: "ao"}, {Name: "Type", Value: "Message"}, {Name: "Empty", Value: ""},
					{Name: "Unicode", Value: "héllo ☃ 𝄞"}, {Name: "Long", Value: strings.Repeat("y", 3000)},
				},
				Data: bytes.Repeat([]byte{1, 2, 3}, 700),
			},
		} {
			if err := it.Sign(w); err != nil {
				t.Fatal(err)
			}
			items = append(items, it)
		}
	}
	return items
}

// TestArbundlesLive runs the cross-check both ways against the installed arbundles: fresh arbundles items
// (a new RSA key, random PSS salts) verify in aogo, and aogo's items and bundle verify and parse the same in
// arbundles.
func TestArbundlesLive(t *testing.T) {
	testenv.NodeModules(t, "arbundles")
	dir := t.TempDir()
	node(t, "gen", dir)
	t.Run("arbundles to aogo", func(t *testing.T) { checkArbundlesItems(t, dir, loadVectors(t, dir)) })

	items := goItems(t)
	var files []string
	for i, it := range items {
		b, err := it.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, fmt.Sprintf("go-%d.bin", i))
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	t.Run("aogo items to arbundles", func(t *testing.T) {
		sc := bufio.NewScanner(bytes.NewReader(node(t, append([]string{"verify"}, files...)...)))
		sc.Buffer(nil, 1<<20)
		n := 0
		for ; sc.Scan(); n++ {
			var got vectorItem
			if err := json.Unmarshal(sc.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if got.Valid == nil || !*got.Valid {
				t.Errorf("arbundles rejects aogo item %d (%s)", n, items[n].SignatureType)
			}
			compareItem(t, items[n], got)
		}
		if n != len(items) {
			t.Fatalf("arbundles answered for %d of %d items", n, len(items))
		}
	})
	t.Run("aogo bundle to arbundles", func(t *testing.T) {
		b, err := dataitem.EncodeBundle(items)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, "go-bundle.bin")
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
		var got struct {
			Valid bool         `json:"valid"`
			IDs   []string     `json:"ids"`
			Items []vectorItem `json:"items"`
		}
		if err := json.Unmarshal(node(t, "bundle", f), &got); err != nil {
			t.Fatal(err)
		}
		if !got.Valid || len(got.IDs) != len(items) {
			t.Fatalf("arbundles: valid %v, %d ids", got.Valid, len(got.IDs))
		}
		for i, it := range items {
			if got.IDs[i] != it.ID() {
				t.Errorf("bundle id %d: arbundles %s, aogo %s", i, got.IDs[i], it.ID())
			}
			compareItem(t, it, got.Items[i])
		}
	})
	t.Run("tampered aogo item rejected by arbundles", func(t *testing.T) {
		b, _ := items[2].Bytes()
		b[len(b)-1] ^= 1
		f := filepath.Join(dir, "go-bad.bin")
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
		var got vectorItem
		if err := json.Unmarshal(node(t, "verify", f), &got); err != nil {
			t.Fatal(err)
		}
		if got.Valid == nil || *got.Valid {
			t.Fatal("arbundles accepts a tampered item: the cross-check cannot fail")
		}
	})
}

// TestBundleStreamVectors reads the arbundles bundle item by item through NextReader, verifying each from its
// data stream.
func TestBundleStreamVectors(t *testing.T) {
	v := loadVectors(t, "testdata")
	f, err := os.Open(filepath.Join("testdata", v.Bundle.File))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	br, err := dataitem.NewBundleReader(f, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		it, data, n, err := br.NextReader()
		if err == io.EOF {
			if i != len(v.Bundle.IDs) {
				t.Fatalf("%d items, want %d", i, len(v.Bundle.IDs))
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := it.VerifyReader(data, n); err != nil || it.ID() != v.Bundle.IDs[i] {
			t.Fatalf("item %d: %v (id %s)", i, err, it.ID())
		}
	}
}
