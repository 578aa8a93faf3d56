package dataitem

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"math/big"
)

// rsaE is the public exponent 65537 as a big.Int, shared read-only.
var rsaE = big.NewInt(rsaExponent)

// verifyRSAPSS is RSASSA-PSS-VERIFY (RFC 8017 §8.1.2, EMSA-PSS with SHA-256 and MGF1-SHA-256, any salt
// length) for the modulus owner and exponent 65537, accepting exactly what crypto/rsa.VerifyPSS with
// PSSSaltLengthAuto accepts (TestVerifyRSAPSSAgreesWithCryptoRSA, FuzzVerifyRSAPSS).
//
// Why not crypto/rsa: its constant-time arithmetic, which a private key needs, costs ~0.45 ms per RSA-4096
// verification, and every unit verifies every item it is handed (the MU, the SU, the CU, the gateway). A
// verification handles only public values (modulus, signature, message), so variable-time math/big is safe
// here, and three times faster.
func verifyRSAPSS(owner, digest, sig []byte) bool {
	n := new(big.Int).SetBytes(owner)
	if n.Bit(0) == 0 || len(sig) != len(owner) {
		return false // crypto/rsa refuses even moduli
	}
	s := new(big.Int).SetBytes(sig)
	if s.Cmp(n) >= 0 {
		return false
	}
	em := new(big.Int).Exp(s, rsaE, n).FillBytes(make([]byte, len(owner)))
	emBits := n.BitLen() - 1
	emLen := (emBits + 7) / 8
	for len(em) > emLen { // a modulus of 8k+1 bits: the encoded message is one byte shorter
		if em[0] != 0 {
			return false
		}
		em = em[1:]
	}
	const hLen = sha256.Size
	if len(digest) != hLen || emLen < hLen+2 || em[emLen-1] != 0xbc {
		return false
	}
	db, h := em[:emLen-hLen-1], em[emLen-hLen-1:emLen-1]
	bitMask := byte(0xff >> (8*emLen - emBits))
	if db[0]&^bitMask != 0 {
		return false
	}
	mgf1SHA256XOR(db, h)
	db[0] &= bitMask
	ps := bytes.IndexByte(db, 0x01) // the salt's length is unknown: the padding ends at the first 0x01
	if ps < 0 {
		return false
	}
	for _, b := range db[:ps] {
		if b != 0 {
			return false
		}
	}
	salt := db[ps+1:]
	m := sha256.New()
	var zeros [8]byte
	m.Write(zeros[:])
	m.Write(digest)
	m.Write(salt)
	var h2 [hLen]byte
	return bytes.Equal(m.Sum(h2[:0]), h)
}

// mgf1SHA256XOR xors out with MGF1-SHA-256(seed, len(out)).
func mgf1SHA256XOR(out, seed []byte) {
	var counter [4]byte
	var sum [sha256.Size]byte
	h := sha256.New()
	for i, done := uint32(0), 0; done < len(out); i++ {
		binary.BigEndian.PutUint32(counter[:], i)
		h.Reset()
		h.Write(seed)
		h.Write(counter[:])
		h.Sum(sum[:0])
		done += xorInto(out[done:], sum[:])
	}
}

// xorInto xors src into dst as far as both go and returns how many bytes it changed.
func xorInto(dst, src []byte) int {
	n := min(len(dst), len(src))
	for i := range n {
		dst[i] ^= src[i]
	}
	return n
}
