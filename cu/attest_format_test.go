package cu

import (
	"errors"
	"testing"

	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/wallet"
)

// TestAttestationFormats: Attest writes format 2; VerifyAttestation still accepts format 1 (Memory-Hash was
// SHA-256 of the raw memory then) and says which it read; any other format is refused.
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
	if err != nil || a.Format != "2" {
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
	if a, err := VerifyAttestation(withFormat("1"), ev.Result); err != nil || a.Format != "1" {
		t.Fatalf("format 1: %v", err)
	}
	if _, err := VerifyAttestation(withFormat("3"), ev.Result); !errors.Is(err, ErrAttestation) {
		t.Fatalf("format 3 accepted: %v", err)
	}
}
