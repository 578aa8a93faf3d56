package dataitem_test

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"math/big"
	"path/filepath"
	"testing"
	"time"

	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/wallet"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

// benchWallets are one wallet per signature type; the RSA key is the committed test key (no keygen per run).
func benchWallets(b *testing.B) map[string]*wallet.Wallet {
	b.Helper()
	rsaW, err := wallet.Load(filepath.Join("testdata", "arweave-wallet.json"))
	if err != nil {
		b.Fatal(err)
	}
	edW, _ := wallet.Generate(wallet.ED25519)
	solW, _ := edW.AsSolana()
	ethW, _ := wallet.Generate(wallet.Ethereum)
	return map[string]*wallet.Wallet{"arweave": rsaW, "ed25519": edW, "ethereum": ethW, "solana": solW}
}

// benchItem is a typical ao message: target, anchor, 6 tags, 100 bytes of data.
func benchItem(data int) *dataitem.Item {
	return &dataitem.Item{
		Target: bytes.Repeat([]byte{1}, 32),
		Anchor: []byte("00000000000000000000000000000001"),
		Tags: []dataitem.Tag{
			{Name: "Data-Protocol", Value: "ao"}, {Name: "Variant", Value: "ao.TN.1"}, {Name: "Type", Value: "Message"},
			{Name: "Action", Value: "Transfer"}, {Name: "Recipient", Value: "ZxQ5c0dTdHJmVzlZN2Y0bWFBdjB6a1JVMEhvOUxnd3c"},
			{Name: "Quantity", Value: "1000000000000"},
		},
		Data: bytes.Repeat([]byte{'x'}, data),
	}
}

var kinds = []string{"arweave", "ed25519", "ethereum", "solana"}

func BenchmarkSign(b *testing.B) {
	ws := benchWallets(b)
	for _, k := range kinds {
		b.Run(k, func(b *testing.B) {
			it := benchItem(100)
			for b.Loop() {
				if err := it.Sign(ws[k]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerify decodes nothing: it verifies an already decoded item (deep hash + signature check).
func BenchmarkVerify(b *testing.B) {
	dataitem.NoVerifyCache(b) // the verification itself, not a remembered one
	ws := benchWallets(b)
	for _, k := range kinds {
		b.Run(k, func(b *testing.B) {
			it := benchItem(100)
			if err := it.Sign(ws[k]); err != nil {
				b.Fatal(err)
			}
			raw, _ := it.Bytes()
			d, _ := dataitem.Decode(raw)
			b.ReportAllocs()
			for b.Loop() {
				if err := d.Verify(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPrimitive is the bare crypto check each Verify wraps, on a fixed 48-byte message, for the ratio
// Verify/Primitive.
func BenchmarkPrimitive(b *testing.B) {
	ws := benchWallets(b)
	msg := bytes.Repeat([]byte{7}, 48)
	b.Run("arweave", func(b *testing.B) {
		sig, _ := ws["arweave"].Sign(msg)
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(ws["arweave"].Owner()), E: 65537}
		d := sha256.Sum256(msg)
		for b.Loop() {
			if err := rsa.VerifyPSS(pub, crypto.SHA256, d[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ed25519", func(b *testing.B) {
		sig, _ := ws["ed25519"].Sign(msg)
		pub := ed25519.PublicKey(ws["ed25519"].Owner())
		for b.Loop() {
			if !ed25519.Verify(pub, msg, sig) {
				b.Fatal("bad")
			}
		}
	})
	eth := ws["ethereum"]
	sig, _ := eth.Sign(msg)
	hash := dataitem.EthereumMessageHash(msg)
	b.Run("ethereum-verify", func(b *testing.B) {
		pub, _ := secp256k1.ParsePubKey(eth.Owner())
		var r, s secp256k1.ModNScalar
		r.SetByteSlice(sig[:32])
		s.SetByteSlice(sig[32:64])
		es := ecdsa.NewSignature(&r, &s)
		for b.Loop() {
			if !es.Verify(hash, pub) {
				b.Fatal("bad")
			}
		}
	})
	b.Run("ethereum-recover", func(b *testing.B) {
		compact := append([]byte{sig[64]}, sig[:64]...)
		for b.Loop() {
			if _, _, err := ecdsa.RecoverCompact(compact, hash); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("solana", func(b *testing.B) {
		sig, _ := ws["solana"].Sign(msg)
		pub := ed25519.PublicKey(ws["solana"].Owner())
		hexMsg := []byte(hex.EncodeToString(msg))
		for b.Loop() {
			if !ed25519.Verify(pub, hexMsg, sig) {
				b.Fatal("bad")
			}
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	dataitem.NoVerifyCache(b) // the verification itself, not a remembered one
	w, _ := wallet.Generate(wallet.ED25519)
	for _, size := range []struct {
		name string
		n    int
	}{{"1KiB", 1 << 10}, {"1MiB", 1 << 20}} {
		it := benchItem(size.n)
		if err := it.Sign(w); err != nil {
			b.Fatal(err)
		}
		raw, _ := it.Bytes()
		b.Run(size.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if _, err := dataitem.Decode(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(size.name+"-verify", func(b *testing.B) {
			d, _ := dataitem.Decode(raw)
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if err := d.Verify(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkSignatureData(b *testing.B) {
	w, _ := wallet.Generate(wallet.ED25519)
	it := benchItem(100)
	_ = it.Sign(w)
	raw, _ := it.Bytes()
	d, _ := dataitem.Decode(raw)
	b.ReportAllocs()
	for b.Loop() {
		d.SignatureData()
	}
}

func BenchmarkBundle1000(b *testing.B) {
	dataitem.NoVerifyCache(b) // the verification itself, not a remembered one
	w, _ := wallet.Generate(wallet.ED25519)
	items := make([]*dataitem.Item, 1000)
	for i := range items {
		items[i] = benchItem(100)
		if err := items[i].Sign(w); err != nil {
			b.Fatal(err)
		}
	}
	raw, err := dataitem.EncodeBundle(items)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encode", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := dataitem.EncodeBundle(items); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := dataitem.DecodeBundle(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("verify", func(b *testing.B) {
		for b.Loop() {
			if _, err := dataitem.VerifyBundle(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkVerifyVsPrimitive alternates Item.Verify and the bare primitive call in one loop so that machine
// load hits both alike, and reports each one's ns/op and their ratio. For arweave the primitive is
// crypto/rsa.VerifyPSS, which Verify no longer calls (its own variable-time check, rsapss.go): the ratio is
// below 1 (0.3-0.5).
func BenchmarkVerifyVsPrimitive(b *testing.B) {
	dataitem.NoVerifyCache(b) // the verification itself, not a remembered one
	ws := benchWallets(b)
	for _, k := range kinds {
		b.Run(k, func(b *testing.B) {
			it := benchItem(100)
			if err := it.Sign(ws[k]); err != nil {
				b.Fatal(err)
			}
			raw, _ := it.Bytes()
			d, _ := dataitem.Decode(raw)
			h := d.SignatureData()
			prim := primitive(b, k, ws[k].Owner(), h[:], d.Signature)
			var tv, tp time.Duration
			for b.Loop() {
				t0 := time.Now()
				if err := d.Verify(); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if !prim() {
					b.Fatal("primitive rejects")
				}
				tp += time.Since(t1)
				tv += t1.Sub(t0)
			}
			b.ReportMetric(float64(tv.Nanoseconds())/float64(b.N), "verify-ns/op")
			b.ReportMetric(float64(tp.Nanoseconds())/float64(b.N), "primitive-ns/op")
			b.ReportMetric(float64(tv)/float64(tp), "ratio")
		})
	}
}

// primitive returns the bare signature check of each type over a precomputed deep hash (for Ethereum, the
// plain ECDSA verify of the EIP-191 hash, not the key recovery aogo uses).
func primitive(b *testing.B, kind string, owner, msg, sig []byte) func() bool {
	switch kind {
	case "arweave":
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(owner), E: 65537}
		d := sha256.Sum256(msg)
		return func() bool {
			return rsa.VerifyPSS(pub, crypto.SHA256, d[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}) == nil
		}
	case "ed25519":
		return func() bool { return ed25519.Verify(owner, msg, sig) }
	case "solana":
		hexMsg := []byte(hex.EncodeToString(msg))
		return func() bool { return ed25519.Verify(owner, hexMsg, sig) }
	case "ethereum":
		pub, _ := secp256k1.ParsePubKey(owner)
		var r, s secp256k1.ModNScalar
		r.SetByteSlice(sig[:32])
		s.SetByteSlice(sig[32:64])
		es := ecdsa.NewSignature(&r, &s)
		hash := dataitem.EthereumMessageHash(msg)
		return func() bool { return es.Verify(hash, pub) }
	}
	b.Fatalf("no primitive for %s", kind)
	return nil
}
