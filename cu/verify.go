package cu

import (
	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/client"
)

// chainState is the end of the verified part of a process's log.
type chainState = ao.Chain

// checkSlot verifies that node is the slot that follows st in process pid's log (ao.CheckSlot: the next
// nonce, the hash chain, the Process and Message tags, the message's id against its signature). Failures are
// 422, as the reference CU answers a broken chain.
func checkSlot(pid string, st chainState, node *client.SUMessage, meta slotMeta) error {
	mid, msig := "", ""
	if m := node.Message; m != nil {
		mid, msig = m.ID, m.Signature
	}
	if err := ao.CheckSlot(pid, st, meta, node.Assignment.ID, mid, msig); err != nil {
		return unprocessable("%v", err)
	}
	return nil
}

// checkID checks that id is base64url(SHA-256(signature)).
func checkID(id, signature string) error { return ao.CheckID(id, signature) }

// verifyAssignment rebuilds the assignment data item from the SU's JSON and checks its signature, its id,
// and that it is signed by the process's scheduler (ao.VerifyItem). The SU's JSON carries everything an
// assignment item holds (owner key, tags, signature; its data and target are empty) except the anchor, which
// the SU sends only with show-anchor=1, as base64url.
func verifyAssignment(a *client.SUItem, scheduler string) error {
	if err := ao.VerifyItem(a.Fields(), scheduler); err != nil {
		return unprocessable("assignment: %v", err)
	}
	return nil
}
