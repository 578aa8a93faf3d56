package cu

import (
	"fmt"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/wallet"
)

// chainState is the end of the verified part of a process's log.
type chainState struct {
	Nonce        int64 // -1 before the first slot
	HashChain    string
	AssignmentID string
}

// checkSlot verifies that node is the slot that follows st in process pid's log: the next nonce, the hash
// chain the reference SU computes (ao.FirstHashChain / ao.NextHashChain), the Process and Message tags, and
// the message's id against its signature. Failures are 422, as the reference CU answers a broken chain.
func checkSlot(pid string, st chainState, node *client.SUMessage, meta slotMeta) error {
	a := &node.Assignment
	if meta.Process != pid {
		return unprocessable("assignment %s belongs to process %q, not %s", a.ID, meta.Process, pid)
	}
	if meta.Nonce != st.Nonce+1 {
		return unprocessable("assignment %s has nonce %d, want %d (nonces must be dense)", a.ID, meta.Nonce, st.Nonce+1)
	}
	var want string
	var err error
	if st.Nonce < 0 {
		want, err = ao.FirstHashChain(pid)
	} else {
		want, err = ao.NextHashChain(st.HashChain, st.AssignmentID)
	}
	if err != nil {
		return unprocessable("hash chain at nonce %d: %v", meta.Nonce, err)
	}
	if meta.HashChain != want {
		return unprocessable("hash chain invalid at nonce %d (assignment %s): got %q, want %q", meta.Nonce, a.ID, meta.HashChain, want)
	}
	if m := node.Message; m != nil {
		if meta.Message != "" && meta.Message != m.ID {
			return unprocessable("assignment %s assigns %s but carries message %s", a.ID, meta.Message, m.ID)
		}
		if meta.Message == "" && m.ID != pid {
			return unprocessable("assignment %s has no Message tag but carries %s", a.ID, m.ID)
		}
		if err := checkID(m.ID, m.Signature); err != nil {
			return unprocessable("message at nonce %d: %v", meta.Nonce, err)
		}
	}
	return nil
}

// checkID checks that id is base64url(SHA-256(signature)).
func checkID(id, signature string) error {
	sig, err := dataitem.DecodeB64(signature)
	if err != nil || len(sig) == 0 {
		return fmt.Errorf("item %s: bad signature encoding", id)
	}
	if got := dataitem.IDFromSignature(sig); got != id {
		return fmt.Errorf("item %s: id does not match its signature (%s)", id, got)
	}
	return nil
}

// verifyAssignment rebuilds the assignment data item from the SU's JSON and checks its signature, its id,
// and that it is signed by the process's scheduler. The SU's JSON carries everything an assignment item
// holds (owner key, tags, signature; its data and target are empty) except the anchor, which the SU sends
// only with show-anchor=1, as base64url.
func verifyAssignment(a *client.SUItem, scheduler string) error {
	owner, err := dataitem.DecodeB64(a.Owner.Key)
	if err != nil || len(owner) == 0 {
		return unprocessable("assignment %s: bad owner key", a.ID)
	}
	sig, err := dataitem.DecodeB64(a.Signature)
	if err != nil {
		return unprocessable("assignment %s: bad signature encoding", a.ID)
	}
	if err := checkID(a.ID, a.Signature); err != nil {
		return unprocessable("assignment: %v", err)
	}
	if scheduler != "" && dataitem.Address(owner) != scheduler && !(len(owner) == 65 && wallet.EthereumAddress(owner) == scheduler) {
		return unprocessable("assignment %s is signed by %s, not the process's scheduler %s", a.ID, dataitem.Address(owner), scheduler)
	}
	var anchor []byte
	if a.Anchor != nil && *a.Anchor != "" {
		if b, err := dataitem.DecodeB64(*a.Anchor); err == nil && len(b) == 32 {
			anchor = b
		} else if len(*a.Anchor) == 32 {
			anchor = []byte(*a.Anchor)
		} else {
			return unprocessable("assignment %s: anchor %q is neither 32 bytes nor their base64url", a.ID, *a.Anchor)
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
		return unprocessable("assignment %s: owner key of %d bytes matches no signature type", a.ID, len(owner))
	}
	var target []byte
	if a.Target != nil && *a.Target != "" {
		if target, err = dataitem.DecodeB64(*a.Target); err != nil {
			return unprocessable("assignment %s: bad target", a.ID)
		}
	}
	var lastErr error
	for _, t := range types {
		it := &dataitem.Item{SignatureType: t, Signature: sig, Owner: owner, Target: target, Anchor: anchor, Tags: a.Tags}
		if lastErr = it.Verify(); lastErr == nil {
			return nil
		}
	}
	if anchor == nil {
		return unprocessable("assignment %s: signature does not verify (the SU sent no anchor; it must answer show-anchor=1): %v", a.ID, lastErr)
	}
	return unprocessable("assignment %s: signature does not verify: %v", a.ID, lastErr)
}
