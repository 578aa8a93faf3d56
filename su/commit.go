package su

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// commitLoop is the group committer: it takes every slot waiting in the queue (up to MaxBatch), writes them and
// their uploads in one transaction, then releases their requests. While one transaction is being made durable
// the next batch accumulates, so one fsync serves many requests across all processes.
func (u *Unit) commitLoop(ctx context.Context) {
	defer u.stopOnce.Do(func() { close(u.stopped) })
	batch := make([]*pending, 0, u.cfg.MaxBatch)
	for {
		batch = batch[:0]
		select {
		case <-ctx.Done():
			u.drain(ctx.Err())
			return
		case p := <-u.queue:
			batch = append(batch, p)
		}
	fill:
		for len(batch) < u.cfg.MaxBatch {
			select {
			case p := <-u.queue:
				batch = append(batch, p)
			default:
				break fill
			}
		}
		u.commit(ctx, batch)
	}
}

// errStale refuses a slot that was built on a head that is no longer the durable one: an earlier slot of its
// process failed to commit, or another SU replica sharing the store wrote to the process (a *ConflictError from
// the store). The slot was never written, so schedule places the request again on the reloaded head.
var errStale = errors.New("su: the process head moved before this slot was committed")

// commit writes one batch. A slot built on a head that an earlier failed commit lost (its process generation
// moved on) is refused rather than written, so a failed commit can never leave a gap in a log.
//
// A *ConflictError (another replica moved some heads) refuses only the slots of the processes it names: their
// heads are dropped, and the rest of the batch is committed again at once, so one contended process does not
// fail the writes of every other process that shared its batch. The refused requests are placed again by their
// own goroutines (schedule), which can take the process lock; the committer cannot (a writer holding it may be
// waiting for room in the queue).
func (u *Unit) commit(ctx context.Context, batch []*pending) {
	live := batch[:0]
	for _, p := range batch {
		if p.proc.gen.Load() != p.gen {
			if p.proc.failedGen.Load() > p.gen {
				u.finish(p, errors.New("an earlier slot of this process failed to commit; retry"))
			} else {
				u.finish(p, errStale) // lost to a conflict only: place it again
			}
			continue
		}
		live = append(live, p)
	}
	for len(live) > 0 {
		err := u.commitLive(ctx, live)
		var conflict *ConflictError
		if !errors.As(err, &conflict) {
			return
		}
		u.metrics.conflicts.Add(1)
		stale := make(map[string]bool, len(conflict.Processes))
		for _, pid := range conflict.Processes {
			stale[pid] = true
		}
		rest := live[:0]
		for _, p := range live {
			if stale[p.slot.Process] {
				u.invalidate(p.proc, false)
			}
		}
		for _, p := range live {
			if stale[p.slot.Process] {
				u.finish(p, errStale)
			} else {
				rest = append(rest, p)
			}
		}
		if len(rest) == len(live) {
			// A conflict on no process of the batch: a store bug; refuse the lot rather than loop.
			for _, p := range live {
				u.invalidate(p.proc, true)
			}
			for _, p := range live {
				u.finish(p, fmt.Errorf("commit %d slots: %w", len(live), err))
			}
			return
		}
		live = rest
	}
}

// commitLive writes slots that are all on live heads. On a *ConflictError it returns it and finishes nothing
// (the caller sorts the batch); on any other outcome every slot is finished.
func (u *Unit) commitLive(ctx context.Context, live []*pending) error {
	slots := make([]Slot, len(live))
	queued := false
	for i, p := range live {
		slots[i] = p.slot
		queued = queued || p.slot.Upload
	}
	start := time.Now()
	err := u.cfg.Store.Commit(ctx, slots, nil)
	var conflict *ConflictError
	if errors.As(err, &conflict) {
		// Counted as a conflict (by the caller), not as a failed commit: nothing is wrong with the store.
		u.metrics.observeCommit(time.Since(start), len(live), nil)
		u.log.Info("commit refused: another writer moved process heads; reloading them", "processes", len(conflict.Processes), "first", conflict.Processes[0])
		return err
	}
	u.metrics.observeCommit(time.Since(start), len(live), err)
	if err != nil {
		err = fmt.Errorf("commit %d slots: %w", len(live), err)
		u.log.Error("group commit failed", "slots", len(live), "err", err)
		for _, p := range live {
			u.invalidate(p.proc, true)
		}
		for _, p := range live {
			u.finish(p, err)
		}
		return err
	}
	for _, p := range live {
		u.appendTail(p.proc, p.slot)
		p.proc.durable.Store(int64(p.slot.Nonce)) // batches hold a process's slots in nonce order
	}
	// The hook and the uploader hear of the commit before the writers are released: Go runs the goroutine
	// readied last first on this core (runnext), and that should be a writer, whose answer a client is waiting
	// for, not the CU's evaluation the hook starts (measured in aogo dev: released first, a writer waited
	// 0.75 ms behind it for a core).
	if queued {
		u.wakeUploader()
	}
	if u.cfg.OnCommit != nil {
		pids := make([]string, len(live))
		for i, p := range live {
			pids[i] = p.slot.Process
		}
		slices.Sort(pids)
		u.cfg.OnCommit(slices.Compact(pids))
	}
	for _, p := range live {
		u.finish(p, nil)
	}
	return nil
}

// invalidate forgets a process's in-memory head after a failed commit: the next write reloads it from the store.
// failed marks a commit that failed (its outcome is the writer's error), not a conflict: the slots queued
// behind it are then refused with an error too instead of being placed again.
func (u *Unit) invalidate(ps *procState, failed bool) {
	u.dropTail(ps)
	g := ps.gen.Add(1)
	if failed {
		ps.failedGen.Store(g)
	}
	ps.pmu.Lock()
	for k, q := range ps.pending {
		if q.gen < g {
			delete(ps.pending, k)
		}
	}
	ps.pmu.Unlock()
}

// finish releases a request and drops the slot from its process's pending set.
func (u *Unit) finish(p *pending, err error) {
	p.err = err
	ps := p.proc
	ps.pmu.Lock()
	if ps.pending[p.slot.MessageID] == p {
		delete(ps.pending, p.slot.MessageID)
	}
	if p.slot.ContentHash != "" && ps.pending["content:"+p.slot.ContentHash] == p {
		delete(ps.pending, "content:"+p.slot.ContentHash)
	}
	ps.pmu.Unlock()
	if err == nil {
		u.metrics.slotsCommitted.Add(1)
	}
	ps.inflight.Add(-1)
	close(p.done)
}

// drain refuses whatever is still queued when the committer stops.
func (u *Unit) drain(cause error) {
	for {
		select {
		case p := <-u.queue:
			u.finish(p, fmt.Errorf("%w: %w", errStopped, cause))
		default:
			return
		}
	}
}

func (u *Unit) wakeUploader() {
	select {
	case u.uploadCh <- struct{}{}:
	default:
	}
}
