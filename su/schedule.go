package su

import (
	"container/list"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/dataitem"
)

// procState is the in-memory head of one process's log. mu is the single-writer lock of the process: nonce,
// timestamp, hash chain and the assignment signature are decided under it, and the slot enters the commit queue
// under it, so the queue holds each process's slots in nonce order.
type procState struct {
	mu      sync.Mutex
	loaded  bool
	seenGen uint64 // gen when the head was loaded
	// durable is the newest nonce known durable whose log's ids are all in seen (-1: none): set by load, and
	// moved by the committer as this SU's own slots commit (their ids entered seen when they were placed).
	durable atomic.Int64
	exists  bool
	last    Slot // nonce, timestamp, hash chain and assignment id of the newest slot (durable or queued)
	// gen is bumped by the committer when a commit of this process fails: the head is then reloaded, and queued
	// slots built on the lost head are refused. The committer never takes mu (a writer holding mu may be
	// waiting on the committer's queue).
	gen atomic.Uint64
	// failedGen is the gen a failed commit (not a conflict) bumped to last: slots placed before it are refused
	// with an error, while slots lost only to conflicts are placed again (commit.go).
	failedGen atomic.Uint64

	// seen holds a fingerprint of every message id and content hash in the log (loaded with the head, kept up
	// to date under mu). A miss proves an item is new without a store read; a hit is confirmed in the store.
	seen map[uint64]struct{}

	// seenFull: the log outgrew maxSeen ids and seen stopped growing; every id is then looked up in the store.
	seenFull bool

	pmu     sync.Mutex
	pending map[string]*pending // queued, not yet durable: by message id and by "content:"+hash

	// tail holds the newest durable slots, contiguous, up to the head (tail.go); tailSize is their cost.
	tmu      sync.Mutex
	tail     []Slot
	tailSize int64

	// The head cache (procs.go): refs and elem are guarded by Unit.mu; inflight counts queued slots that have
	// not finished. Only a head with neither may be evicted.
	pid      string
	refs     int
	elem     *list.Element
	inflight atomic.Int64
}

// pending is a slot on its way to the store; done closes when it is durable (err nil) or refused.
type pending struct {
	slot Slot
	proc *procState
	gen  uint64
	done chan struct{}
	err  error
}

// request is one write: an item to schedule, or (item nil) an assignment of an existing message.
type request struct {
	pid         string
	messageID   string
	raw         []byte // the item (nil on the assign path)
	isProcess   bool
	contentHash string
	exclude     []string
}

// result is what a write answers: the slot, and whether it already existed (a de-duplicated re-post).
type result struct {
	slot      Slot
	duplicate bool
}

// schedule gives r a slot (or finds the one it already has) and waits until that slot is durable.
func (u *Unit) schedule(ctx context.Context, r request) (result, error) {
	select {
	case <-u.started:
	case <-ctx.Done():
		return result{}, fmt.Errorf("waiting for the scheduler to start: %w", ctx.Err())
	}
	select {
	case <-u.stopped:
		return result{}, errStopped
	default:
	}
	ps := u.acquire(r.pid)
	defer u.release(ps)
	for attempt := 0; ; attempt++ {
		p, dup, err := u.place(ctx, ps, r)
		if err == nil && dup != nil {
			return result{slot: *dup, duplicate: true}, nil
		}
		if err == nil {
			select {
			case <-p.done:
			case <-u.stopped:
				select {
				case <-p.done:
				default:
					return result{}, errStopped
				}
			case <-ctx.Done():
				return result{}, fmt.Errorf("waiting for slot %d of %s: %w", p.slot.Nonce, r.pid, ctx.Err())
			}
			err = p.err
		}
		if errors.Is(err, errStale) {
			// Another replica sharing the store wrote to this process first, refusing this slot, or the
			// queued first copy of this same item that this request waited on (waitDup). Either way nothing
			// was written: place the request again on the reloaded head (which also sees whether the other
			// replica scheduled this very item). Bounded, for a process written by many replicas at once.
			if attempt+1 < maxPlacements {
				u.metrics.replaced.Add(1)
				continue
			}
			return result{}, &Error{Status: 503, Msg: fmt.Sprintf("process %s is being written by other scheduler replicas; retry", r.pid)}
		}
		if err != nil {
			return result{}, err
		}
		return result{slot: p.slot}, nil
	}
}

// maxPlacements bounds how often schedule places one request after its slots were refused as stale.
const maxPlacements = 16

// place runs under the process lock: it loads the head, de-duplicates, builds and signs the assignment and
// queues the slot. It returns the queued slot, or the existing one for a duplicate.
func (u *Unit) place(ctx context.Context, ps *procState, r request) (*pending, *Slot, error) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	gen := ps.gen.Load()
	if !ps.loaded || ps.seenGen != gen {
		if err := u.load(ctx, ps); err != nil {
			return nil, nil, err
		}
		ps.loaded, ps.seenGen = true, gen
	}
	if !ps.exists && !r.isProcess {
		return nil, nil, &Error{Status: 400, Msg: fmt.Sprintf("process %s not found on this scheduler", r.pid)}
	}
	// De-duplicate: the same id, or (pushed messages) the same content, keeps its first slot.
	if q := ps.lookup(r.messageID); q != nil {
		return u.waitDup(ctx, ps, q)
	}
	if ps.maybeSeen(r.messageID) {
		s, err := u.cfg.Store.Find(ctx, r.pid, r.messageID)
		if err == nil && s.MessageID == r.messageID {
			return nil, &s, nil
		}
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, nil, fmt.Errorf("de-duplicate %s in %s: %w", r.messageID, r.pid, err)
		}
	}
	if r.contentHash != "" {
		if q := ps.lookup("content:" + r.contentHash); q != nil {
			return u.waitDup(ctx, ps, q)
		}
		if ps.maybeSeen("content:" + r.contentHash) {
			s, err := u.cfg.Store.FindContent(ctx, r.pid, r.contentHash)
			if err == nil {
				return nil, &s, nil
			}
			if !errors.Is(err, ErrNotFound) {
				return nil, nil, fmt.Errorf("de-duplicate content in %s: %w", r.pid, err)
			}
		}
	}
	if r.isProcess && ps.exists {
		// A Process id is its own log's nonce 0; another item cannot claim it.
		return nil, nil, &Error{Status: 400, Msg: fmt.Sprintf("process %s already exists", r.pid)}
	}

	slot := Slot{Process: r.pid, MessageID: r.messageID, ContentHash: r.contentHash, Message: r.raw,
		BlockHeight: u.height.Load(), Timestamp: u.now()}
	var err error
	if ps.exists {
		slot.Nonce = ps.last.Nonce + 1
		// Strictly increasing timestamps keep timestamp paging (from exclusive) from skipping a slot.
		slot.Timestamp = max(slot.Timestamp, ps.last.Timestamp+1)
		slot.BlockHeight = max(slot.BlockHeight, ps.last.BlockHeight)
		slot.HashChain, err = ao.NextHashChain(ps.last.HashChain, ps.last.AssignmentID)
	} else {
		slot.HashChain, err = ao.FirstHashChain(r.pid)
	}
	if err != nil {
		return nil, nil, err
	}
	msgTag := r.messageID
	if r.isProcess {
		msgTag = "" // the Process's own assignment carries no Message tag
	}
	a := &dataitem.Item{
		Tags:   ao.AssignmentTags(r.pid, slot.Nonce, slot.HashChain, slot.BlockHeight, slot.Timestamp, msgTag, r.exclude),
		Anchor: make([]byte, 32),
	}
	if _, err := rand.Read(a.Anchor); err != nil {
		return nil, nil, fmt.Errorf("assignment anchor: %w", err)
	}
	if err := a.Sign(u.cfg.Wallet); err != nil {
		return nil, nil, fmt.Errorf("sign assignment: %w", err)
	}
	if slot.Assignment, err = a.Bytes(); err != nil {
		return nil, nil, fmt.Errorf("encode assignment: %w", err)
	}
	slot.AssignmentID = a.ID()

	// The store queues the message and assignment for upload by reference to the slot row.
	slot.Upload = u.cfg.Uploader != nil
	p := &pending{slot: slot, proc: ps, gen: gen, done: make(chan struct{})}
	// Queue while still holding the lock: the committer must see this process's slots in nonce order.
	select {
	case u.queue <- p:
	case <-u.stopped:
		return nil, nil, errStopped
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	ps.exists, ps.last = true, slot
	ps.inflight.Add(1)
	ps.see(r.messageID)
	if r.contentHash != "" {
		ps.see("content:" + r.contentHash)
	}
	ps.pmu.Lock()
	ps.pending[r.messageID] = p
	if r.contentHash != "" {
		ps.pending["content:"+r.contentHash] = p
	}
	ps.pmu.Unlock()
	u.metrics.slotsQueued.Add(1)
	return p, nil, nil
}

// load reads ps's head from the store (with ps.mu held): the newest slot, and the ids of the log into the seen
// set. After a conflict (another replica appended to the log; no commit of this process failed since the last
// load) only the slots past the durable nonce the seen set covers are read: a contended process costs a short
// page per reload, not a scan of its whole log. Otherwise (first load, a failed commit whose outcome is unknown)
// the seen set is rebuilt from every id.
func (u *Unit) load(ctx context.Context, ps *procState) error {
	last, err := u.cfg.Store.Last(ctx, ps.pid)
	switch {
	case err == nil:
		ps.exists, ps.last = true, last
	case errors.Is(err, ErrNotFound):
		ps.exists = false
	default:
		return fmt.Errorf("load head of %s: %w", ps.pid, err)
	}
	head := int64(-1)
	if ps.exists {
		head = int64(ps.last.Nonce)
	}
	covered := ps.durable.Load() // the seen set holds every id up to this nonce
	if ps.loaded && ps.failedGen.Load() <= ps.seenGen && covered <= head {
		for !ps.seenFull && covered < head {
			page, err := u.cfg.Store.Page(ctx, ps.pid, PageQuery{ByNonce: true, From: covered, HasFrom: true,
				To: head, HasTo: true, Limit: 1000, MaxBytes: 4 << 20})
			if err != nil {
				return fmt.Errorf("load new ids of %s: %w", ps.pid, err)
			}
			if len(page) == 0 {
				return fmt.Errorf("load new ids of %s: slots %d..%d missing", ps.pid, covered+1, head)
			}
			for i := range page {
				ps.see(page[i].MessageID)
				if page[i].ContentHash != "" {
					ps.see("content:" + page[i].ContentHash)
				}
			}
			covered = int64(page[len(page)-1].Nonce)
		}
		ps.durable.Store(head)
		return nil
	}
	ps.seen, ps.seenFull = map[uint64]struct{}{}, false
	if ps.exists {
		err := u.cfg.Store.ScanIDs(ctx, ps.pid, func(id, content string) {
			ps.see(id)
			if content != "" {
				ps.see("content:" + content)
			}
		})
		if err != nil {
			return fmt.Errorf("load ids of %s: %w", ps.pid, err)
		}
	}
	ps.durable.Store(head)
	return nil
}

// waitDup waits (lock released) for the queued original of a duplicate and answers with its slot.
func (u *Unit) waitDup(ctx context.Context, ps *procState, q *pending) (*pending, *Slot, error) {
	ps.mu.Unlock()
	defer ps.mu.Lock()
	select {
	case <-q.done:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	case <-u.stopped:
		return nil, nil, errStopped
	}
	if q.err != nil {
		return nil, nil, fmt.Errorf("the first copy of this item failed: %w", q.err)
	}
	s := q.slot
	return nil, &s, nil
}

func (ps *procState) lookup(key string) *pending {
	ps.pmu.Lock()
	defer ps.pmu.Unlock()
	return ps.pending[key]
}

// maxSeen bounds the fingerprints kept per process (8 bytes and map overhead each); a longer log falls back to
// a store lookup per write.
const maxSeen = 1 << 20

// see records key in the seen set.
func (ps *procState) see(key string) {
	if ps.seenFull {
		return
	}
	if len(ps.seen) >= maxSeen {
		ps.seen, ps.seenFull = nil, true
		return
	}
	ps.seen[fingerprint(key)] = struct{}{}
}

// maybeSeen reports whether key may be in the log: false proves it is not.
func (ps *procState) maybeSeen(key string) bool {
	if ps.seenFull {
		return true
	}
	_, ok := ps.seen[fingerprint(key)]
	return ok
}

var fingerprintSeed = maphash.MakeSeed()

// fingerprint is a 64-bit hash of an id for the seen set: collisions only cost a store read.
func fingerprint(s string) uint64 { return maphash.String(fingerprintSeed, s) }
