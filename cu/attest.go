package cu

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"strconv"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/dataitem"
)

// Attestation tag names and type (see doc.go for the format).
const (
	TypeAttestation = "Attestation"
	TagSlot         = "Slot"
	TagCron         = "Cron"
	TagResultHash   = "Result-Hash"
	TagMemoryHash   = "Memory-Hash"
	TagAttestFormat = "Attestation-Format"
	// attestationFormat is what Attest writes. Formats differ only in Memory-Hash: format 3 has
	// vm.HashMemory (pages of 4 KiB chunks), format 2 had vm.HashMemoryV2 (SHA-256 over the SHA-256 of each
	// 64 KiB page), format 1 SHA-256 of the raw memory. VerifyAttestation accepts all three.
	attestationFormat = "3"
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

func attestationTags(ev *Eval) []dataitem.Tag {
	rh := sha256.Sum256(ev.Result)
	tags := []dataitem.Tag{
		{Name: ao.TagDataProtocol, Value: ao.DataProtocol},
		{Name: ao.TagVariant, Value: ao.Variant},
		{Name: ao.TagType, Value: TypeAttestation},
		{Name: TagAttestFormat, Value: attestationFormat},
		{Name: ao.TagProcess, Value: ev.Process},
	}
	if ev.Message != "" {
		tags = append(tags, dataitem.Tag{Name: ao.TagMessage, Value: ev.Message})
	}
	tags = append(tags, dataitem.Tag{Name: TagSlot, Value: strconv.FormatInt(ev.Nonce, 10)})
	if ev.Cron != "" {
		tags = append(tags, dataitem.Tag{Name: TagCron, Value: ev.Cron})
	}
	tags = append(tags,
		dataitem.Tag{Name: ao.TagTimestamp, Value: strconv.FormatInt(ev.Timestamp, 10)},
		dataitem.Tag{Name: ao.TagBlockHeight, Value: strconv.FormatInt(ev.BlockHeight, 10)},
	)
	if ev.HashChain != "" {
		tags = append(tags, dataitem.Tag{Name: ao.TagHashChain, Value: ev.HashChain})
	}
	tags = append(tags, dataitem.Tag{Name: TagResultHash, Value: dataitem.B64(rh[:])})
	if len(ev.MemoryHash) > 0 {
		tags = append(tags, dataitem.Tag{Name: TagMemoryHash, Value: dataitem.B64(ev.MemoryHash)})
	}
	return tags
}

// Attest signs the attestation of ev with s and returns the item bytes.
func Attest(s dataitem.Signer, ev *Eval) ([]byte, error) {
	it := &dataitem.Item{Tags: attestationTags(ev)}
	if err := it.Sign(s); err != nil {
		return nil, fmt.Errorf("attest %s/%d: %w", ev.Process, ev.Seq, err)
	}
	return it.Bytes()
}

// ErrAttestation is returned by VerifyAttestation when the attestation does not vouch for the body.
var ErrAttestation = errors.New("attestation does not match")

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
	if get(ao.TagDataProtocol) != ao.DataProtocol || get(ao.TagType) != TypeAttestation {
		return nil, fmt.Errorf("%w: not an ao Attestation item", ErrAttestation)
	}
	format := get(TagAttestFormat)
	if format != attestationFormat && format != "2" && format != "1" {
		return nil, fmt.Errorf("%w: unknown Attestation-Format %q", ErrAttestation, format)
	}
	a := &Attestation{
		ID:         it.ID(),
		Unit:       it.OwnerAddress(),
		Process:    get(ao.TagProcess),
		Message:    get(ao.TagMessage),
		Cron:       get(TagCron),
		HashChain:  get(ao.TagHashChain),
		ResultHash: get(TagResultHash),
		MemoryHash: get(TagMemoryHash),
		Format:     format,
	}
	if a.Slot, err = strconv.ParseInt(get(TagSlot), 10, 64); err != nil {
		return nil, fmt.Errorf("%w: bad Slot %q", ErrAttestation, get(TagSlot))
	}
	if a.Timestamp, err = strconv.ParseInt(get(ao.TagTimestamp), 10, 64); err != nil {
		return nil, fmt.Errorf("%w: bad Timestamp", ErrAttestation)
	}
	if a.BlockHeight, err = strconv.ParseInt(get(ao.TagBlockHeight), 10, 64); err != nil {
		return nil, fmt.Errorf("%w: bad Block-Height", ErrAttestation)
	}
	h := sha256.Sum256(body)
	if a.ResultHash != dataitem.B64(h[:]) {
		return nil, fmt.Errorf("%w: Result-Hash %s is not the hash of the result body (%s)", ErrAttestation, a.ResultHash, dataitem.B64(h[:]))
	}
	return a, nil
}
