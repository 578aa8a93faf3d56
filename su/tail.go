package su

// The tail cache
//
// A CU asks for the newest slots of a process right after they are written (an MU's pull, a client's
// result request): every such page read is a store query, and SQLite in WAL mode drops a reader's page
// cache whenever the log changed, so the query that answers one slot costs a fresh B-tree descent from
// disk pages. Each head therefore keeps its last few durable slots (appended by the committer after the
// commit, before the writers are answered), and a page whose range lies wholly within them is answered
// from memory.
//
// The tail is contiguous and ends at the durable head, which the committer is the only one to move (the
// same single-writer assumption the head cache makes), so a range starting at or after its first slot is
// exactly what the store holds. Anything it cannot prove covered goes to the store.
//
// With replicas sharing the store (Config.Replicated), another SU may have appended to the log since: the
// tail's end is then not known to be the log's end. Slots never change once written, so a page that ends
// inside the tail (its limit or its To bound reached on a tail slot) is still exactly what the store holds;
// a page reaching past the tail's last slot goes to the store. Memory is bounded per
// process (tailSlots, tailBytes) and for the unit (maxTailBytes): past the budget new tails are not kept.

const (
	tailSlots    = 8
	tailBytes    = 256 << 10
	maxTailBytes = 64 << 20
)

// tailSize is what a slot costs in a tail.
func tailSize(s *Slot) int64 { return int64(len(s.Message) + len(s.Assignment) + 256) }

// appendTail adds a committed slot to its head's tail (called in nonce order).
func (u *Unit) appendTail(ps *procState, s Slot) {
	ps.tmu.Lock()
	defer ps.tmu.Unlock()
	size := tailSize(&s)
	if n := len(ps.tail); n > 0 && ps.tail[n-1].Nonce+1 != s.Nonce {
		u.dropTailLocked(ps) // not contiguous: start again
	}
	if size > tailBytes || u.tailBytes.Load()+size > maxTailBytes {
		u.dropTailLocked(ps) // a gap: the tail may no longer end at the head
		return
	}
	ps.tail = append(ps.tail, s)
	ps.tailSize += size
	u.tailBytes.Add(size)
	for len(ps.tail) > tailSlots || ps.tailSize > tailBytes {
		old := tailSize(&ps.tail[0])
		ps.tail[0] = Slot{}
		ps.tail = ps.tail[1:]
		ps.tailSize -= old
		u.tailBytes.Add(-old)
	}
}

// dropTail forgets ps's tail (a failed commit, an evicted head).
func (u *Unit) dropTail(ps *procState) {
	ps.tmu.Lock()
	u.dropTailLocked(ps)
	ps.tmu.Unlock()
}

func (u *Unit) dropTailLocked(ps *procState) {
	u.tailBytes.Add(-ps.tailSize)
	ps.tail, ps.tailSize = nil, 0
}

// fromTail answers a page query (q.Limit included) from pid's tail, or reports false when the tail does
// not cover the range.
func (u *Unit) fromTail(pid string, q PageQuery) ([]Slot, bool) {
	u.mu.Lock()
	ps := u.procs[pid]
	u.mu.Unlock()
	if ps == nil {
		return nil, false
	}
	ps.tmu.Lock()
	defer ps.tmu.Unlock()
	if len(ps.tail) == 0 {
		return nil, false
	}
	key := func(s *Slot) int64 {
		if q.ByNonce {
			return int64(s.Nonce)
		}
		return s.Timestamp
	}
	// Covered when every slot after From is in the tail: the tail starts at the log's first slot, or with
	// the slot right after nonce From, or with a slot at or before timestamp From (timestamps grow strictly
	// with the nonce).
	first := &ps.tail[0]
	covered := first.Nonce == 0 || q.HasFrom && (q.ByNonce && int64(first.Nonce) <= q.From+1 || !q.ByNonce && first.Timestamp <= q.From)
	if !covered {
		return nil, false
	}
	var out []Slot
	ended := false // the page ended on a tail slot, not at the tail's end
	for i := range ps.tail {
		s := &ps.tail[i]
		if q.HasFrom && key(s) <= q.From {
			continue
		}
		if q.HasTo && key(s) > q.To || len(out) >= q.Limit {
			ended = true
			break
		}
		out = append(out, *s)
	}
	if u.cfg.Replicated && !ended {
		return nil, false
	}
	u.metrics.tailPages.Add(1)
	return out, true
}
