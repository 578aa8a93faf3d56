package ao

import (
	"crypto/sha256"
	"fmt"

	"github.com/aogo/aogo/dataitem"
)

// FirstHashChain is the Hash-Chain of a process's first assignment (nonce 0):
// base64url(SHA-256(process id bytes)).
func FirstHashChain(processID string) (string, error) {
	pid, err := dataitem.DecodeB64(processID)
	if err != nil {
		return "", fmt.Errorf("hash chain: process id %q: %w", processID, err)
	}
	h := sha256.Sum256(pid)
	return dataitem.B64(h[:]), nil
}

// NextHashChain is the Hash-Chain that follows an assignment:
// base64url(SHA-256(prev assignment id bytes ‖ prev hash-chain bytes)).
func NextHashChain(prevHashChain, prevAssignmentID string) (string, error) {
	prev, err := dataitem.DecodeB64(prevHashChain)
	if err != nil {
		return "", fmt.Errorf("hash chain: previous value %q: %w", prevHashChain, err)
	}
	aid, err := dataitem.DecodeB64(prevAssignmentID)
	if err != nil {
		return "", fmt.Errorf("hash chain: previous assignment id %q: %w", prevAssignmentID, err)
	}
	h := sha256.New()
	h.Write(aid)
	h.Write(prev)
	return dataitem.B64(h.Sum(nil)), nil
}

// FormatBlockHeight pads a height to the 12 digits the reference SU writes.
func FormatBlockHeight(h uint64) string { return fmt.Sprintf("%012d", h) }

// AssignmentTags builds an Assignment's tags in the reference SU's exact order. message is "" for the
// assignment of a Process itself; exclude lists fields an assign-only call asked to exclude.
func AssignmentTags(processID string, nonce uint64, hashChain string, blockHeight uint64, timestampMs int64, message string, exclude []string) []Tag {
	tags := []Tag{
		{Name: TagProcess, Value: processID},
		{Name: TagEpoch, Value: "0"},
		{Name: TagNonce, Value: fmt.Sprint(nonce)},
		{Name: TagHashChain, Value: hashChain},
		{Name: TagBlockHeight, Value: FormatBlockHeight(blockHeight)},
		{Name: TagTimestamp, Value: fmt.Sprint(timestampMs)},
		{Name: TagDataProtocol, Value: DataProtocol},
		{Name: TagType, Value: TypeAssignment},
		{Name: TagVariant, Value: Variant},
	}
	if message != "" {
		tags = append(tags, Tag{Name: TagMessage, Value: message})
	}
	for _, e := range exclude {
		tags = append(tags, Tag{Name: TagExclude, Value: e})
	}
	return tags
}
