package httpsig

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"errors"
	"fmt"
)

// ErrDigest is wrapped when a Content-Digest is malformed or does not match the body.
var ErrDigest = errors.New("httpsig: content-digest")

// ContentDigest is the Content-Digest value (RFC 9530) HyperBEAM and its clients write: sha-256 of body.
func ContentDigest(body []byte) string {
	sum := sha256.Sum256(body)
	return "sha-256=:" + b64std(sum[:]) + ":"
}

// CheckContentDigest checks every sha-256 and sha-512 member of a Content-Digest value against body. At
// least one of them must be present: a digest only in algorithms we do not know binds nothing we can check.
func CheckContentDigest(value string, body []byte) error {
	d, err := ParseDictionary(value)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrDigest, err)
	}
	checked := 0
	for _, e := range d {
		var want []byte
		switch e.Key {
		case "sha-256":
			sum := sha256.Sum256(body)
			want = sum[:]
		case "sha-512":
			sum := sha512.Sum512(body)
			want = sum[:]
		default:
			continue
		}
		got, ok := e.Member.Item.Value.([]byte)
		if !ok || e.Member.List != nil {
			return fmt.Errorf("%w: %s is not a byte sequence", ErrDigest, e.Key)
		}
		if subtle.ConstantTimeCompare(got, want) != 1 {
			return fmt.Errorf("%w: %s does not match the body", ErrDigest, e.Key)
		}
		checked++
	}
	if checked == 0 {
		return fmt.Errorf("%w: no sha-256 or sha-512 member", ErrDigest)
	}
	return nil
}
