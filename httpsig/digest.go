package httpsig

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
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
		// @permaweb/ao-core-libs writes the digest in base64url without padding, which is no structured-field
		// byte sequence; it signs that text, so it is read here as it was meant.
		if d, err = parseLooseDigest(value); err != nil {
			return fmt.Errorf("%w: %v", ErrDigest, err)
		}
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

// parseLooseDigest reads "alg=:base64 or base64url:" members separated by commas.
func parseLooseDigest(value string) (Dictionary, error) {
	var d Dictionary
	for _, m := range strings.Split(value, ",") {
		key, v, ok := strings.Cut(strings.TrimSpace(m), "=")
		if !ok || len(v) < 2 || v[0] != ':' || v[len(v)-1] != ':' || checkKey(key) != nil {
			return nil, fmt.Errorf("member %q is not alg=:digest:", m)
		}
		b, err := decodeB64(v[1 : len(v)-1])
		if err != nil {
			return nil, fmt.Errorf("member %q: %v", key, err)
		}
		if len(d) == maxSFMembers {
			return nil, errors.New("too many members")
		}
		d = append(d, DictEntry{Key: key, Member: Member{Item: Item{Value: b}}})
	}
	return d, nil
}
