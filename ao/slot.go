package ao

import (
	"strconv"

	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/wallet"
)

// Slot checks: what anyone who replays a process's log checks of each slot before trusting it. The CU applies
// them to the log it pages from an SU; `aogo verify` to the log it reads from a gateway or an SU. They are pure:
// the caller brings the items.

// Assignment is what an Assignment's tags say about its slot.
type Assignment struct {
	Process     string
	Message     string // the Message tag ("" on the Process's own slot)
	Epoch       int64
	Nonce       int64
	Timestamp   int64
	BlockHeight int64
	HashChain   string
}

// ParseAssignment reads an Assignment's tags. Epoch, Nonce, Timestamp and Block-Height must be integers.
func ParseAssignment(tags []dataitem.Tag) (Assignment, error) {
	var a Assignment
	var err error
	a.Process, _ = dataitem.Get(tags, TagProcess)
	a.Message, _ = dataitem.Get(tags, TagMessage)
	a.HashChain, _ = dataitem.Get(tags, TagHashChain)
	for _, f := range []struct {
		name string
		v    *int64
	}{{TagEpoch, &a.Epoch}, {TagNonce, &a.Nonce}, {TagTimestamp, &a.Timestamp}, {TagBlockHeight, &a.BlockHeight}} {
		if *f.v, err = intTag(tags, f.name); err != nil {
			return a, err
		}
	}
	return a, nil
}

func intTag(tags []dataitem.Tag, name string) (int64, error) {
	v, ok := dataitem.Get(tags, name)
	if !ok {
		return 0, invalid("assignment has no %s tag", name)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, invalid("assignment %s tag %q is not an integer", name, v)
	}
	return n, nil
}

// Chain is the end of the verified part of a process's log: the last slot's nonce (-1 before the first), its
// Hash-Chain and its assignment's id, from which the next slot's Hash-Chain follows.
type Chain struct {
	Nonce        int64
	HashChain    string
	AssignmentID string
}

// Next is the chain after slot a, whose assignment item is assignmentID.
func (c Chain) Next(a Assignment, assignmentID string) Chain {
	return Chain{Nonce: a.Nonce, HashChain: a.HashChain, AssignmentID: assignmentID}
}

// CheckSlot checks that assignment a (item assignmentID) is the slot of process pid that follows prev: the next
// nonce (nonces are dense from 0), the Hash-Chain the reference SU computes (FirstHashChain / NextHashChain), and
// the message it carries: messageID (with its signature messageSig) must be the one the Message tag names, or
// the process itself when there is no Message tag, and its id must be SHA-256 of its signature. messageID ""
// means the slot carries no message (an assignment of an item held elsewhere). Failures are *ValidationError.
func CheckSlot(pid string, prev Chain, a Assignment, assignmentID, messageID, messageSig string) error {
	if a.Process != pid {
		return invalid("assignment %s belongs to process %q, not %s", assignmentID, a.Process, pid)
	}
	if a.Nonce != prev.Nonce+1 {
		return invalid("assignment %s has nonce %d, want %d (nonces must be dense)", assignmentID, a.Nonce, prev.Nonce+1)
	}
	var want string
	var err error
	if prev.Nonce < 0 {
		want, err = FirstHashChain(pid)
	} else {
		want, err = NextHashChain(prev.HashChain, prev.AssignmentID)
	}
	if err != nil {
		return invalid("hash chain at nonce %d: %v", a.Nonce, err)
	}
	if a.HashChain != want {
		return invalid("hash chain invalid at nonce %d (assignment %s): got %q, want %q", a.Nonce, assignmentID, a.HashChain, want)
	}
	if messageID != "" {
		if a.Message != "" && a.Message != messageID {
			return invalid("assignment %s assigns %s but carries message %s", assignmentID, a.Message, messageID)
		}
		if a.Message == "" && messageID != pid {
			return invalid("assignment %s has no Message tag but carries %s", assignmentID, messageID)
		}
		if err := CheckID(messageID, messageSig); err != nil {
			return invalid("message at nonce %d: %v", a.Nonce, err)
		}
	}
	return nil
}

// CheckID checks that id is base64url(SHA-256(signature)), signature being base64url.
func CheckID(id, signature string) error {
	sig, err := dataitem.DecodeB64(signature)
	if err != nil || len(sig) == 0 {
		return invalid("item %s: bad signature encoding", id)
	}
	if got := dataitem.IDFromSignature(sig); got != id {
		return invalid("item %s: id does not match its signature (%s)", id, got)
	}
	return nil
}

// ItemFields is a signed item as JSON and GraphQL show it: base64url owner key, signature and target; the anchor
// as base64url of its 32 bytes or as the bytes themselves (the SU's show-anchor, GraphQL); the data as bytes.
type ItemFields struct {
	ID        string
	OwnerKey  string
	Signature string
	Anchor    string
	Target    string
	Tags      []dataitem.Tag
	Data      []byte
}

// OwnerAddress is the address of an owner key: an Ethereum checksum address for a secp256k1 key, else
// base64url(SHA-256(key)).
func OwnerAddress(owner []byte) string {
	if len(owner) == 65 {
		return wallet.EthereumAddress(owner)
	}
	return dataitem.Address(owner)
}

// VerifyItem rebuilds the ANS-104 item f describes and checks its id and signature; scheduler, when not "", is
// the address that must have signed it (an assignment: the process's Scheduler tag).
func VerifyItem(f ItemFields, scheduler string) error {
	owner, err := dataitem.DecodeB64(f.OwnerKey)
	if err != nil || len(owner) == 0 {
		return invalid("item %s: bad owner key", f.ID)
	}
	sig, err := dataitem.DecodeB64(f.Signature)
	if err != nil {
		return invalid("item %s: bad signature encoding", f.ID)
	}
	if err := CheckID(f.ID, f.Signature); err != nil {
		return err
	}
	if scheduler != "" && dataitem.Address(owner) != scheduler && !(len(owner) == 65 && wallet.EthereumAddress(owner) == scheduler) {
		return invalid("item %s is signed by %s, not the process's scheduler %s", f.ID, OwnerAddress(owner), scheduler)
	}
	var anchor []byte
	if f.Anchor != "" {
		if b, err := dataitem.DecodeB64(f.Anchor); err == nil && len(b) == 32 {
			anchor = b
		} else if len(f.Anchor) == 32 {
			anchor = []byte(f.Anchor)
		} else {
			return invalid("item %s: anchor %q is neither 32 bytes nor their base64url", f.ID, f.Anchor)
		}
	}
	var types []dataitem.SignatureType
	switch len(owner) {
	case 512:
		types = []dataitem.SignatureType{dataitem.Arweave}
	case 65:
		types = []dataitem.SignatureType{dataitem.Ethereum}
	case 32:
		types = []dataitem.SignatureType{dataitem.ED25519, dataitem.Solana}
	default:
		return invalid("item %s: owner key of %d bytes matches no signature type", f.ID, len(owner))
	}
	var target []byte
	if f.Target != "" {
		if target, err = dataitem.DecodeB64(f.Target); err != nil {
			return invalid("item %s: bad target", f.ID)
		}
	}
	var lastErr error
	for _, t := range types {
		it := &dataitem.Item{SignatureType: t, Signature: sig, Owner: owner, Target: target, Anchor: anchor, Tags: f.Tags, Data: f.Data}
		if lastErr = it.Verify(); lastErr == nil {
			return nil
		}
	}
	if anchor == nil {
		return invalid("item %s: signature does not verify (no anchor was given; an SU must answer show-anchor=1): %v", f.ID, lastErr)
	}
	return invalid("item %s: signature does not verify: %v", f.ID, lastErr)
}
