package dataitem

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// stdVerify is the reference verifyRSAPSS must agree with.
func stdVerify(pub *rsa.PublicKey, digest, sig []byte) bool {
	return rsa.VerifyPSS(pub, crypto.SHA256, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}) == nil
}

// rawSign is the RSA private operation on an arbitrary encoded message: it lets the tests hand both verifiers
// signatures over malformed encodings, which no signer would make.
func rawSign(k *rsa.PrivateKey, em []byte) []byte {
	m := new(big.Int).SetBytes(em)
	m.Mod(m, k.N)
	// By the two primes (CRT), ~3x faster than m^D mod N: the fuzz target signs once per input.
	p, q, c := k.Primes[0], k.Primes[1], k.Precomputed
	m1 := new(big.Int).Exp(m, c.Dp, p)
	m2 := new(big.Int).Exp(m, c.Dq, q)
	h := m1.Sub(m1, m2)
	h.Mul(h, c.Qinv).Mod(h, p)
	return h.Mul(h, q).Add(h, m2).FillBytes(make([]byte, k.Size()))
}

// pssEncode is EMSA-PSS-ENCODE with SHA-256 and the given salt, to emBits bits, left-padded to the key's size.
func pssEncode(k *rsa.PrivateKey, digest, salt []byte) []byte {
	emBits := k.N.BitLen() - 1
	emLen := (emBits + 7) / 8
	h := sha256.New()
	h.Write(make([]byte, 8))
	h.Write(digest)
	h.Write(salt)
	hash := h.Sum(nil)
	db := make([]byte, emLen-len(hash)-1)
	if len(db) < len(salt)+1 {
		return nil
	}
	db[len(db)-len(salt)-1] = 1
	copy(db[len(db)-len(salt):], salt)
	mgf1SHA256XOR(db, hash)
	db[0] &= 0xff >> (8*emLen - emBits)
	em := append(append(db, hash...), 0xbc)
	return append(make([]byte, k.Size()-emLen), em...)
}

var testKeys = sync.OnceValue(func() []*rsa.PrivateKey {
	var keys []*rsa.PrivateKey
	// 1024 bits, and 1025: a modulus of 8k+1 bits, whose encoded message is a byte shorter than the key.
	for _, bits := range []int{1024, 1025} {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			panic(err)
		}
		keys = append(keys, k)
	}
	return keys
})

// TestVerifyRSAPSSAgreesWithCryptoRSA: on signatures of every salt length, on wrong digests, on malformed
// encodings and on garbage, verifyRSAPSS says what crypto/rsa says.
func TestVerifyRSAPSSAgreesWithCryptoRSA(t *testing.T) {
	w := newRSATestKey(t)
	keys := append([]*rsa.PrivateKey{w}, testKeys()...)
	digest := sha256.Sum256([]byte("message"))
	other := sha256.Sum256([]byte("other"))
	for _, k := range keys {
		owner := k.N.FillBytes(make([]byte, k.Size()))
		check := func(what string, d, sig []byte, want bool) {
			t.Helper()
			std := stdVerify(&k.PublicKey, d, sig)
			if got := verifyRSAPSS(owner, d, sig); got != std || std != want {
				t.Errorf("%d bits, %s: ours %v, crypto/rsa %v, want %v", k.N.BitLen(), what, got, std, want)
			}
		}
		for _, saltLen := range []int{0, 1, 20, 32, 33, rsa.PSSSaltLengthAuto} {
			sig, err := rsa.SignPSS(rand.Reader, k, crypto.SHA256, digest[:], &rsa.PSSOptions{SaltLength: saltLen})
			if err != nil {
				t.Fatal(err)
			}
			check("salt", digest[:], sig, true)
			check("wrong digest", other[:], sig, false)
			flipped := append([]byte(nil), sig...)
			flipped[len(flipped)/2] ^= 0x10
			check("flipped bit", digest[:], flipped, false)
		}
		// Malformed encodings, signed raw.
		good := pssEncode(k, digest[:], []byte("0123456789abcdef0123456789abcdef"))
		off := k.Size() - (k.N.BitLen()+6)/8 // where the encoded message starts
		for name, mutate := range map[string]func(em []byte){
			"as made":          func(em []byte) {},
			"no 0xbc":          func(em []byte) { em[len(em)-1] = 0xbd },
			"top bit flipped":  func(em []byte) { em[off] ^= 0x80 },
			"hash changed":     func(em []byte) { em[len(em)-2] ^= 1 },
			"padding not zero": func(em []byte) { em[off+1] ^= 0x40 },
		} {
			em := append([]byte(nil), good...)
			mutate(em)
			check(name, digest[:], rawSign(k, em), name == "as made")
		}
		// A salt that fills the whole DB (no zero padding at all), the longest the encoding allows.
		emLen := (k.N.BitLen() + 6) / 8
		long := make([]byte, emLen-sha256.Size-2)
		rand.Read(long)
		check("longest salt", digest[:], rawSign(k, pssEncode(k, digest[:], long)), true)
		// Out of range and garbage.
		check("sig = N", digest[:], owner, false)
		check("zero", digest[:], make([]byte, k.Size()), false)
		junk := make([]byte, k.Size())
		rand.Read(junk)
		junk[0] = 0
		check("junk", digest[:], junk, false)
		check("short digest", digest[:31], rawSign(k, good), false)
	}
}

// newRSATestKey is the committed Arweave test wallet's key (RSA-4096), as an *rsa.PrivateKey.
func newRSATestKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := loadTestRSAKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// FuzzVerifyRSAPSS: for any encoded message (signed raw) or any signature bytes, verifyRSAPSS and crypto/rsa
// agree.
func FuzzVerifyRSAPSS(f *testing.F) {
	k := testKeys()[0]
	digest := sha256.Sum256([]byte("fuzz"))
	f.Add(true, pssEncode(k, digest[:], []byte("salt")), digest[:])
	f.Add(true, pssEncode(k, digest[:], nil), digest[:])
	f.Add(false, make([]byte, k.Size()), digest[:])
	owner := k.N.FillBytes(make([]byte, k.Size()))
	f.Fuzz(func(t *testing.T, raw bool, b, d []byte) {
		sig := make([]byte, k.Size())
		copy(sig, b)
		if raw {
			sig = rawSign(k, sig)
		}
		if got, want := verifyRSAPSS(owner, d, sig), stdVerify(&k.PublicKey, d, sig); got != want {
			t.Fatalf("ours %v, crypto/rsa %v (raw %v, input %x, digest %x)", got, want, raw, b, d)
		}
	})
}

// loadTestRSAKey reads testdata/arweave-wallet.json (a JWK) without package wallet, which imports this one.
func loadTestRSAKey() (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(filepath.Join("testdata", "arweave-wallet.json"))
	if err != nil {
		return nil, err
	}
	var j struct{ N, E, D, P, Q string }
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, err
	}
	num := func(s string) *big.Int {
		v, _ := base64.RawURLEncoding.DecodeString(s)
		return new(big.Int).SetBytes(v)
	}
	k := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: num(j.N), E: int(num(j.E).Int64())}, D: num(j.D), Primes: []*big.Int{num(j.P), num(j.Q)}}
	k.Precompute()
	return k, k.Validate()
}
