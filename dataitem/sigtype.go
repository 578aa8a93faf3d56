package dataitem

import "fmt"

// SignatureType is the ANS-104 signature type number.
type SignatureType uint16

const (
	Arweave  SignatureType = 1 // RSA-PSS, 4096-bit modulus as owner, SHA-256, salt 32
	ED25519  SignatureType = 2
	Ethereum SignatureType = 3 // secp256k1, EIP-191 personal-sign over the deep hash, 65-byte uncompressed owner
	Solana   SignatureType = 4 // ed25519 with a Solana (base58) address convention
)

type sigConfig struct {
	sigLen, ownerLen int
	name             string
}

var sigConfigs = map[SignatureType]sigConfig{
	Arweave:  {512, 512, "arweave"},
	ED25519:  {64, 32, "ed25519"},
	Ethereum: {65, 65, "ethereum"},
	Solana:   {64, 32, "solana"},
}

// Lengths returns the signature and owner lengths of t.
func (t SignatureType) Lengths() (sigLen, ownerLen int, err error) {
	c, ok := sigConfigs[t]
	if !ok {
		return 0, 0, &FormatError{Field: "signature type", Reason: fmt.Sprintf("unsupported signature type %d", uint16(t))}
	}
	return c.sigLen, c.ownerLen, nil
}

func (t SignatureType) String() string {
	if c, ok := sigConfigs[t]; ok {
		return c.name
	}
	return fmt.Sprintf("type-%d", uint16(t))
}
