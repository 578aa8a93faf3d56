package arweave

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/internal/testenv"
)

// TestArweaveJS cross-checks chunking, proofs, data_root, signature data, signing and verification with the npm
// arweave package, in both directions: arweave-js verifies what aogo signs and aogo verifies what arweave-js
// signs, for data sizes around every chunking edge.
func TestArweaveJS(t *testing.T) {
	bin := testenv.Node(t)
	mods := testenv.NodeModules(t, "arweave")
	const K = 1024
	sizes := []int{0, 1, 1000, 256*K - 1, 256 * K, 256*K + 1, 256*K + 32*K - 1, 256*K + 32*K, 512*K + 5, 768 * K, 1000*K + 3}
	type jsTag struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
	type jsCase struct {
		Data     string          `json:"data"`
		Tags     []jsTag         `json:"tags"`
		Target   string          `json:"target"`
		Quantity string          `json:"quantity"`
		Reward   string          `json:"reward"`
		LastTx   string          `json:"last_tx"`
		GoTx     json.RawMessage `json:"go_tx"`
	}
	w := testWallet(t)
	var cases []jsCase
	var ours []*Transaction
	for i, n := range sizes {
		data := randomBytes(n, uint64(i+100))
		tags := []dataitem.Tag{{Name: "Bundle-Format", Value: "binary"}, {Name: "n", Value: string(rune('a' + i))}, {Name: "bin\x00ary", Value: "\xff\x01"}}
		tx := New(data, tags)
		tx.Reward = "65595508"
		tx.LastTx = randomBytes(48, uint64(i))
		if n == 0 {
			tx.Target, tx.Quantity = randomBytes(32, uint64(i)), "1000000"
		}
		if i%2 == 1 {
			tx.LastTx = randomBytes(32, uint64(i))
		}
		if err := tx.Sign(w); err != nil {
			t.Fatal(err)
		}
		raw, err := json.Marshal(tx)
		if err != nil {
			t.Fatal(err)
		}
		c := jsCase{Data: dataitem.B64(data), Target: dataitem.B64(tx.Target), Quantity: tx.Quantity, Reward: tx.Reward, LastTx: dataitem.B64(tx.LastTx), GoTx: raw}
		for _, tg := range tags {
			c.Tags = append(c.Tags, jsTag{dataitem.B64([]byte(tg.Name)), dataitem.B64([]byte(tg.Value))})
		}
		cases = append(cases, c)
		ours = append(ours, tx)
	}
	in, _ := json.Marshal(cases)
	cmd := exec.Command(bin, filepath.Join("testdata", "arweave-js.cjs"), filepath.Join("testdata", "arweave-wallet.json"))
	cmd.Env = append(os.Environ(), "NODE_PATH="+mods)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	outb, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var results []struct {
		DataRoot string `json:"data_root"`
		Chunks   []struct {
			Min, Max int
			Hash     string
		} `json:"chunks"`
		Proofs []struct {
			Offset int
			Path   string
		} `json:"proofs"`
		JSTx       json.RawMessage `json:"js_tx"`
		GoSigData  string          `json:"go_sigdata"`
		GoVerified bool            `json:"go_verified"`
	}
	if err := json.Unmarshal(outb, &results); err != nil || len(results) != len(sizes) {
		t.Fatalf("node output (%d results): %v", len(results), err)
	}
	for i, r := range results {
		n, tx := sizes[i], ours[i]
		if got := dataitem.B64(tx.DataRoot); got != r.DataRoot {
			t.Errorf("%d bytes: data_root %s, arweave-js %s", n, got, r.DataRoot)
		}
		tree := BuildTree(tx.Data)
		if len(tree.Chunks) != len(r.Chunks) || len(tree.Proofs) != len(r.Proofs) {
			t.Errorf("%d bytes: %d chunks/%d proofs, arweave-js %d/%d", n, len(tree.Chunks), len(tree.Proofs), len(r.Chunks), len(r.Proofs))
		} else {
			for j, c := range r.Chunks {
				g := tree.Chunks[j]
				if g.Min != c.Min || g.Max != c.Max || dataitem.B64(g.Hash[:]) != c.Hash {
					t.Errorf("%d bytes: chunk %d [%d,%d), arweave-js [%d,%d)", n, j, g.Min, g.Max, c.Min, c.Max)
				}
				if p := tree.Proofs[j]; p.Offset != r.Proofs[j].Offset || dataitem.B64(p.Path) != r.Proofs[j].Path {
					t.Errorf("%d bytes: proof %d differs from arweave-js's", n, j)
				}
			}
		}
		sd, err := tx.SignatureData()
		if err != nil || dataitem.B64(sd[:]) != r.GoSigData {
			t.Errorf("%d bytes: signature data differs from arweave-js's (%v)", n, err)
		}
		if !r.GoVerified {
			t.Errorf("%d bytes: arweave-js does not verify aogo's transaction", n)
		}
		var js Transaction
		if err := json.Unmarshal(r.JSTx, &js); err != nil {
			t.Errorf("%d bytes: decode arweave-js's transaction: %v", n, err)
			continue
		}
		if err := js.Verify(); err != nil {
			t.Errorf("%d bytes: arweave-js's transaction does not verify: %v", n, err)
		}
		if js.Address() != tx.Address() || js.DataSize != uint64(n) || !bytes.Equal(js.DataRoot, tx.DataRoot) {
			t.Errorf("%d bytes: arweave-js's transaction fields differ", n)
		}
	}
}
