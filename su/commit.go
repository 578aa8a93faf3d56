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

// commit writes one batch. A slot built on a head that an earlier failed commit lost (its process generation
// moved on) is refused rather than written, so a failed commit can never leave a gap in a log.
func (u *Unit) commit(ctx context.Context, batch []*pending) {
	live := batch[:0]
	for _, p := range batch {
		if p.proc.gen.Load() != p.gen {
			u.finish(p, errors.New("an earlier slot of this process failed to commit; retry"))
			continue
		}
		live = append(live, p)
	}
	if len(live) == 0 {
		return
	}
	slots := make([]Slot, len(live))
	queued := false
	for i, p := range live {
		slots[i] = p.slot
		queued = queued || p.slot.Upload
	}
	start := time.Now()
	err := u.cfg.Store.Commit(ctx, slots, nil)
	u.metrics.observeCommit(time.Since(start), len(live), err)
	if err != nil {
		err = fmt.Errorf("commit %d slots: %w", len(live), err)
		u.log.Error("group commit failed", "slots", len(live), "err", err)
		for _, p := range live {
			u.invalidate(p.proc)
		}
		for _, p := range live {
			u.finish(p, err)
		}
		return
	}
	for _, p := range live {
		u.appendTail(p.proc, p.slot)
	}
	for _, p := range live {
		u.finish(p, nil)
	}
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
}

// invalidate forgets a process's in-memory head after a failed commit: the next write reloads it from the store.
func (u *Unit) invalidate(ps *procState) {
	u.dropTail(ps)
	g := ps.gen.Add(1)
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
