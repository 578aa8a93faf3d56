package ao

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"strconv"

	"github.com/aogo/aogo/dataitem"
)

// A CU's signed attestation of a result (package cu writes it; its doc.go has the format): an ANS-104 item
// signed by the CU wallet whose tags bind a result body's SHA-256 to one slot of a process's log. It lives here,
// with the protocol, because more than the CU reads it: the MU's quorum and `aogo verify-result` check it.
const (
	TypeAttestation = "Attestation"
	TagSlot         = "Slot"
	TagCron         = "Cron"
	TagResultHash   = "Result-Hash"
	TagMemoryHash   = "Memory-Hash"
	TagAttestFormat = "Attestation-Format"
	// AttestationFormat is the format CUs write today. Formats differ only in Memory-Hash: format 3 has
	// vm.HashMemory (pages of 4 KiB chunks), format 2 had vm.HashMemoryV2 (SHA-256 over the SHA-256 of each
	// 64 KiB page), format 1 SHA-256 of the raw memory. VerifyAttestation accepts all three.
	AttestationFormat = "3"
)

// Attestation is a verified attestation: what the CU signed about one result.
type Attestation struct {
	ID          string // the attestation item's id
	Unit        string // address of the CU wallet that signed it
	Process     string
	Message     string // "" for a cron result
	Slot        int64  // the nonce (the ordinate for a cron result)
	Cron        string // the cron id for a cron result
	Timestamp   int64
	BlockHeight int64
	HashChain   string
	ResultHash  string // base64url SHA-256 of the result body
	// MemoryHash is base64url of the memory hash after the message ("" when not attested): vm.HashMemory
	// of the linear memory in Format 3, vm.HashMemoryV2 in Format 2, SHA-256 of it in Format 1.
	MemoryHash string
	Format     string // Attestation-Format: "3" (or "2", "1", from older CUs)
}

// ErrAttestation is returned by VerifyAttestation when the attestation does not vouch for the body.
var ErrAttestation = errors.New("attestation does not match")

// ResultHash is the Result-Hash of a result body: base64url of its SHA-256.
func ResultHash(body []byte) string {
	h := sha256.Sum256(body)
	return dataitem.B64(h[:])
}

// VerifyAttestation checks an attestation item against the result body it came with: the item's signature,
// its tags, and that Result-Hash is the SHA-256 of body. It does not decide whether the signer is trusted:
// compare Attestation.Unit with the CU addresses you trust.
func VerifyAttestation(att, body []byte) (*Attestation, error) {
	it, err := dataitem.Decode(att)
	if err != nil {
		return nil, fmt.Errorf("decode attestation: %w", err)
	}
	if err := it.Verify(); err != nil {
		return nil, fmt.Errorf("attestation signature: %w", err)
	}
	get := func(name string) string { v, _ := it.Tag(name); return v }
	if get(TagDataProtocol) != DataProtocol || get(TagType) != TypeAttestation {
		return nil, fmt.Errorf("%w: not an ao Attestation item", ErrAttestation)
	}
	format := get(TagAttestFormat)
	if format != AttestationFormat && format != "2" && format != "1" {
		return nil, fmt.Errorf("%w: unknown Attestation-Format %q", ErrAttestation, format)
	}
	a := &Attestation{
		ID:         it.ID(),
		Unit:       it.OwnerAddress(),
		Process:    get(TagProcess),
		Message:    get(TagMessage),
		Cron:       get(TagCron),
		HashChain:  get(TagHashChain),
		ResultHash: get(TagResultHash),
		MemoryHash: get(TagMemoryHash),
		Format:     format,
	}
	if a.Slot, err = strconv.ParseInt(get(TagSlot), 10, 64); err != nil {
		return nil, fmt.Errorf("%w: bad Slot %q", ErrAttestation, get(TagSlot))
	}
	if a.Timestamp, err = strconv.ParseInt(get(TagTimestamp), 10, 64); err != nil {
		return nil, fmt.Errorf("%w: bad Timestamp", ErrAttestation)
	}
	if a.BlockHeight, err = strconv.ParseInt(get(TagBlockHeight), 10, 64); err != nil {
		return nil, fmt.Errorf("%w: bad Block-Height", ErrAttestation)
	}
	if h := ResultHash(body); a.ResultHash != h {
		return nil, fmt.Errorf("%w: Result-Hash %s is not the hash of the result body (%s)", ErrAttestation, a.ResultHash, h)
	}
	return a, nil
}
