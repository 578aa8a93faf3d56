package arweave

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/wallet"
)

func testWallet(t testing.TB) *wallet.Wallet {
	t.Helper()
	w, err := wallet.Load(filepath.Join("testdata", "arweave-wallet.json"))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// TestChunkSizes checks the chunking rule at its edges: full chunks, the trailing empty chunk of a multiple of
// 256 KiB, and the rebalancing of a remainder under 32 KiB.
func TestChunkSizes(t *testing.T) {
	const K = 1024
	for _, c := range []struct {
		n    int
		want []int
	}{
		{0, []int{0}},
		{1, []int{1}},
		{256*K - 1, []int{256*K - 1}},
		{256 * K, []int{256 * K, 0}},
		{256*K + 1, []int{128*K + 1, 128 * K}},
		{256*K + 32*K - 1, []int{144 * K, 144*K - 1}},
		{256*K + 32*K, []int{256 * K, 32 * K}},
		{512*K + 5, []int{256 * K, 128*K + 3, 128*K + 2}},
		{768 * K, []int{256 * K, 256 * K, 256 * K, 0}},
	} {
		chunks := Chunks(make([]byte, c.n))
		var got []int
		prev := 0
		for _, ch := range chunks {
			if ch.Min != prev {
				t.Fatalf("%d bytes: chunk starts at %d, want %d", c.n, ch.Min, prev)
			}
			got = append(got, ch.Max-ch.Min)
			prev = ch.Max
		}
		if prev != c.n || !slices.Equal(got, c.want) {
			t.Errorf("%d bytes: chunk sizes %v, want %v", c.n, got, c.want)
		}
	}
}

// TestTreeProofs checks each proof against the root: walking a data_path from the root must reach the chunk.
func TestTreeProofs(t *testing.T) {
	for _, n := range []int{1, 1000, 256 * 1024, 256*1024 + 1, 5*256*1024 + 77, 9 * 256 * 1024} {
		data := randomBytes(n, uint64(n))
		tree := BuildTree(data)
		if !bytes.Equal(tree.Root, DataRoot(data)) {
			t.Fatalf("%d bytes: BuildTree and DataRoot disagree", n)
		}
		if len(tree.Chunks) != len(tree.Proofs) {
			t.Fatalf("%d bytes: %d chunks, %d proofs", n, len(tree.Chunks), len(tree.Proofs))
		}
		for i, ch := range tree.Chunks {
			if ch.Max == ch.Min {
				t.Fatalf("%d bytes: empty chunk %d kept", n, i)
			}
			if err := checkPath(tree.Root, tree.Proofs[i].Offset, n, tree.Proofs[i].Path, data[ch.Min:ch.Max]); err != nil {
				t.Errorf("%d bytes, chunk %d: %v", n, i, err)
			}
		}
	}
}

// checkPath validates a data_path the way a node does: from the root, each branch note must hash to the
// expected id, then the leaf must hash to the last one and cover dest.
func checkPath(root []byte, dest, size int, path, chunk []byte) error {
	id := root
	left, right := 0, size
	for len(path) > 64 {
		l, r, n := path[:32], path[32:64], path[64:96]
		if h := hashOfHashes(l, r, n); !bytes.Equal(h[:], id) {
			return errors.New("branch does not hash to its parent")
		}
		split := noteValue(n)
		if dest < split {
			id, right = l, split
		} else {
			id, left = r, split
		}
		path = path[96:]
	}
	if len(path) != 64 {
		return errors.New("leaf note is not 64 bytes")
	}
	hash := sha256.Sum256(chunk)
	if !bytes.Equal(path[:32], hash[:]) {
		return errors.New("leaf chunk hash does not match the chunk")
	}
	if h := hashOfHashes(path[:32], path[32:64]); !bytes.Equal(h[:], id) {
		return errors.New("leaf does not hash to its parent")
	}
	if end := noteValue(path[32:64]); end != right || end-len(chunk) != left {
		return errors.New("leaf range does not match the chunk")
	}
	return nil
}

// noteValue reads a 32-byte big-endian offset.
func noteValue(b []byte) int {
	var v int
	for _, x := range b {
		v = v<<8 | int(x)
	}
	return v
}

func sampleTx(t testing.TB, data []byte) *Transaction {
	t.Helper()
	tx := New(data, append([]dataitem.Tag{{Name: "Content-Type", Value: "application/octet-stream"}}, BundleTags...))
	tx.LastTx = randomBytes(48, 1)
	tx.Reward = "123456789"
	if err := tx.Sign(testWallet(t)); err != nil {
		t.Fatal(err)
	}
	return tx
}

func TestSignVerifyTamper(t *testing.T) {
	tx := sampleTx(t, randomBytes(300*1024, 2))
	if err := tx.Verify(); err != nil {
		t.Fatalf("fresh transaction: %v", err)
	}
	if tx.ID != dataitem.IDFromSignature(tx.Signature) || tx.Address() != testWallet(t).Address() {
		t.Fatal("id or address wrong")
	}
	for name, mutate := range map[string]func(*Transaction){
		"reward":    func(x *Transaction) { x.Reward = "123456788" },
		"quantity":  func(x *Transaction) { x.Quantity = "1" },
		"last_tx":   func(x *Transaction) { x.LastTx = randomBytes(48, 9) },
		"tag":       func(x *Transaction) { x.Tags[0].Value = "text/plain" },
		"tag order": func(x *Transaction) { x.Tags[1], x.Tags[2] = x.Tags[2], x.Tags[1] },
		"target":    func(x *Transaction) { x.Target = randomBytes(32, 3) },
		"data":      func(x *Transaction) { x.Data[5] ^= 1 },
		"data_size": func(x *Transaction) { x.DataSize++; x.Data = nil },
		"id":        func(x *Transaction) { x.ID = dataitem.IDFromSignature([]byte("x")) },
		"signature": func(x *Transaction) { x.Signature[100] ^= 1 },
	} {
		x := *tx
		x.Tags = append([]dataitem.Tag(nil), tx.Tags...)
		x.Data = append([]byte(nil), tx.Data...)
		x.Signature = append([]byte(nil), tx.Signature...)
		mutate(&x)
		if err := x.Verify(); err == nil {
			t.Errorf("%s changed: Verify passed", name)
		}
	}
	// The header alone (data sent as chunks) still verifies.
	hdr := *tx
	hdr.Data = nil
	if err := hdr.Verify(); err != nil {
		t.Errorf("header without data: %v", err)
	}
}

func TestSignNeedsRSA(t *testing.T) {
	w, err := wallet.Generate(wallet.ED25519)
	if err != nil {
		t.Fatal(err)
	}
	err = New([]byte("x"), nil).Sign(w)
	if err == nil || !strings.Contains(err.Error(), "RSA") {
		t.Fatalf("ed25519 signer: %v, want an error naming RSA", err)
	}
}

func TestEmptyData(t *testing.T) {
	tx := New(nil, []dataitem.Tag{{Name: "a", Value: "b"}})
	if tx.DataRoot != nil || tx.DataSize != 0 {
		t.Fatal("empty data has a data_root")
	}
	tx.Target, tx.Quantity = randomBytes(32, 4), "1000"
	if err := tx.Sign(testWallet(t)); err != nil {
		t.Fatal(err)
	}
	if err := tx.Verify(); err != nil {
		t.Fatal(err)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	tx := sampleTx(t, []byte("hello arweave"))
	b, err := json.Marshal(tx)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m["format"] != float64(2) || m["data_size"] != "13" || m["reward"] != "123456789" || m["quantity"] != "0" || m["target"] != "" {
		t.Errorf("JSON fields: %s", b)
	}
	if tags := m["tags"].([]any); tags[1].(map[string]any)["name"] != dataitem.B64([]byte("Bundle-Format")) {
		t.Errorf("tags are not base64url: %v", tags)
	}
	var back Transaction
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if err := back.Verify(); err != nil {
		t.Fatalf("decoded transaction: %v", err)
	}
	b2, _ := json.Marshal(&back)
	if !bytes.Equal(b, b2) {
		t.Errorf("re-encoding differs:\n%s\n%s", b, b2)
	}
	// format as a string is accepted, as nodes do.
	s := strings.Replace(string(b), `"format":2`, `"format":"2"`, 1)
	if err := json.Unmarshal([]byte(s), &back); err != nil || back.Format != 2 {
		t.Errorf("string format: %v", err)
	}
	for name, bad := range map[string]string{
		"padded owner":   strings.Replace(string(b), `"owner":"`+dataitem.B64(tx.Owner), `"owner":"`+dataitem.B64(tx.Owner)+"=", 1),
		"format 1":       strings.Replace(string(b), `"format":2`, `"format":1`, 1),
		"negative size":  strings.Replace(string(b), `"data_size":"13"`, `"data_size":"-13"`, 1),
		"reward not int": strings.Replace(string(b), `"reward":"123456789"`, `"reward":"1.5"`, 1),
		"short target":   strings.Replace(string(b), `"target":""`, `"target":"AAAA"`, 1),
		"not an object":  `[1,2]`,
	} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}
