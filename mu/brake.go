package mu

import "fmt"

// The brake on message loops. Two processes that answer each other's messages (ping-pong without an end), or a
// process that answers itself, crank forever: every hop is a new signed item on an SU, a CU evaluation and MU
// work, for as long as the MU runs. Each task counts its hops from the root of its cascade (Task.Depth: a
// user's item is 0, its outbox messages 1, theirs 2, …; a cron result's messages start at 1). A task deeper
// than Config.MaxDepth is not delivered: it is stored parked, with the signed item and the reason, counted in
// aogo_mu_depth_limited_total, and listed on GET / like any parked task. Nothing is lost: an operator who
// wants the cascade to go on retries it (POST /parked/{id}/retry), which delivers that message and parks the
// next hop again, or raises the limit (aogo mu --max-depth) and retries.
//
// A depth limit, not a rate: a loop is stopped for good rather than slowed, so it cannot cost without end, and
// cascades of legitimate depth (a token transfer is 2 hops, a spawn and its notice 2) are never delayed.

// DefaultMaxDepth is the default Config.MaxDepth.
const DefaultMaxDepth = 1000

// brake parks t when it is deeper than the limit.
func (m *MU) brake(t *Task) {
	if t.Depth <= m.cfg.MaxDepth || t.Stage == StageParked {
		return
	}
	t.Stage = StageParked
	t.LastError = fmt.Sprintf("cascade depth %d is over the limit of %d hops (a message loop?): not delivered; "+
		"retry this task to deliver it (its next hop is parked again), or raise the limit (--max-depth) and retry", t.Depth, m.cfg.MaxDepth)
	m.met.depthLimited.Add(1)
}
