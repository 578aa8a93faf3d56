// Package wallet loads, writes and generates signing keys as JWK files and signs with them.
//
// Arweave RSA keys use the JWK format every Arweave tool reads (kty RSA, n, e, d, p, q, dp, dq, qi). ed25519 and
// Ethereum keys use the standard JWK forms (kty OKP / crv Ed25519, and kty EC / crv secp256k1). A Wallet is a
// dataitem.Signer.
package wallet

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"strings"

	"github.com/aogo/aogo/dataitem"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
	"golang.org/x/crypto/sha3"
)

// Kinds of key.
const (
	RSA      = "rsa"
	ED25519  = "ed25519"
	Ethereum = "ethereum"
	// Solana is an ed25519 key that signs ANS-104 signature type 4 (the hex text of the deep hash, as Solana
	// wallets sign). It is made from an ed25519 wallet with AsSolana; its JWK is the plain ed25519 one.
	Solana = "solana"
)

// RSABits is the Arweave key size.
const RSABits = 4096

// Wallet holds one private key.
type Wallet struct {
	kind  string
	rsa   *rsa.PrivateKey
	crt   *crtKey // rsa's fast signer
	ed    ed25519.PrivateKey
	eth   *secp256k1.PrivateKey
	owner []byte
}

var _ dataitem.Signer = (*Wallet)(nil)

// Generate makes a new key of the given kind.
func Generate(kind string) (*Wallet, error) {
	switch kind {
	case RSA, "arweave":
		k, err := rsa.GenerateKey(rand.Reader, RSABits)
		if err != nil {
			return nil, fmt.Errorf("generate rsa key: %w", err)
		}
		return fromRSA(k)
	case ED25519:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("generate ed25519 key: %w", err)
		}
		return fromEd25519(k), nil
	case Ethereum:
		k, err := secp256k1.GeneratePrivateKey()
		if err != nil {
			return nil, fmt.Errorf("generate secp256k1 key: %w", err)
		}
		return fromEth(k), nil
	}
	return nil, fmt.Errorf("unknown wallet type %q (want rsa, ed25519 or ethereum)", kind)
}

func fromRSA(k *rsa.PrivateKey) (*Wallet, error) {
	if k.E != 65537 {
		return nil, fmt.Errorf("rsa key exponent %d, Arweave requires 65537", k.E)
	}
	if n := k.N.BitLen(); n != RSABits {
		return nil, fmt.Errorf("rsa key is %d bits, ANS-104 requires %d", n, RSABits)
	}
	k.Precompute()
	crt, err := newCRTKey(k)
	if err != nil {
		return nil, err
	}
	owner := make([]byte, 512)
	k.N.FillBytes(owner)
	return &Wallet{kind: RSA, rsa: k, crt: crt, owner: owner}, nil
}

func fromEd25519(k ed25519.PrivateKey) *Wallet {
	return &Wallet{kind: ED25519, ed: k, owner: []byte(k.Public().(ed25519.PublicKey))}
}

func fromEth(k *secp256k1.PrivateKey) *Wallet {
	return &Wallet{kind: Ethereum, eth: k, owner: k.PubKey().SerializeUncompressed()}
}

// Kind is rsa, ed25519 or ethereum.
func (w *Wallet) Kind() string { return w.kind }

// SignatureType is the ANS-104 signature type this key produces.
func (w *Wallet) SignatureType() dataitem.SignatureType {
	switch w.kind {
	case ED25519:
		return dataitem.ED25519
	case Ethereum:
		return dataitem.Ethereum
	case Solana:
		return dataitem.Solana
	}
	return dataitem.Arweave
}

// Owner is the public key as an item's owner field holds it.
func (w *Wallet) Owner() []byte { return w.owner }

// Address is base64url(SHA-256(owner)), the address ao uses for every key type.
func (w *Wallet) Address() string { return dataitem.Address(w.owner) }

// EthereumAddress is the 0x-prefixed EIP-55 checksummed address of an Ethereum key, "" for other kinds.
func (w *Wallet) EthereumAddress() string {
	if w.kind != Ethereum {
		return ""
	}
	return EthereumAddress(w.owner)
}

// EthereumAddress returns the EIP-55 address of a 65-byte uncompressed secp256k1 public key.
func EthereumAddress(pub []byte) string {
	h := sha3.NewLegacyKeccak256()
	h.Write(pub[1:])
	addr := hex.EncodeToString(h.Sum(nil)[12:])
	h = sha3.NewLegacyKeccak256()
	h.Write([]byte(addr))
	sum := h.Sum(nil)
	out := []byte(addr)
	for i := range out {
		nibble := sum[i/2] >> 4
		if i%2 == 1 {
			nibble = sum[i/2] & 0xf
		}
		if out[i] >= 'a' && nibble >= 8 {
			out[i] -= 'a' - 'A'
		}
	}
	return "0x" + string(out)
}

// VouchesForSignatures implements dataitem.VouchingSigner: an ed25519 signature (ED25519, Solana) over a key
// whose public half was derived from its seed always verifies. RSA (CRT arithmetic a fault could corrupt)
// and Ethereum keys do not vouch.
func (w *Wallet) VouchesForSignatures() bool { return w.kind == ED25519 || w.kind == Solana }

// Sign signs a deep hash as the key's ANS-104 signature type requires.
func (w *Wallet) Sign(msg []byte) ([]byte, error) {
	switch w.kind {
	case RSA:
		d := sha256.Sum256(msg)
		return w.crt.signPSS(rand.Reader, d[:])
	case ED25519:
		return ed25519.Sign(w.ed, msg), nil
	case Solana:
		return ed25519.Sign(w.ed, hex.AppendEncode(nil, msg)), nil
	case Ethereum:
		compact := ecdsa.SignCompact(w.eth, dataitem.EthereumMessageHash(msg), false)
		// compact is v ‖ r ‖ s with v = 27 + recovery id; Ethereum wallets write r ‖ s ‖ v.
		sig := make([]byte, 65)
		copy(sig, compact[1:])
		sig[64] = compact[0]
		return sig, nil
	}
	return nil, errors.New("wallet has no key")
}

// jwk is the union of the fields of the three key forms.
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	D   string `json:"d,omitempty"`
	P   string `json:"p,omitempty"`
	Q   string `json:"q,omitempty"`
	DP  string `json:"dp,omitempty"`
	DQ  string `json:"dq,omitempty"`
	QI  string `json:"qi,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
}

// JWK encodes the private key as a JWK JSON document.
func (w *Wallet) JWK() ([]byte, error) {
	var j jwk
	b := func(i *big.Int) string { return dataitem.B64(i.Bytes()) }
	switch w.kind {
	case RSA:
		k := w.rsa
		j = jwk{Kty: "RSA", N: b(k.N), E: b(big.NewInt(int64(k.E))), D: b(k.D), P: b(k.Primes[0]), Q: b(k.Primes[1]),
			DP: b(k.Precomputed.Dp), DQ: b(k.Precomputed.Dq), QI: b(k.Precomputed.Qinv)}
	case ED25519, Solana:
		j = jwk{Kty: "OKP", Crv: "Ed25519", X: dataitem.B64(w.owner), D: dataitem.B64(w.ed.Seed())}
	case Ethereum:
		j = jwk{Kty: "EC", Crv: "secp256k1", X: dataitem.B64(w.owner[1:33]), Y: dataitem.B64(w.owner[33:65]), D: dataitem.B64(w.eth.Serialize())}
	default:
		return nil, errors.New("wallet has no key")
	}
	return json.MarshalIndent(j, "", "  ")
}

// Save writes the JWK to path, readable by the owner only.
func (w *Wallet) Save(path string) error {
	b, err := w.JWK()
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write wallet: %w", err)
	}
	return nil
}

// Load reads a JWK key file.
func Load(path string) (*Wallet, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read wallet: %w", err)
	}
	w, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("wallet %s: %w", path, err)
	}
	return w, nil
}

// Parse decodes a JWK key document (RSA, OKP Ed25519 or EC secp256k1 with a private part).
func Parse(b []byte) (*Wallet, error) {
	var j jwk
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("parse JWK: %w", err)
	}
	field := func(name, v string) ([]byte, error) {
		if v == "" {
			return nil, fmt.Errorf("JWK field %q missing", name)
		}
		out, err := dataitem.DecodeB64(v)
		if err != nil {
			return nil, fmt.Errorf("JWK field %q: %w", name, err)
		}
		return out, nil
	}
	num := func(name, v string) (*big.Int, error) {
		b, err := field(name, v)
		if err != nil {
			return nil, err
		}
		return new(big.Int).SetBytes(b), nil
	}
	switch strings.ToUpper(j.Kty) {
	case "RSA":
		var vals [5]*big.Int
		for i, f := range []struct{ n, v string }{{"n", j.N}, {"e", j.E}, {"d", j.D}, {"p", j.P}, {"q", j.Q}} {
			v, err := num(f.n, f.v)
			if err != nil {
				return nil, err
			}
			vals[i] = v
		}
		// Check the shape before Validate, whose cost grows with the numbers' size.
		if vals[1].Cmp(big.NewInt(65537)) != 0 {
			return nil, fmt.Errorf("rsa key exponent %v, Arweave requires 65537", vals[1])
		}
		if n := vals[0].BitLen(); n != RSABits {
			return nil, fmt.Errorf("rsa key is %d bits, ANS-104 requires %d", n, RSABits)
		}
		if vals[2].BitLen() > RSABits || vals[3].BitLen() > RSABits || vals[4].BitLen() > RSABits {
			return nil, errors.New("rsa key: private values larger than the modulus")
		}
		k := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: vals[0], E: int(vals[1].Int64())}, D: vals[2], Primes: []*big.Int{vals[3], vals[4]}}
		if err := k.Validate(); err != nil {
			return nil, fmt.Errorf("invalid RSA key: %w", err)
		}
		return fromRSA(k)
	case "OKP":
		if j.Crv != "Ed25519" {
			return nil, fmt.Errorf("unsupported OKP curve %q", j.Crv)
		}
		seed, err := field("d", j.D)
		if err != nil {
			return nil, err
		}
		if len(seed) != ed25519.SeedSize {
			return nil, fmt.Errorf("ed25519 seed is %d bytes, want %d", len(seed), ed25519.SeedSize)
		}
		w := fromEd25519(ed25519.NewKeyFromSeed(seed))
		if j.X != "" && j.X != dataitem.B64(w.owner) {
			return nil, errors.New("ed25519 JWK x does not match its private key")
		}
		return w, nil
	case "EC":
		if j.Crv != "secp256k1" {
			return nil, fmt.Errorf("unsupported EC curve %q", j.Crv)
		}
		d, err := field("d", j.D)
		if err != nil {
			return nil, err
		}
		if len(d) != 32 {
			return nil, fmt.Errorf("secp256k1 private key is %d bytes, want 32", len(d))
		}
		w := fromEth(secp256k1.PrivKeyFromBytes(d))
		if j.X != "" && j.X != dataitem.B64(w.owner[1:33]) {
			return nil, errors.New("secp256k1 JWK x does not match its private key")
		}
		return w, nil
	}
	return nil, fmt.Errorf("unsupported JWK kty %q", j.Kty)
}

// FromEthereumHex makes a wallet from a hex private key (with or without 0x), the form arbundles'
// EthereumSigner takes.
func FromEthereumHex(s string) (*Wallet, error) {
	d, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if err != nil || len(d) != 32 {
		return nil, fmt.Errorf("ethereum private key must be 32 hex bytes")
	}
	return fromEth(secp256k1.PrivKeyFromBytes(d)), nil
}

// AsSolana returns a wallet with the same ed25519 key that signs ANS-104 signature type 4 (Solana). The owner
// and address are the same; the signatures differ.
func (w *Wallet) AsSolana() (*Wallet, error) {
	if w.kind != ED25519 && w.kind != Solana {
		return nil, fmt.Errorf("a %s key cannot sign as solana", w.kind)
	}
	return &Wallet{kind: Solana, ed: w.ed, owner: w.owner}, nil
}

// Ed25519PrivateKey returns the 64-byte ed25519 private key (seed ‖ public), nil for other kinds.
func (w *Wallet) Ed25519PrivateKey() ed25519.PrivateKey { return w.ed }

// RSAPrivateKey returns the RSA key of an rsa wallet, nil for other kinds: httpsig@1.0 signs with it
// (RSA-PSS over SHA-512, which the wallet's own SHA-256 signer does not do).
func (w *Wallet) RSAPrivateKey() *rsa.PrivateKey { return w.rsa }
