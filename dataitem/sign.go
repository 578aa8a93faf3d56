package dataitem

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
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
	// Sign signs the 48-byte deep hash of an item (each type hashes it as its scheme requires; see
	// VerifySignature).
	Sign(deepHash []byte) ([]byte, error)
}

// A VouchingSigner's signatures verify by construction: a deterministic scheme over a private key whose
// public half it derived itself (wallet's ed25519 keys). What it signs is remembered as verified (see
// verified), so the other units of this process do not check again what one of them just signed: in aogo
// dev the CU verified every assignment the SU signed a moment before, and the gateway every message the MU
// signed, about 50 µs of ed25519 each, the CU's on the way to a result. A signer whose signatures could be
// wrong (RSA's CRT arithmetic, an external signer) does not vouch, and its items are verified as any.
type VouchingSigner interface {
	Signer
	VouchesForSignatures() bool
}

// signatureData is the deep hash of ["dataitem", "1", type, owner, target, anchor, tags, data], given the data's
// blob hash so that data can be hashed from a stream.
func signatureData(t SignatureType, owner, target, anchor, tags []byte, dataBlob [48]byte) [48]byte {
	acc := itemPrefix(t)
	acc = pairHash(&acc, blobHash(owner))
	acc = pairHash(&acc, blobHash(target))
	acc = pairHash(&acc, blobHash(anchor))
	acc = pairHash(&acc, blobHash(tags))
	return pairHash(&acc, dataBlob)
}

// prefixes caches the deep-hash accumulator after the three constant elements ("dataitem", "1", type) for the
// known signature types: they are the same for every item.
var prefixes = func() map[SignatureType][48]byte {
	m := make(map[SignatureType][48]byte, len(sigConfigs))
	for t := range sigConfigs {
		m[t] = computePrefix(t)
	}
	return m
}()

func itemPrefix(t SignatureType) [48]byte {
	if p, ok := prefixes[t]; ok {
		return p
	}
	return computePrefix(t)
}

func computePrefix(t SignatureType) [48]byte {
	acc := lenTagHash("list", 8)
	acc = pairHash(&acc, blobHash([]byte("dataitem")))
	acc = pairHash(&acc, blobHash([]byte("1")))
	return pairHash(&acc, blobHash([]byte(strconv.Itoa(int(t)))))
}

// Sign sets the owner and signature of it with s. Any change to the item afterwards needs a new Sign.
func (it *Item) Sign(s Signer) error {
	if err := it.prepareSign(s); err != nil {
		return err
	}
	return it.finishSign(s, signatureData(it.SignatureType, it.Owner, it.Target, it.Anchor, it.rawTags, blobHash(it.Data)))
}

// SignReader is Sign for an item whose data (exactly size bytes) is read from data rather than held in
// it.Data, which is left untouched. Write such an item with WriteHeader followed by the same data.
func (it *Item) SignReader(s Signer, data io.Reader, size int64) error {
	if err := it.prepareSign(s); err != nil {
		return err
	}
	sum, err := streamSum384(data, size)
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	return it.finishSign(s, signatureData(it.SignatureType, it.Owner, it.Target, it.Anchor, it.rawTags, blobHashOf(size, sum)))
}

func (it *Item) prepareSign(s Signer) error {
	it.SignatureType = s.SignatureType()
	_, ownerLen, err := it.SignatureType.Lengths()
	if err != nil {
		return err
	}
	it.Owner = s.Owner()
	if len(it.Owner) != ownerLen {
		return fmt.Errorf("sign: signer owner is %d bytes, want %d for %s", len(it.Owner), ownerLen, it.SignatureType)
	}
	tags := EncodeTags(it.Tags)
	if err := it.checkFields(tags); err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	// Keep the encoding: Bytes and Verify reuse it while the tags stay as signed.
	it.rawTags = tags
	it.rawTagsOf = append([]Tag(nil), it.Tags...)
	return nil
}

func (it *Item) finishSign(s Signer, h [48]byte) error {
	sigLen, _, _ := it.SignatureType.Lengths()
	sig, err := s.Sign(h[:])
	if err != nil {
		return fmt.Errorf("sign %s item: %w", it.SignatureType, err)
	}
	if len(sig) != sigLen {
		return fmt.Errorf("sign: signer returned %d bytes, want %d for %s", len(sig), sigLen, it.SignatureType)
	}
	it.Signature = sig
	if v, ok := s.(VouchingSigner); ok && v.VouchesForSignatures() {
		verified.add(sigKey(it.SignatureType, it.Owner, h[:], sig))
	}
	return nil
}

// Verify checks the structure and the signature of the item. A structural problem is a *FormatError; a
// signature that does not match is ErrBadSignature.
func (it *Item) Verify() error {
	tags, err := it.checkForVerify()
	if err != nil {
		return err
	}
	h := signatureData(it.SignatureType, it.Owner, it.Target, it.Anchor, tags, blobHash(it.Data))
	return VerifySignature(it.SignatureType, it.Owner, h[:], it.Signature)
}

// VerifyReader is Verify for an item whose data (exactly size bytes) is read from data instead of it.Data,
// e.g. an item from ReadHeader or BundleReader.NextReader too big for memory.
func (it *Item) VerifyReader(data io.Reader, size int64) error {
	tags, err := it.checkForVerify()
	if err != nil {
		return err
	}
	sum, err := streamSum384(data, size)
	if err != nil {
		return err
	}
	h := signatureData(it.SignatureType, it.Owner, it.Target, it.Anchor, tags, blobHashOf(size, sum))
	return VerifySignature(it.SignatureType, it.Owner, h[:], it.Signature)
}

func (it *Item) checkForVerify() ([]byte, error) {
	if err := it.checkKey(); err != nil {
		return nil, err
	}
	tags := it.encodedTags()
	if err := it.checkFields(tags); err != nil {
		return nil, err
	}
	return tags, nil
}

// rsaExponent is the public exponent of every Arweave key (JWK "e": "AQAB").
const rsaExponent = 65537

// VerifySignature checks sig over message (an item's 48-byte deep hash) for a public key of type t:
//
//   - Arweave: RSA-PSS with SHA-256 over the message, any salt length (aogo and arweave-js sign with 32,
//     arbundles' ArweaveSigner with the maximum), public exponent 65537, owner = modulus.
//   - ED25519: ed25519 over the message.
//   - Ethereum: secp256k1 ECDSA over keccak256 of the EIP-191 personal-sign envelope of the message;
//     signature r ‖ s ‖ v. aogo accepts only the canonical form ethers produces (low s, v 27 or 28 matching the
//     key), so an item has exactly one valid signature and hence one id; arbundles ignores v.
//   - Solana: ed25519 over the lowercase hex of the message (arbundles' HexSolanaSigner).
//
// A signature that does not match is ErrBadSignature; an owner that is no key of its type is a *FormatError.
// A signature that verified lately is not checked again (see verified).
func VerifySignature(t SignatureType, owner, message, sig []byte) error {
	sigLen, ownerLen, err := t.Lengths()
	if err != nil {
		return err
	}
	if len(sig) != sigLen || len(owner) != ownerLen {
		return &FormatError{Field: "signature", Reason: fmt.Sprintf("signature/owner lengths %d/%d, want %d/%d for %s", len(sig), len(owner), sigLen, ownerLen, t)}
	}
	k := sigKey(t, owner, message, sig)
	if verified.has(k) {
		return nil
	}
	if err := verifySignature(t, owner, message, sig); err != nil {
		return err
	}
	verified.add(k)
	return nil
}

// verifySignature is VerifySignature's check itself, lengths already checked.
func verifySignature(t SignatureType, owner, message, sig []byte) error {
	switch t {
	case Arweave:
		return verifyRSA(owner, message, sig)
	case ED25519:
		if !ed25519.Verify(ed25519.PublicKey(owner), message, sig) {
			return ErrBadSignature
		}
		return nil
	case Solana:
		if !ed25519.Verify(ed25519.PublicKey(owner), solanaMessage(message), sig) {
			return ErrBadSignature
		}
		return nil
	case Ethereum:
		return verifyEthereum(owner, message, sig)
	}
	return &FormatError{Field: "signature type", Reason: fmt.Sprintf("unsupported signature type %d", uint16(t))}
}

func verifyRSA(owner, message, sig []byte) error {
	if owner[0] == 0 {
		return &FormatError{Field: "owner", Reason: "RSA modulus is shorter than 4096 bits"}
	}
	d := sha256.Sum256(message)
	if !verifyRSAPSS(owner, d[:], sig) {
		return ErrBadSignature
	}
	return nil
}

// solanaMessage is what a Solana wallet signs for an item: the hex text of the deep hash.
func solanaMessage(message []byte) []byte {
	return hex.AppendEncode(make([]byte, 0, 2*len(message)), message)
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
	if owner[0] != 4 {
		return &FormatError{Field: "owner", Reason: fmt.Sprintf("Ethereum owner must be an uncompressed secp256k1 key (0x04 prefix), got prefix 0x%02x", owner[0])}
	}
	v := sig[64]
	if v != 27 && v != 28 {
		return ErrBadSignature
	}
	var s secp256k1.ModNScalar
	if overflow := s.SetByteSlice(sig[32:64]); overflow || s.IsOverHalfOrder() {
		return ErrBadSignature
	}
	// Recovering the key checks the signature and that v names the right one of the two candidate keys.
	var compact [65]byte
	compact[0] = v
	copy(compact[1:], sig[:64])
	pub, _, err := ecdsa.RecoverCompact(compact[:], EthereumMessageHash(message))
	if err != nil {
		return ErrBadSignature
	}
	if !bytes.Equal(pub.SerializeUncompressed(), owner) {
		return ErrBadSignature
	}
	return nil
}
