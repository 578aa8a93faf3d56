package cu

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Lazy result persistence
//
// Evaluations are re-derivable from the log, so the store need not hold them before a result is served. While
// Run is running, an evaluation run hands its evaluations to the saver and returns: /result answers from the
// saver's memory, and Run's save loop writes everything pending in one transaction, off the request's path
// (on a busy CU, many evaluations per commit). Without Run (tests, tools), runs save synchronously as before.
//
// What a crash loses is recomputed: a restart resumes from the latest checkpoint, re-evaluates the log after
// it and saves again (SaveEvals keeps rows that already exist). So the one rule is that a checkpoint row is
// never committed before the evaluations up to it: recordCheckpoint saves everything pending first, and the
// store's single writer commits in order. Readers that query the store by range (GET /results, /cron) save
// what is pending first, so they see every evaluation the CU has served.

// maxPending bounds the evaluations held in memory: beyond it a run saves synchronously (the save loop is
// behind, or the store failing).
const maxPending = 4096

type msgKey struct{ pid, mid string }

type saver struct {
	mu      sync.Mutex
	pending []*Eval          // in the order they were evaluated
	byMsg   map[msgKey]*Eval // the scheduled ones among pending
	wake    chan struct{}
	running atomic.Bool // Run's save loop is active

	saving sync.Mutex // one save at a time, so evaluations reach the store in order
}

func newSaver() *saver {
	return &saver{byMsg: map[msgKey]*Eval{}, wake: make(chan struct{}, 1)}
}

// add queues evaluations (copied) and reports whether the caller must save them itself: no save loop, or
// too much pending.
func (s *saver) add(evs []Eval) (saveNow bool) {
	s.mu.Lock()
	for i := range evs {
		e := evs[i]
		s.pending = append(s.pending, &e)
		if e.Message != "" {
			s.byMsg[msgKey{e.Process, e.Message}] = &e
		}
	}
	n := len(s.pending)
	s.mu.Unlock()
	// add happens before the running check and Run clears running before its last save, so an evaluation
	// queued as Run stops is saved by one or the other.
	if !s.running.Load() || n > maxPending {
		return true
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return false
}

// lookup returns a copy of the pending evaluation of scheduled message mid of pid.
func (s *saver) lookup(pid, mid string) (*Eval, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.byMsg[msgKey{pid, mid}]
	if !ok {
		return nil, false
	}
	c := *e
	return &c, true
}

// attest records the attestation of a pending evaluation; false when it is not pending (it is in the store).
func (s *saver) attest(pid, mid string, att []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.byMsg[msgKey{pid, mid}]
	if ok {
		e.Attestation = att
	}
	return ok
}

// save writes every pending evaluation to the store in one transaction. Attestations recorded while the
// transaction ran are written after it.
func (c *CU) save(ctx context.Context) error {
	s := c.saver
	s.saving.Lock()
	defer s.saving.Unlock()
	s.mu.Lock()
	taken := s.pending[:len(s.pending):len(s.pending)]
	batch := make([]Eval, len(taken))
	for i, e := range taken {
		batch[i] = *e
	}
	s.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	ctx = context.WithoutCancel(ctx)
	if err := c.cfg.Store.SaveEvals(ctx, batch); err != nil {
		return fmt.Errorf("save evaluations: %w", err)
	}
	var late []*Eval
	s.mu.Lock()
	for i, e := range taken {
		if e.Message != "" && s.byMsg[msgKey{e.Process, e.Message}] == e {
			delete(s.byMsg, msgKey{e.Process, e.Message})
		}
		if e.Attestation != nil && batch[i].Attestation == nil {
			late = append(late, e)
		}
	}
	// Only save removes from pending, and adds only append: the first len(taken) are the ones saved.
	s.pending = append(s.pending[:0:0], s.pending[len(taken):]...)
	s.mu.Unlock()
	for _, e := range late {
		if err := c.cfg.Store.SetAttestation(ctx, e.Process, e.Seq, e.Attestation); err != nil {
			return fmt.Errorf("save attestation: %w", err)
		}
	}
	c.metrics.saves.Add(1)
	return nil
}

// saveLoop saves pending evaluations as they come until ctx ends, then saves what is left.
func (c *CU) saveLoop(ctx context.Context) {
	s := c.saver
	s.running.Store(true)
	defer func() {
		s.running.Store(false)
		if err := c.save(context.Background()); err != nil {
			c.log.Error("save evaluations at shutdown", "err", err)
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		}
		if err := c.save(ctx); err != nil {
			// Kept pending (and served from memory); retried on the next wake or after a pause.
			c.log.Error("save evaluations; will retry", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			select {
			case s.wake <- struct{}{}:
			default:
			}
		}
	}
}

// evalByMessage finds the evaluation of scheduled message mid of pid, pending or stored.
func (c *CU) evalByMessage(ctx context.Context, pid, mid string) (*Eval, error) {
	if e, ok := c.saver.lookup(pid, mid); ok {
		return e, nil
	}
	return c.cfg.Store.EvalByMessage(ctx, pid, mid)
}
