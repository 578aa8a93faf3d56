package arweave

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"

	"github.com/aogo/aogo/dataitem"
)

// Limits of the fields of a format-2 transaction.
const (
	OwnerSize     = 512 // a 4096-bit RSA modulus
	SignatureSize = 512
	// MaxTagBytes is the most bytes all tag names and values may add up to (Arweave's limit).
	MaxTagBytes = 2048
)

// Bundle tags: a transaction carrying an ANS-104 binary bundle as its data.
var BundleTags = []dataitem.Tag{{Name: "Bundle-Format", Value: "binary"}, {Name: "Bundle-Version", Value: "2.0.0"}}

// ErrBadSignature is returned by Verify for a signature that does not match, or an id that is not its hash.
var ErrBadSignature = errors.New("arweave: bad transaction signature")

// Transaction is an Arweave format-2 transaction. Data may be empty while DataSize is not: the header of a
// transaction whose data travels as chunks.
type Transaction struct {
	Format    int // 2
	ID        string
	LastTx    []byte // anchor: a recent block hash (48 bytes) or the owner's last transaction id (32); may be empty
	Owner     []byte // RSA modulus, OwnerSize bytes
	Tags      []dataitem.Tag
	Target    []byte // recipient address (32 bytes), or empty
	Quantity  string // winston sent to Target, decimal
	Reward    string // winston paid to the miners, decimal
	DataSize  uint64
	DataRoot  []byte // 32 bytes, or empty for empty data
	Data      []byte
	Signature []byte
}

// New returns an unsigned format-2 transaction carrying data, with DataSize and DataRoot set and amounts 0.
func New(data []byte, tags []dataitem.Tag) *Transaction {
	return &Transaction{
		Format: 2, Tags: tags, Quantity: "0", Reward: "0",
		Data: data, DataSize: uint64(len(data)), DataRoot: DataRoot(data),
	}
}

// Address is the owner's address: base64url(SHA-256(owner)).
func (tx *Transaction) Address() string { return dataitem.Address(tx.Owner) }

// SignatureData is the deep hash a format-2 transaction's signature covers.
func (tx *Transaction) SignatureData() ([48]byte, error) {
	if err := tx.check(false); err != nil {
		return [48]byte{}, err
	}
	tags := make(dataitem.List, len(tx.Tags))
	for i, t := range tx.Tags {
		tags[i] = dataitem.List{[]byte(t.Name), []byte(t.Value)}
	}
	return dataitem.DeepHash(dataitem.List{
		"2", tx.Owner, tx.Target, tx.Quantity, tx.Reward, tx.LastTx, tags,
		strconv.FormatUint(tx.DataSize, 10), tx.DataRoot,
	}), nil
}

// Sign sets Owner from s, signs the transaction and sets Signature and ID. s must be an Arweave (RSA) signer:
// the base layer knows no other key type.
func (tx *Transaction) Sign(s dataitem.Signer) error {
	if s == nil {
		return errors.New("arweave: sign: no signer")
	}
	if s.SignatureType() != dataitem.Arweave {
		return fmt.Errorf("arweave: sign: a %s key cannot sign base-layer transactions; an Arweave RSA key is needed", s.SignatureType())
	}
	tx.Owner = s.Owner()
	h, err := tx.SignatureData()
	if err != nil {
		return err
	}
	sig, err := s.Sign(h[:])
	if err != nil {
		return fmt.Errorf("arweave: sign: %w", err)
	}
	if len(sig) != SignatureSize {
		return fmt.Errorf("arweave: sign: signer made a %d-byte signature, want %d", len(sig), SignatureSize)
	}
	tx.Signature = sig
	tx.ID = dataitem.IDFromSignature(sig)
	return nil
}

// Verify checks the fields, that the id is the hash of the signature, that the signature is the owner's over the
// transaction and, when the data is present, that DataSize and DataRoot describe it.
func (tx *Transaction) Verify() error {
	if err := tx.check(true); err != nil {
		return err
	}
	if dataitem.IDFromSignature(tx.Signature) != tx.ID {
		return fmt.Errorf("%w: id %s is not the hash of the signature", ErrBadSignature, tx.ID)
	}
	if len(tx.Data) > 0 {
		if uint64(len(tx.Data)) != tx.DataSize {
			return fmt.Errorf("arweave: transaction %s: data_size %d but %d bytes of data", tx.ID, tx.DataSize, len(tx.Data))
		}
		if root := DataRoot(tx.Data); !bytes.Equal(root, tx.DataRoot) {
			return fmt.Errorf("arweave: transaction %s: data_root %s does not match the data (%s)", tx.ID, dataitem.B64(tx.DataRoot), dataitem.B64(root))
		}
	}
	h, err := tx.SignatureData()
	if err != nil {
		return err
	}
	if err := dataitem.VerifySignature(dataitem.Arweave, tx.Owner, h[:], tx.Signature); err != nil {
		if errors.Is(err, dataitem.ErrBadSignature) {
			return fmt.Errorf("%w: transaction %s", ErrBadSignature, tx.ID)
		}
		return fmt.Errorf("arweave: transaction %s: %w", tx.ID, err)
	}
	return nil
}

// check validates the fields' shapes; signed also requires Owner, Signature and ID.
func (tx *Transaction) check(signed bool) error {
	if tx.Format != 2 {
		return fmt.Errorf("arweave: transaction format %d: only format 2 is supported", tx.Format)
	}
	if signed || len(tx.Owner) > 0 {
		if len(tx.Owner) != OwnerSize {
			return fmt.Errorf("arweave: owner is %d bytes, want %d (a 4096-bit RSA modulus)", len(tx.Owner), OwnerSize)
		}
	}
	if signed {
		if len(tx.Signature) != SignatureSize {
			return fmt.Errorf("arweave: signature is %d bytes, want %d", len(tx.Signature), SignatureSize)
		}
		if len(tx.ID) != 43 {
			return fmt.Errorf("arweave: id %q is not 43 base64url characters", tx.ID)
		}
	}
	if n := len(tx.Target); n != 0 && n != 32 {
		return fmt.Errorf("arweave: target is %d bytes, want 32 or none", n)
	}
	if n := len(tx.LastTx); n != 0 && n != 32 && n != 48 {
		return fmt.Errorf("arweave: last_tx is %d bytes, want 32 (a transaction id), 48 (a block hash) or none", n)
	}
	if n := len(tx.DataRoot); n != 0 && n != 32 {
		return fmt.Errorf("arweave: data_root is %d bytes, want 32 or none", n)
	}
	if (len(tx.DataRoot) == 0) != (tx.DataSize == 0) {
		return fmt.Errorf("arweave: data_root and data_size %d disagree on whether there is data", tx.DataSize)
	}
	if !isWinston(tx.Quantity) {
		return fmt.Errorf("arweave: quantity %q is not a decimal amount of winston", tx.Quantity)
	}
	if !isWinston(tx.Reward) {
		return fmt.Errorf("arweave: reward %q is not a decimal amount of winston", tx.Reward)
	}
	size := 0
	for _, t := range tx.Tags {
		size += len(t.Name) + len(t.Value)
	}
	if size > MaxTagBytes {
		return fmt.Errorf("arweave: tags take %d bytes, the most is %d", size, MaxTagBytes)
	}
	return nil
}

// isWinston reports whether s is a canonical decimal amount: digits, no sign, no leading zero but "0" itself.
func isWinston(s string) bool {
	if s == "" || len(s) > 40 || (s[0] == '0' && len(s) > 1) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
