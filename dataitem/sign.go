package dataitem

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"math/big"
	"strconv"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
	"golang.org/x/crypto/sha3"
)

// Signer signs deep hashes. Everything in aogo that signs (items, assignments, results) takes one; package
// wallet provides the implementations.
type Signer interface {
	SignatureType() SignatureType
	// Owner is the public key as it appears in the item's owner field.
	Owner() []byte
	// Sign signs the 48-byte deep hash of an item (each type hashes it as its scheme requires).
	Sign(deepHash []byte) ([]byte, error)
}

// Sign sets the owner and signature of it with s. Any change to the item afterwards needs a new Sign.
func (it *Item) Sign(s Signer) error {
	it.SignatureType = s.SignatureType()
	sigLen, ownerLen, err := it.SignatureType.Lengths()
	if err != nil {
		return err
	}
	it.Owner = s.Owner()
	if len(it.Owner) != ownerLen {
		return fmt.Errorf("sign: signer owner is %d bytes, want %d for %s", len(it.Owner), ownerLen, it.SignatureType)
	}
	it.rawTags = nil
	if err := it.checkFields(); err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	h := it.SignatureData()
	sig, err := s.Sign(h[:])
	if err != nil {
		return fmt.Errorf("sign %s item: %w", it.SignatureType, err)
	}
	if len(sig) != sigLen {
		return fmt.Errorf("sign: signer returned %d bytes, want %d for %s", len(sig), sigLen, it.SignatureType)
	}
	it.Signature = sig
	return nil
}

// Verify checks the structure and the signature of the item.
func (it *Item) Verify() error {
	sigLen, ownerLen, err := it.SignatureType.Lengths()
	if err != nil {
		return err
	}
	if len(it.Signature) != sigLen || len(it.Owner) != ownerLen {
		return &FormatError{Field: "signature", Reason: fmt.Sprintf("signature/owner lengths %d/%d, want %d/%d for %s", len(it.Signature), len(it.Owner), sigLen, ownerLen, it.SignatureType)}
	}
	if err := it.checkFields(); err != nil {
		return err
	}
	h := it.SignatureData()
	return VerifySignature(it.SignatureType, it.Owner, h[:], it.Signature)
}

// rsaExponent is the public exponent of every Arweave key (JWK "e": "AQAB").
const rsaExponent = 65537

// VerifySignature checks sig over message (a deep hash) for a public key of type t.
func VerifySignature(t SignatureType, owner, message, sig []byte) error {
	switch t {
	case Arweave:
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(owner), E: rsaExponent}
		d := sha256.Sum256(message)
		// Salt length auto: Arweave signs with 32, some older tools with the maximum.
		if err := rsa.VerifyPSS(pub, crypto.SHA256, d[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}); err != nil {
			return ErrBadSignature
		}
		return nil
	case ED25519, Solana:
		if !ed25519.Verify(ed25519.PublicKey(owner), message, sig) {
			return ErrBadSignature
		}
		return nil
	case Ethereum:
		return verifyEthereum(owner, message, sig)
	}
	_, _, err := t.Lengths()
	return err
}

// EthereumMessageHash is keccak256 of the EIP-191 personal-sign envelope of message, what Ethereum wallets
// (ethers' signMessage) sign.
func EthereumMessageHash(message []byte) []byte {
	h := sha3.NewLegacyKeccak256()
	h.Write([]byte("\x19Ethereum Signed Message:\n" + strconv.Itoa(len(message))))
	h.Write(message)
	return h.Sum(nil)
}

func verifyEthereum(owner, message, sig []byte) error {
	pub, err := secp256k1.ParsePubKey(owner)
	if err != nil {
		return &FormatError{Field: "owner", Reason: "not a secp256k1 public key: " + err.Error()}
	}
	var r, s secp256k1.ModNScalar
	if overflow := r.SetByteSlice(sig[:32]); overflow || r.IsZero() {
		return ErrBadSignature
	}
	if overflow := s.SetByteSlice(sig[32:64]); overflow || s.IsZero() {
		return ErrBadSignature
	}
	if v := sig[64]; v != 27 && v != 28 && v != 0 && v != 1 {
		return ErrBadSignature
	}
	if !ecdsa.NewSignature(&r, &s).Verify(EthereumMessageHash(message), pub) {
		return ErrBadSignature
	}
	return nil
}
