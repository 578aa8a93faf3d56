package httpsig

import (
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

// Verified is what VerifyRequest learnt about a signed request.
type Verified struct {
	// Signer is the address of the first signature made with a key (rsa-pss-sha512 or ed25519).
	Signer     string
	Signatures []Signature
	// BodySigned reports that every keyed signature covers a Content-Digest that matches the body.
	BodySigned bool
}

// Verify checks a request that carries Signature and Signature-Input and returns the signer's address:
// base64url(SHA-256(public key)). Every signature must verify; a Content-Digest must match body; a
// non-empty body must be bound by a covered Content-Digest. Errors wrap ErrNoSignature (nothing to check,
// or only HyperBEAM's hmac id), ErrInvalid or ErrDigest: all of them are the client's fault (4xx).
func Verify(r *http.Request, body []byte) (signer string, err error) {
	v, err := VerifyRequest(r, body)
	if err != nil {
		return "", err
	}
	return v.Signer, nil
}

// VerifyRequest is Verify with every signature and the body binding reported.
func VerifyRequest(r *http.Request, body []byte) (*Verified, error) {
	return verifyAt(RequestMessage(r), body, time.Now())
}

func verifyAt(m Message, body []byte, now time.Time) (*Verified, error) {
	sigs, err := VerifyMessage(m, now)
	if err != nil {
		return nil, err
	}
	v := &Verified{Signatures: sigs}
	digest, hasDigest := m.fieldValues("content-digest")
	if hasDigest {
		if err := CheckContentDigest(strings.Join(digest, ", "), body); err != nil {
			return nil, err
		}
	}
	keyed := 0
	covered := true
	for _, s := range sigs {
		if s.Signer == "" {
			continue
		}
		keyed++
		if v.Signer == "" {
			v.Signer = s.Signer
		}
		covered = covered && s.Covers("content-digest")
	}
	if keyed == 0 {
		return nil, fmt.Errorf("%w: only an hmac-sha256 id, no key signed the message", ErrNoSignature)
	}
	v.BodySigned = hasDigest && covered
	if len(body) > 0 && !v.BodySigned {
		return nil, fmt.Errorf("%w: the body is not bound to the signature by a covered content-digest", ErrInvalid)
	}
	return v, nil
}

// Signed keeps the fields the signer committed to, as HyperBEAM's committed keys: headers covered by
// every keyed signature (typed ones only when ao-types is covered too), the body's fields when the body is
// signed, and the keys ao-types declares empty when ao-types is covered.
func (v *Verified) Signed(f Fields) Fields {
	coveredAll := func(name string) bool {
		for _, s := range v.Signatures {
			if s.Signer != "" && !s.CoversKey(name) {
				return false
			}
		}
		return true
	}
	out := Fields{}
	typesSigned := coveredAll("ao-types")
	for k, val := range f {
		switch {
		case val.FromBody:
			if v.BodySigned {
				out[k] = val
			}
		case coveredAll(k):
			// A typed header counts only when its type is signed too: else ao-types could retype it.
			if val.Kind == Binary || typesSigned {
				out[k] = val
			}
		case isImplicit(val) && typesSigned:
			out[k] = val
		}
	}
	return out
}

func isImplicit(v Value) bool {
	return (v.Kind == Binary && len(v.Bytes) == 0) || (v.Kind == List && len(v.List) == 0) || v.Kind == Map
}

// SignResponse signs a response's header fields as HyperBEAM does for accept-codec: httpsig@1.0: it sets
// Content-Digest (sha-256 of body), then covers every header field in h but the transport ones
// (IsTransportHeader), by sorted lower-case name, with rsa-pss-sha512 (keyid = the modulus) for an RSA key
// or ed25519 for an ed25519 key (see Signer). Set every header before calling it; headers added later are
// not covered.
func SignResponse(h http.Header, body []byte, key crypto.Signer) error {
	if _, _, err := (Signer{Key: key}).publicKey(); err != nil {
		return err
	}
	h.Set("Content-Digest", ContentDigest(body))
	return sign(ResponseMessage(0, h), h, key)
}

// SignRequest signs a request as @permaweb/ao-core-libs' request() does: Content-Digest for a non-empty
// body, then every header field (not the path) by sorted lower-case name.
func SignRequest(r *http.Request, body []byte, key crypto.Signer) error {
	if _, _, err := (Signer{Key: key}).publicKey(); err != nil {
		return err
	}
	if len(body) > 0 {
		r.Header.Set("Content-Digest", ContentDigest(body))
	}
	return sign(RequestMessage(r), r.Header, key)
}

func sign(m Message, h http.Header, key crypto.Signer) error {
	h.Del("Signature")
	h.Del("Signature-Input")
	var names []string
	for k := range h {
		name := strings.ToLower(k)
		if !IsTransportHeader(name) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	names = compactStrings(names)
	input, sig, err := Signer{Key: key}.Sign(m, names)
	if err != nil {
		return err
	}
	h.Set("Signature-Input", input)
	h.Set("Signature", sig)
	return nil
}

func compactStrings(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// MessageID is HyperBEAM's id of the signed message: the commitment id (base64url(SHA-256(signature))) of its
// one keyed signature, or, with several, SHA-256 of the structured-field list of their sorted ids.
func (v *Verified) MessageID() string {
	var ids []string
	for _, s := range v.Signatures {
		if s.Signer != "" {
			ids = append(ids, s.CommitmentID())
		}
	}
	switch len(ids) {
	case 0:
		return ""
	case 1:
		return ids[0]
	}
	sort.Strings(ids)
	ms := make([]Member, len(ids))
	for i, id := range ids {
		ms[i] = Member{Item: Item{Value: id}}
	}
	list, _ := SerializeList(ms) // ids are base64url: always serialisable
	sum := sha256.Sum256([]byte(list))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Verifier is the AO-Core router's request verifier (aocore.RequestVerifier): Verify.
type Verifier struct{}

// Verify is the package's Verify.
func (Verifier) Verify(r *http.Request, body []byte) (signer string, err error) {
	return Verify(r, body)
}

// ResponseSigner is the AO-Core router's answer signer (aocore.ResponseSigner): SignResponse with the node's
// key (WalletKey of its wallet; HyperBEAM's clients expect an RSA one). The status is not covered, as
// HyperBEAM does not cover it.
type ResponseSigner struct{ Key crypto.Signer }

// Sign signs the answer's headers and body.
func (s ResponseSigner) Sign(h http.Header, status int, body []byte) error {
	return SignResponse(h, body, s.Key)
}
