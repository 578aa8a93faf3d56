package cu

import (
	"crypto/sha256"
	"fmt"
	"strconv"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/dataitem"
)

// Attestation tag names and type (see doc.go for the format); the format is the protocol's (package ao), which
// the MU's quorum reads too.
const (
	TypeAttestation = ao.TypeAttestation
	TagSlot         = ao.TagSlot
	TagCron         = ao.TagCron
	TagResultHash   = ao.TagResultHash
	TagMemoryHash   = ao.TagMemoryHash
	TagAttestFormat = ao.TagAttestFormat
	// attestationFormat is what Attest writes (ao.AttestationFormat).
	attestationFormat = ao.AttestationFormat
)

// Attestation is a verified attestation: what the CU signed about one result.
type Attestation = ao.Attestation

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
var ErrAttestation = ao.ErrAttestation

// VerifyAttestation checks an attestation item against the result body it came with (ao.VerifyAttestation): the
// item's signature, its tags, and that Result-Hash is the SHA-256 of body. It does not decide whether the
// signer is trusted: compare Attestation.Unit with the CU addresses you trust.
func VerifyAttestation(att, body []byte) (*Attestation, error) {
	return ao.VerifyAttestation(att, body)
}
