package verify

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/dataitem"
)

// A statement is what a verifier signs at the end of a run: "I replayed process P's log from slot 0 to slot N
// and got this result and this memory". It is an ANS-104 data item signed by the verifier's wallet, with empty
// data, no target and no anchor, and these tags in this order:
//
//	Data-Protocol: ao
//	Variant: ao.TN.1
//	Type: Verification
//	Verification-Format: 1
//	Process: <process id>
//	Module: <module id>
//	Slot: <the last slot replayed>
//	Message: <its message id>
//	Hash-Chain: <its assignment's Hash-Chain>
//	Timestamp: <its Timestamp>
//	Block-Height: <its Block-Height>
//	Result-Hash: base64url(SHA-256(result body)), as a CU's attestation
//	Memory-Hash: base64url(vm.HashMemory after it), as a CU's attestation (format 3)
//	Slots-Checked: <slots whose assignment, chain and message were checked: Slot + 1>
//	Units-Agreeing: <addresses of the CUs that agreed on every slot compared, comma-separated>   (when any)
//	Divergence-Slot: <the first slot where a CU disagreed>                                        (when any)
//
// `aogo verify-result --statement FILE` checks one offline: the signature, the tags, and (with --body) that
// Result-Hash is the hash of a result body.

// Statement tag names and values.
const (
	TypeVerification   = "Verification"
	TagVerifyFormat    = "Verification-Format"
	TagSlot            = "Slot"
	TagResultHash      = "Result-Hash"
	TagMemoryHash      = "Memory-Hash"
	TagSlotsChecked    = "Slots-Checked"
	TagUnitsAgreeing   = "Units-Agreeing"
	TagDivergenceSlot  = "Divergence-Slot"
	verificationFormat = "1"
)

// Statement is a verifier's signed statement about a process.
type Statement struct {
	ID             string   `json:"id,omitempty"`
	Verifier       string   `json:"verifier,omitempty"` // address of the wallet that signed it
	Process        string   `json:"process"`
	Module         string   `json:"module"`
	Slot           int64    `json:"slot"`
	Message        string   `json:"message"`
	HashChain      string   `json:"hash_chain"`
	Timestamp      int64    `json:"timestamp"`
	BlockHeight    int64    `json:"block_height"`
	ResultHash     string   `json:"result_hash"`
	MemoryHash     string   `json:"memory_hash"`
	SlotsChecked   int64    `json:"slots_checked"`
	UnitsAgreeing  []string `json:"units_agreeing,omitempty"`
	DivergenceSlot *int64   `json:"divergence_slot,omitempty"`
}

func (s *Statement) tags() []dataitem.Tag {
	i := func(n int64) string { return strconv.FormatInt(n, 10) }
	tags := []dataitem.Tag{
		{Name: ao.TagDataProtocol, Value: ao.DataProtocol},
		{Name: ao.TagVariant, Value: ao.Variant},
		{Name: ao.TagType, Value: TypeVerification},
		{Name: TagVerifyFormat, Value: verificationFormat},
		{Name: ao.TagProcess, Value: s.Process},
		{Name: ao.TagModule, Value: s.Module},
		{Name: TagSlot, Value: i(s.Slot)},
		{Name: ao.TagMessage, Value: s.Message},
		{Name: ao.TagHashChain, Value: s.HashChain},
		{Name: ao.TagTimestamp, Value: i(s.Timestamp)},
		{Name: ao.TagBlockHeight, Value: i(s.BlockHeight)},
		{Name: TagResultHash, Value: s.ResultHash},
		{Name: TagMemoryHash, Value: s.MemoryHash},
		{Name: TagSlotsChecked, Value: i(s.SlotsChecked)},
	}
	if len(s.UnitsAgreeing) > 0 {
		tags = append(tags, dataitem.Tag{Name: TagUnitsAgreeing, Value: strings.Join(s.UnitsAgreeing, ",")})
	}
	if s.DivergenceSlot != nil {
		tags = append(tags, dataitem.Tag{Name: TagDivergenceSlot, Value: i(*s.DivergenceSlot)})
	}
	return tags
}

// Sign signs the statement with signer and returns the item's bytes; s.ID and s.Verifier are set.
func (s *Statement) Sign(signer dataitem.Signer) ([]byte, error) {
	it := &dataitem.Item{Tags: s.tags()}
	if err := it.Sign(signer); err != nil {
		return nil, fmt.Errorf("sign the verification statement: %w", err)
	}
	s.ID, s.Verifier = it.ID(), it.OwnerAddress()
	return it.Bytes()
}

// ErrStatement is returned by ParseStatement for an item that is not a well-formed statement.
var ErrStatement = errors.New("not a verification statement")

// ParseStatement checks a statement item's signature and tags and returns what it states. Whether the verifier
// is one you trust is your decision: compare Statement.Verifier with the addresses you trust.
func ParseStatement(raw []byte) (*Statement, error) {
	it, err := dataitem.Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("decode statement: %w", err)
	}
	if err := it.Verify(); err != nil {
		return nil, fmt.Errorf("statement signature: %w", err)
	}
	get := func(name string) string { v, _ := it.Tag(name); return v }
	if get(ao.TagDataProtocol) != ao.DataProtocol || get(ao.TagType) != TypeVerification {
		return nil, fmt.Errorf("%w: not an ao %s item", ErrStatement, TypeVerification)
	}
	if f := get(TagVerifyFormat); f != verificationFormat {
		return nil, fmt.Errorf("%w: unknown %s %q", ErrStatement, TagVerifyFormat, f)
	}
	s := &Statement{ID: it.ID(), Verifier: it.OwnerAddress(), Process: get(ao.TagProcess), Module: get(ao.TagModule),
		Message: get(ao.TagMessage), HashChain: get(ao.TagHashChain), ResultHash: get(TagResultHash), MemoryHash: get(TagMemoryHash)}
	for _, f := range []struct {
		name string
		v    *int64
	}{{TagSlot, &s.Slot}, {ao.TagTimestamp, &s.Timestamp}, {ao.TagBlockHeight, &s.BlockHeight}, {TagSlotsChecked, &s.SlotsChecked}} {
		if *f.v, err = strconv.ParseInt(get(f.name), 10, 64); err != nil {
			return nil, fmt.Errorf("%w: bad %s %q", ErrStatement, f.name, get(f.name))
		}
	}
	if v := get(TagDivergenceSlot); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: bad %s %q", ErrStatement, TagDivergenceSlot, v)
		}
		s.DivergenceSlot = &n
	}
	if v := get(TagUnitsAgreeing); v != "" {
		s.UnitsAgreeing = strings.Split(v, ",")
	}
	for name, v := range map[string]string{ao.TagProcess: s.Process, TagResultHash: s.ResultHash, TagMemoryHash: s.MemoryHash} {
		if b, err := dataitem.DecodeB64(v); err != nil || len(b) != 32 {
			return nil, fmt.Errorf("%w: %s %q is not 32 bytes of base64url", ErrStatement, name, v)
		}
	}
	return s, nil
}
