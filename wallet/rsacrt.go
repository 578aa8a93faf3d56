package wallet

import (
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"runtime"

	"filippo.io/bigmod"
)

// crtKey signs RSA-PSS with the two CRT half-exponentiations (mod p and mod q) on two cores at once.
//
// Why not crypto/rsa: it does the halves one after the other, and an SU signs the assignments of one process
// strictly in sequence (each Hash-Chain needs the previous assignment's id, i.e. its signature), so the RSA sign
// time is the ceiling of a single process's throughput. Splitting the halves nearly doubles that ceiling on two
// cores. The arithmetic is filippo.io/bigmod, the constant-time modular arithmetic that crypto/rsa itself uses
// (exported as a module), so this path leaks no more timing than the standard library's. Every signature is
// checked with the public exponent before it is returned, as crypto/rsa does, so a fault in either half can never
// publish a signature that would reveal a factor.
type crtKey struct {
	n, p, q  *bigmod.Modulus
	dp, dq   []byte // private exponents mod p-1 and q-1, big-endian
	qinv     *bigmod.Nat
	qModN    *bigmod.Nat
	e        uint
	size     int // modulus size in bytes
	emBits   int
	parallel bool
}

func newCRTKey(k *rsa.PrivateKey) (*crtKey, error) {
	if len(k.Primes) != 2 || k.Precomputed.Dp == nil {
		return nil, errors.New("rsa key needs exactly two primes and CRT values")
	}
	n, err := bigmod.NewModulus(k.N.Bytes())
	if err != nil {
		return nil, fmt.Errorf("rsa modulus: %w", err)
	}
	p, err := bigmod.NewModulus(k.Primes[0].Bytes())
	if err != nil {
		return nil, fmt.Errorf("rsa prime p: %w", err)
	}
	q, err := bigmod.NewModulus(k.Primes[1].Bytes())
	if err != nil {
		return nil, fmt.Errorf("rsa prime q: %w", err)
	}
	qinv, err := bigmod.NewNat().SetBytes(k.Precomputed.Qinv.Bytes(), p)
	if err != nil {
		return nil, fmt.Errorf("rsa qi: %w", err)
	}
	qModN, err := bigmod.NewNat().SetBytes(k.Primes[1].Bytes(), n)
	if err != nil {
		return nil, fmt.Errorf("rsa prime q mod n: %w", err)
	}
	bits := k.N.BitLen()
	return &crtKey{
		n: n, p: p, q: q,
		dp: k.Precomputed.Dp.Bytes(), dq: k.Precomputed.Dq.Bytes(),
		qinv: qinv, qModN: qModN,
		e:        uint(k.E),
		size:     (bits + 7) / 8,
		emBits:   bits - 1,
		parallel: runtime.GOMAXPROCS(0) > 1,
	}, nil
}

// signPSS signs the SHA-256 digest with RSASSA-PSS (MGF1-SHA-256, 32-byte salt), RFC 8017 §8.1.1.
func (k *crtKey) signPSS(random io.Reader, digest []byte) ([]byte, error) {
	em, err := emsaPSSEncode(random, digest, k.emBits)
	if err != nil {
		return nil, err
	}
	// EM is one byte shorter than the modulus when emBits is a multiple of 8; as an integer it is below n.
	buf := make([]byte, k.size)
	copy(buf[k.size-len(em):], em)
	m, err := bigmod.NewNat().SetBytes(buf, k.n)
	if err != nil {
		return nil, fmt.Errorf("rsa: encoded message out of range: %w", err)
	}

	// s1 = m^dp mod p and s2 = m^dq mod q, each on its own core when there are two.
	var s1 *bigmod.Nat
	half := func() { s1 = bigmod.NewNat().Exp(bigmod.NewNat().Mod(m, k.p), k.dp, k.p) }
	done := make(chan struct{})
	if k.parallel {
		go func() { half(); close(done) }()
	} else {
		half()
		close(done)
	}
	s2 := bigmod.NewNat().Exp(bigmod.NewNat().Mod(m, k.q), k.dq, k.q)
	<-done

	// Garner: s = s2 + q·(qinv·(s1 − s2) mod p).
	h := s1.Sub(bigmod.NewNat().Mod(s2, k.p), k.p)
	h.Mul(k.qinv, k.p)
	s := h.ExpandFor(k.n).Mul(k.qModN, k.n)
	s.Add(s2.ExpandFor(k.n), k.n)

	// Fault check: s^e must give back m.
	if bigmod.NewNat().ExpShortVarTime(s, k.e, k.n).Equal(m) != 1 {
		return nil, errors.New("rsa: internal error: signature does not verify (fault in CRT)")
	}
	return s.Bytes(k.n), nil
}

// emsaPSSEncode is EMSA-PSS-ENCODE of RFC 8017 §9.1.1 with SHA-256 and a 32-byte salt.
func emsaPSSEncode(random io.Reader, mHash []byte, emBits int) ([]byte, error) {
	const hLen, sLen = sha256.Size, 32
	if len(mHash) != hLen {
		return nil, fmt.Errorf("rsa: digest is %d bytes, want %d", len(mHash), hLen)
	}
	emLen := (emBits + 7) / 8
	if emLen < hLen+sLen+2 {
		return nil, errors.New("rsa: key too small for PSS with SHA-256")
	}
	em := make([]byte, emLen)
	psLen := emLen - sLen - hLen - 2
	db := em[:emLen-hLen-1]
	hOut := em[emLen-hLen-1 : emLen-1]
	salt := db[psLen+1:]
	if _, err := io.ReadFull(random, salt); err != nil {
		return nil, fmt.Errorf("rsa: salt: %w", err)
	}
	// H = SHA-256(0x00×8 ‖ mHash ‖ salt)
	h := sha256.New()
	var zeros [8]byte
	h.Write(zeros[:])
	h.Write(mHash)
	h.Write(salt)
	h.Sum(hOut[:0])
	// DB = PS ‖ 0x01 ‖ salt, masked with MGF1(H).
	db[psLen] = 0x01
	mgf1XOR(db, hOut)
	db[0] &= 0xff >> (8*emLen - emBits)
	em[emLen-1] = 0xbc
	return em, nil
}

// mgf1XOR XORs out with MGF1-SHA-256(seed).
func mgf1XOR(out, seed []byte) {
	var counter [4]byte
	var digest [sha256.Size]byte
	for done := 0; done < len(out); {
		h := sha256.New()
		h.Write(seed)
		h.Write(counter[:])
		h.Sum(digest[:0])
		subtle.XORBytes(out[done:], out[done:], digest[:])
		done += len(digest)
		for i := 3; i >= 0; i-- {
			counter[i]++
			if counter[i] != 0 {
				break
			}
		}
	}
}
