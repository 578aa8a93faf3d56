package su

// The head cache: one procState per process with recent writes, at most MaxProcs of them. A head is evicted only
// when idle (no write inside schedule holds it and none of its slots is still on its way to the store), so two
// heads of one process can never exist at once, and a reloaded head always sees every slot of its log.

// evictScan bounds how far from the cold end acquire looks for an idle head to drop: when every cold head is
// busy, the cache overshoots for a while instead of costing each write a long walk.
const evictScan = 64

// acquire returns pid's head, creating it (empty, to be loaded under its lock) when missing, and holds it until
// release.
func (u *Unit) acquire(pid string) *procState {
	u.mu.Lock()
	defer u.mu.Unlock()
	ps := u.procs[pid]
	if ps != nil {
		ps.refs++
		u.lru.MoveToFront(ps.elem)
		return ps
	}
	// Held before evict runs, so the new head is never the one dropped.
	ps = &procState{pid: pid, pending: map[string]*pending{}, refs: 1}
	u.procs[pid] = ps
	ps.elem = u.lru.PushFront(ps)
	u.evict()
	return ps
}

// release lets go of a head taken by acquire.
func (u *Unit) release(ps *procState) {
	u.mu.Lock()
	ps.refs--
	u.mu.Unlock()
}

// evict drops idle heads from the cold end while the cache holds more than MaxProcs. Called with u.mu held.
func (u *Unit) evict() {
	e := u.lru.Back()
	for i := 0; e != nil && i < evictScan && len(u.procs) > u.cfg.MaxProcs; i++ {
		prev := e.Prev()
		// inflight only grows under a ref, and refs only under u.mu: an idle head stays idle while we hold u.mu.
		if ps := e.Value.(*procState); ps.refs == 0 && ps.inflight.Load() == 0 {
			u.lru.Remove(e)
			delete(u.procs, ps.pid)
			u.dropTail(ps)
			u.metrics.headsEvicted.Add(1)
		}
		e = prev
	}
}

// heads is the number of cached heads.
func (u *Unit) heads() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.procs)
}
