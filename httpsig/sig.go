package httpsig

import (
	"crypto"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// Algorithms of the httpsig@1.0 profile.
const (
	AlgRSAPSSSHA512 = "rsa-pss-sha512" // what HyperBEAM and its clients sign with
	AlgEd25519      = "ed25519"
	AlgHMACSHA256   = "hmac-sha256" // HyperBEAM's unsigned id: key "ao", names no signer
)

// hmacKey is the public HMAC key of HyperBEAM's unsigned message id.
const hmacKey = "ao"

// Bounds on the signatures of one message.
const (
	MaxSignatures = 8    // labels in Signature-Input
	maxComponents = 256  // covered components of one signature
	minRSABytes   = 256  // 2048-bit keys (RFC 9421's test key); Arweave keys are 4096-bit
	maxRSABytes   = 1024 // 8192-bit, as @permaweb/ao-core-libs accepts
	clockSkew     = 5 * time.Minute
)

// Errors callers map to 4xx answers.
var (
	ErrNoSignature = errors.New("httpsig: the message carries no Signature and Signature-Input")
	ErrInvalid     = errors.New("httpsig: invalid signature")
)

// Signature is one verified signature of a message.
type Signature struct {
	Label      string
	Alg        string
	KeyID      string
	PublicKey  []byte   // the RSA modulus or the ed25519 key; nil for hmac-sha256
	Signer     string   // base64url(SHA-256(PublicKey)), the Arweave-style address; "" for hmac-sha256
	Components []string // covered component names in order, e.g. "ao-types", "@path", "content-digest"
	Created    int64    // unix seconds, 0 when absent
	Expires    int64
	Tag        string
	Value      []byte // the signature bytes
	// DerivedAsKeys is set when the signature verified only over HyperBEAM's base, where a derived component
	// such as "@path" stands for the message key "path".
	DerivedAsKeys bool
}

// CommitmentID is HyperBEAM's id of this commitment: base64url(SHA-256(signature)).
func (s Signature) CommitmentID() string {
	sum := sha256.Sum256(s.Value)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Covers reports whether the signature covers the component name.
func (s Signature) Covers(name string) bool {
	for _, c := range s.Components {
		if c == name {
			return true
		}
	}
	return false
}

// CoversKey reports whether the signature commits to the message key (a lower-case header name): the
// header itself, or, under HyperBEAM's base, the derived component "@key".
func (s Signature) CoversKey(key string) bool {
	return s.Covers(key) || (s.DerivedAsKeys && s.Covers("@"+key))
}

// Address is base64url(SHA-256(public key)), the address ao uses for RSA and ed25519 keys alike.
func Address(pub []byte) string {
	sum := sha256.Sum256(pub)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Label is the signature label HyperBEAM and its clients give a key's signature: "http-sig-" and the hex of
// bytes 1..8 of the address.
func Label(pub []byte) string {
	sum := sha256.Sum256(pub)
	return "http-sig-" + hex.EncodeToString(sum[1:9])
}

// decodeB64 reads base64url or standard base64, padded or not: keyids are base64url by the profile, and a
// tolerant reader costs nothing since the key is checked by the signature anyway.
func decodeB64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "+/") {
		return base64.RawStdEncoding.DecodeString(s)
	}
	return base64.RawURLEncoding.DecodeString(s)
}

// VerifyMessage checks every signature of m against its Signature-Input and returns them in input order. It
// fails on the first that does not verify, on an unknown algorithm, on an expired or future-dated signature
// (created more than five minutes ahead of now), and on a message without signatures (ErrNoSignature).
func VerifyMessage(m Message, now time.Time) ([]Signature, error) {
	return verifyMessage(m, now, keyFromID)
}

// keyResolver turns a keyid (and the alg parameter) into the public key bytes; the profile's resolver reads
// the key from the keyid itself, RFC 9421's test vectors name their key instead.
type keyResolver func(keyid string) ([]byte, error)

// keyFromID reads the public key from the keyid: base64url of the key, after an optional "publickey:"
// scheme (newer HyperBEAM writes one).
func keyFromID(keyid string) ([]byte, error) {
	pub, err := decodeB64(strings.TrimPrefix(keyid, "publickey:"))
	if err != nil {
		return nil, fmt.Errorf("keyid is not a base64url public key: %v", err)
	}
	return pub, nil
}

func verifyMessage(m Message, now time.Time, resolve keyResolver) ([]Signature, error) {
	inputLines, okIn := m.fieldValues("signature-input")
	sigLines, okSig := m.fieldValues("signature")
	if !okIn && !okSig {
		return nil, ErrNoSignature
	}
	if !okIn || !okSig {
		return nil, fmt.Errorf("%w: Signature and Signature-Input must come together", ErrInvalid)
	}
	inputs, err := ParseDictionary(strings.Join(inputLines, ", "))
	if err != nil {
		return nil, fmt.Errorf("%w: Signature-Input: %v", ErrInvalid, err)
	}
	sigs, err := ParseDictionary(strings.Join(sigLines, ", "))
	if err != nil {
		return nil, fmt.Errorf("%w: Signature: %v", ErrInvalid, err)
	}
	if len(inputs) == 0 {
		return nil, fmt.Errorf("%w: empty Signature-Input", ErrInvalid)
	}
	if len(inputs) > MaxSignatures {
		return nil, fmt.Errorf("%w: %d signatures, at most %d", ErrInvalid, len(inputs), MaxSignatures)
	}
	out := make([]Signature, 0, len(inputs))
	seen := map[string]bool{}
	for _, in := range inputs {
		if seen[in.Key] {
			return nil, fmt.Errorf("%w: label %q repeated", ErrInvalid, in.Key)
		}
		seen[in.Key] = true
		sm, ok := sigs.Get(in.Key)
		if !ok {
			return nil, fmt.Errorf("%w: no Signature for label %q", ErrInvalid, in.Key)
		}
		value, ok := sm.Item.Value.([]byte)
		if !ok || sm.List != nil {
			return nil, fmt.Errorf("%w: Signature %q is not a byte sequence", ErrInvalid, in.Key)
		}
		if in.Member.List == nil {
			return nil, fmt.Errorf("%w: Signature-Input %q is not an inner list", ErrInvalid, in.Key)
		}
		s, err := verifyOne(m, in.Key, in.Member.List, value, now, resolve)
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %v", ErrInvalid, in.Key, err)
		}
		out = append(out, s)
	}
	return out, nil
}

func intParam(ps Params, key string) (int64, error) {
	v, ok := ps.Get(key)
	if !ok {
		return 0, nil
	}
	n, ok := v.(int64)
	if !ok {
		return 0, fmt.Errorf("parameter %s is not an integer", key)
	}
	return n, nil
}

func verifyOne(m Message, label string, covered *InnerList, value []byte, now time.Time, resolve keyResolver) (Signature, error) {
	s := Signature{Label: label, Value: value}
	if len(covered.Items) > maxComponents {
		return s, fmt.Errorf("%d covered components, at most %d", len(covered.Items), maxComponents)
	}
	for _, it := range covered.Items {
		name, ok := it.Value.(string)
		if !ok {
			return s, fmt.Errorf("component identifier %v is not a string", it.Value)
		}
		s.Components = append(s.Components, name)
	}
	var err error
	if s.Created, err = intParam(covered.Params, "created"); err != nil {
		return s, err
	}
	if s.Expires, err = intParam(covered.Params, "expires"); err != nil {
		return s, err
	}
	if s.Expires != 0 && now.Unix() > s.Expires {
		return s, errors.New("signature expired")
	}
	if s.Created != 0 && s.Created > now.Add(clockSkew).Unix() {
		return s, errors.New("signature created in the future")
	}
	s.Tag, _ = covered.Params.String("tag")
	s.KeyID, _ = covered.Params.String("keyid")
	s.Alg, _ = covered.Params.String("alg")
	base, _, err := SignatureBase(m, covered)
	if err != nil {
		return s, err
	}
	switch s.Alg {
	case AlgHMACSHA256:
		if k := strings.TrimPrefix(s.KeyID, "constant:"); k != hmacKey {
			return s, fmt.Errorf("hmac-sha256 with keyid %q: only the public key %q is known", s.KeyID, hmacKey)
		}
		sum := func(b []byte) []byte {
			mac := hmac.New(sha256.New, []byte(hmacKey))
			mac.Write(b)
			return mac.Sum(nil)
		}
		if !hmac.Equal(sum(base), value) {
			hbBase, hbErr := hyperBEAMBase(m, covered)
			if !coversDerived(s.Components) || hbErr != nil || !hmac.Equal(sum(hbBase), value) {
				return s, errors.New("hmac-sha256 does not match")
			}
			s.DerivedAsKeys = true
		}
		return s, nil
	case AlgRSAPSSSHA512, AlgEd25519, "":
	default:
		return s, fmt.Errorf("unsupported algorithm %q", s.Alg)
	}
	pub, err := resolve(s.KeyID)
	if err != nil {
		return s, err
	}
	alg := s.Alg
	if alg == "" { // the key's size names the algorithm
		alg = AlgRSAPSSSHA512
		if len(pub) == ed25519.PublicKeySize {
			alg = AlgEd25519
		}
	}
	switch alg {
	case AlgEd25519:
		if len(pub) != ed25519.PublicKeySize {
			return s, fmt.Errorf("ed25519 keyid of %d bytes", len(pub))
		}
		if !ed25519.Verify(ed25519.PublicKey(pub), base, value) {
			hbBase, hbErr := hyperBEAMBase(m, covered)
			if !coversDerived(s.Components) || hbErr != nil || !ed25519.Verify(ed25519.PublicKey(pub), hbBase, value) {
				return s, errors.New("ed25519 signature does not verify")
			}
			s.DerivedAsKeys = true
		}
	default:
		if err := verifyRSAPSS(pub, base, value); err != nil {
			hbBase, hbErr := hyperBEAMBase(m, covered)
			if !coversDerived(s.Components) || hbErr != nil || verifyRSAPSS(pub, hbBase, value) != nil {
				return s, err
			}
			s.DerivedAsKeys = true
		}
	}
	s.Alg, s.PublicKey, s.Signer = alg, pub, Address(pub)
	return s, nil
}

func verifyRSAPSS(n, base, sig []byte) error {
	if len(n) < minRSABytes || len(n) > maxRSABytes || n[0] == 0 {
		return fmt.Errorf("rsa keyid of %d bytes (want a %d–%d byte modulus)", len(n), minRSABytes, maxRSABytes)
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537}
	digest := sha512.Sum512(base)
	// The salt length is read from the signature: node's crypto signs with the longest salt by default
	// (@permaweb/ao-core-libs), RFC 9421 and HyperBEAM use 64 bytes.
	if err := rsa.VerifyPSS(pub, crypto.SHA512, digest[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}); err != nil {
		return fmt.Errorf("rsa-pss-sha512 signature does not verify: %v", err)
	}
	return nil
}

// Signer makes signatures as HyperBEAM does: rsa-pss-sha512 with keyid = base64url(modulus) for an RSA key
// (what HyperBEAM and its clients expect), ed25519 with keyid = base64url(public key) for an ed25519 key;
// the label of Label, parameters alg and keyid in that order.
type Signer struct {
	// Key is a *rsa.PrivateKey or an ed25519.PrivateKey.
	Key crypto.Signer
	// Tag, when set, is written as the tag parameter (HyperBEAM puts a hashpath there).
	Tag string
}

// publicKey returns the algorithm and the public key bytes the keyid carries.
func (sg Signer) publicKey() (alg string, pub []byte, err error) {
	switch k := sg.Key.(type) {
	case *rsa.PrivateKey:
		if k == nil {
			break
		}
		return AlgRSAPSSSHA512, k.N.FillBytes(make([]byte, (k.N.BitLen()+7)/8)), nil
	case ed25519.PrivateKey:
		if len(k) != ed25519.PrivateKeySize {
			break
		}
		return AlgEd25519, []byte(k.Public().(ed25519.PublicKey)), nil
	case nil:
	default:
		return "", nil, fmt.Errorf("httpsig: cannot sign with a %T (want RSA or ed25519)", sg.Key)
	}
	return "", nil, errors.New("httpsig: no signing key")
}

// Sign covers the named components of m (header names lower-case, derived ones with "@") and returns the
// Signature-Input and Signature dictionary members to set.
func (sg Signer) Sign(m Message, components []string) (input, signature string, err error) {
	alg, pub, err := sg.publicKey()
	if err != nil {
		return "", "", err
	}
	covered := &InnerList{Params: Params{
		{Key: "alg", Value: alg},
		{Key: "keyid", Value: base64.RawURLEncoding.EncodeToString(pub)},
	}}
	if sg.Tag != "" {
		covered.Params = append(covered.Params, Param{Key: "tag", Value: sg.Tag})
	}
	for _, c := range components {
		covered.Items = append(covered.Items, Item{Value: c})
	}
	base, params, err := SignatureBase(m, covered)
	if err != nil {
		return "", "", fmt.Errorf("httpsig: signature base: %w", err)
	}
	var sig []byte
	if alg == AlgEd25519 {
		sig = ed25519.Sign(sg.Key.(ed25519.PrivateKey), base)
	} else {
		digest := sha512.Sum512(base)
		sig, err = rsa.SignPSS(rand.Reader, sg.Key.(*rsa.PrivateKey), crypto.SHA512, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		if err != nil {
			return "", "", fmt.Errorf("httpsig: sign: %w", err)
		}
	}
	label := Label(pub)
	var b strings.Builder
	_ = SerializeBare(&b, sig)
	return label + "=" + params, label + "=" + b.String(), nil
}

// WalletKeys is what WalletKey needs of a wallet; *wallet.Wallet has both methods.
type WalletKeys interface {
	RSAPrivateKey() *rsa.PrivateKey
	Ed25519PrivateKey() ed25519.PrivateKey
}

// WalletKey returns the key of an RSA or ed25519 wallet to sign with, or an error for other kinds.
func WalletKey(w WalletKeys) (crypto.Signer, error) {
	if k := w.RSAPrivateKey(); k != nil {
		return k, nil
	}
	if k := w.Ed25519PrivateKey(); len(k) == ed25519.PrivateKeySize {
		return k, nil
	}
	return nil, errors.New("httpsig: the wallet has no RSA or ed25519 key")
}

func coversDerived(components []string) bool {
	for _, c := range components {
		if strings.HasPrefix(c, "@") {
			return true
		}
	}
	return false
}
