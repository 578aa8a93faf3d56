package dataitem_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"

	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/wallet"
)

// TestVerifyCache: a verified signature is remembered, and nothing but that exact signature over that exact
// item by that exact key passes because of it.
func TestVerifyCache(t *testing.T) {
	w, err := wallet.Load(filepath.Join("testdata", "arweave-wallet.json"))
	if err != nil {
		t.Fatal(err)
	}
	it := benchItem(100)
	it.Anchor = []byte("verify-cache-test-anchor-0000001")
	if err := it.Sign(w); err != nil {
		t.Fatal(err)
	}
	raw, _ := it.Bytes()
	d, err := dataitem.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	h := d.SignatureData()
	if dataitem.VerifyCacheHas(dataitem.Arweave, d.Owner, h[:], d.Signature) {
		t.Fatal("remembered before any verification")
	}
	if err := d.Verify(); err != nil {
		t.Fatal(err)
	}
	if !dataitem.VerifyCacheHas(dataitem.Arweave, d.Owner, h[:], d.Signature) {
		t.Fatal("a verified signature is not remembered")
	}
	if err := d.Verify(); err != nil {
		t.Fatalf("second verification: %v", err)
	}
	// Every change of what was signed, of the signature or of the key still fails.
	for name, mutate := range map[string]func(raw []byte) []byte{
		"data":      func(r []byte) []byte { r[len(r)-1] ^= 1; return r },
		"signature": func(r []byte) []byte { r[2+100] ^= 1; return r },
		"owner":     func(r []byte) []byte { r[2+512+100] ^= 1; return r },
	} {
		m, err := dataitem.Decode(mutate(bytes.Clone(raw)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := m.Verify(); !errors.Is(err, dataitem.ErrBadSignature) {
			t.Errorf("%s changed: Verify = %v, want ErrBadSignature", name, err)
		}
	}
	// A failure is not remembered as a success, and is not remembered at all.
	bad := bytes.Clone(d.Signature)
	bad[0] ^= 1
	if err := dataitem.VerifySignature(dataitem.Arweave, d.Owner, h[:], bad); !errors.Is(err, dataitem.ErrBadSignature) {
		t.Fatalf("bad signature: %v", err)
	}
	if dataitem.VerifyCacheHas(dataitem.Arweave, d.Owner, h[:], bad) {
		t.Fatal("a failed verification is remembered")
	}
}

// TestVouchingSigner: what an ed25519 wallet signs is remembered as verified at once (the other units of the
// process need not check it again); what an RSA wallet signs is not (it is checked when first verified).
func TestVouchingSigner(t *testing.T) {
	for _, tc := range []struct {
		kind   string
		vouch  bool
		sigTyp dataitem.SignatureType
	}{{wallet.ED25519, true, dataitem.ED25519}, {wallet.RSA, false, dataitem.Arweave}} {
		w, err := wallet.Generate(tc.kind)
		if err != nil {
			t.Fatal(err)
		}
		if w.VouchesForSignatures() != tc.vouch {
			t.Fatalf("%s vouches %v, want %v", tc.kind, w.VouchesForSignatures(), tc.vouch)
		}
		it := benchItem(64)
		it.Anchor = []byte("vouching-signer-test-" + tc.kind + "-00000000000")[:32]
		if err := it.Sign(w); err != nil {
			t.Fatal(err)
		}
		h := it.SignatureData()
		if got := dataitem.VerifyCacheHas(tc.sigTyp, it.Owner, h[:], it.Signature); got != tc.vouch {
			t.Errorf("%s: remembered right after signing %v, want %v", tc.kind, got, tc.vouch)
		}
		if err := it.Verify(); err != nil {
			t.Errorf("%s: %v", tc.kind, err)
		}
	}
}
