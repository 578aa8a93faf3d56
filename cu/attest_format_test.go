package cu

import (
	"errors"
	"testing"

	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/wallet"
)

// TestAttestationFormats: Attest writes format 3; VerifyAttestation still accepts formats 2 (Memory-Hash was
// vm.HashMemoryV2) and 1 (SHA-256 of the raw memory) and says which it read; any other format is refused.
func TestAttestationFormats(t *testing.T) {
	w, err := wallet.Generate("ed25519")
	if err != nil {
		t.Fatal(err)
	}
	ev := &Eval{Process: "P", Message: "M", Nonce: 1, Timestamp: 2, BlockHeight: 3, HashChain: "hc", Result: []byte(`{}`), MemoryHash: make([]byte, 32)}
	att, err := Attest(w, ev)
	if err != nil {
		t.Fatal(err)
	}
	a, err := VerifyAttestation(att, ev.Result)
	if err != nil || a.Format != "3" {
		t.Fatalf("format %q, %v", a.Format, err)
	}
	withFormat := func(f string) []byte {
		tags := attestationTags(ev)
		for i := range tags {
			if tags[i].Name == TagAttestFormat {
				tags[i].Value = f
			}
		}
		it := &dataitem.Item{Tags: tags}
		if err := it.Sign(w); err != nil {
			t.Fatal(err)
		}
		b, err := it.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, f := range []string{"1", "2"} {
		if a, err := VerifyAttestation(withFormat(f), ev.Result); err != nil || a.Format != f {
			t.Fatalf("format %s: %v", f, err)
		}
	}
	if _, err := VerifyAttestation(withFormat("4"), ev.Result); !errors.Is(err, ErrAttestation) {
		t.Fatalf("format 4 accepted: %v", err)
	}
}
