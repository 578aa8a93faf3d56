package dataitem

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// B64 encodes b as unpadded base64url, the encoding of every id, owner and signature in Arweave.
func B64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// DecodeB64 decodes base64url, padded or not (some tools pad, most don't).
func DecodeB64(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// Address returns the Arweave address of an owner (public key bytes): base64url(SHA-256(owner)).
func Address(owner []byte) string {
	h := sha256.Sum256(owner)
	return B64(h[:])
}

// IDFromSignature returns the item id for a signature: base64url(SHA-256(signature)).
func IDFromSignature(sig []byte) string {
	h := sha256.Sum256(sig)
	return B64(h[:])
}
