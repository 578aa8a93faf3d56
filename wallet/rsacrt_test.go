package wallet

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"os"
	"testing"
)

func testRSAWallet(t testing.TB) *Wallet {
	t.Helper()
	raw, err := os.ReadFile("../dataitem/testdata/arweave-wallet.json")
	if err != nil {
		t.Fatal(err)
	}
	w, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// With the same salt, PSS is deterministic: the parallel CRT signer must give exactly crypto/rsa's bytes, on both
// the two-core and the one-core path.
func TestCRTSignerMatchesCryptoRSA(t *testing.T) {
	gen, err := Generate(RSA)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []*Wallet{testRSAWallet(t), gen} {
		for _, parallel := range []bool{true, false} {
			w.crt.parallel = parallel
			for i := range 20 {
				d := sha256.Sum256(fmt.Appendf(nil, "message %d %v", i, parallel))
				salt := make([]byte, 32)
				rand.Read(salt)
				want, err := rsa.SignPSS(bytes.NewReader(salt), w.rsa, crypto.SHA256, d[:], &rsa.PSSOptions{SaltLength: 32})
				if err != nil {
					t.Fatal(err)
				}
				got, err := w.crt.signPSS(bytes.NewReader(salt), d[:])
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("%s parallel=%v #%d: signature differs from crypto/rsa", w.Address(), parallel, i)
				}
				for _, sl := range []int{32, rsa.PSSSaltLengthAuto} {
					if err := rsa.VerifyPSS(&w.rsa.PublicKey, crypto.SHA256, d[:], got, &rsa.PSSOptions{SaltLength: sl}); err != nil {
						t.Fatalf("verify (salt %d): %v", sl, err)
					}
				}
			}
		}
	}
}

// A wrong half (a fault, or a corrupted key) must be caught by the e-th power check, never returned.
func TestCRTSignerFaultCheck(t *testing.T) {
	w := testRSAWallet(t)
	k := *w.crt
	k.dp = append([]byte(nil), k.dp...)
	k.dp[len(k.dp)-1] ^= 2
	d := sha256.Sum256([]byte("x"))
	if sig, err := k.signPSS(rand.Reader, d[:]); err == nil {
		t.Fatalf("corrupted dp signed without error (%d bytes)", len(sig))
	}
	if _, err := k.signPSS(rand.Reader, d[:5]); err == nil {
		t.Fatal("short digest accepted")
	}
}

// BenchmarkRSASign compares crypto/rsa with the two-core CRT signer (sequential halves too, for the ratio).
func BenchmarkRSASign(b *testing.B) {
	w := testRSAWallet(b)
	d := sha256.Sum256([]byte("bench"))
	b.Run("crypto-rsa", func(b *testing.B) {
		for b.Loop() {
			if _, err := rsa.SignPSS(rand.Reader, w.rsa, crypto.SHA256, d[:], &rsa.PSSOptions{SaltLength: 32}); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, parallel := range []bool{false, true} {
		k := *w.crt
		k.parallel = parallel
		b.Run(fmt.Sprintf("crt-parallel=%v", parallel), func(b *testing.B) {
			for b.Loop() {
				if _, err := k.signPSS(rand.Reader, d[:]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
