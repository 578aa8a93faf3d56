package wallet

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/aogo/aogo/dataitem"
)

func TestSignVerifyRoundTrip(t *testing.T) {
	for _, kind := range []string{RSA, ED25519, Ethereum} {
		t.Run(kind, func(t *testing.T) {
			w, err := Generate(kind)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "key.json")
			if err := w.Save(path); err != nil {
				t.Fatal(err)
			}
			w2, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if w2.Address() != w.Address() || !bytes.Equal(w2.Owner(), w.Owner()) {
				t.Fatalf("reloaded wallet differs: %s vs %s", w2.Address(), w.Address())
			}
			it := &dataitem.Item{Tags: []dataitem.Tag{{Name: "Action", Value: "Ping"}}, Data: []byte("hello"), Anchor: bytes.Repeat([]byte{'a'}, 32)}
			if err := it.Sign(w2); err != nil {
				t.Fatal(err)
			}
			raw, err := it.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			got, err := dataitem.Decode(raw)
			if err != nil {
				t.Fatal(err)
			}
			if err := got.Verify(); err != nil {
				t.Fatalf("verify: %v", err)
			}
			if got.ID() != it.ID() || got.OwnerAddress() != w.Address() {
				t.Fatalf("id/address mismatch")
			}
			// Flip one data byte: the signature must no longer verify.
			raw[len(raw)-1] ^= 1
			bad, err := dataitem.Decode(raw)
			if err != nil {
				t.Fatal(err)
			}
			if err := bad.Verify(); err != dataitem.ErrBadSignature {
				t.Fatalf("tampered item: got %v, want ErrBadSignature", err)
			}
		})
	}
}
