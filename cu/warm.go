package cu

import (
	"context"
	"sync"
)

// Evaluating ahead of the request
//
// A scheduler that can tell the CU when a process gets new slots (aogo dev wires the SU's commit hook to
// Notify) lets the CU evaluate a hot process's new messages at once, in the background, instead of when
// the first GET /result arrives. The MU's pull and the client's result request follow the SU's answer by
// a few hundred microseconds, and then find the evaluation done or under way (they wait on the process
// lock and answer from that run, see evaluateHot). Only hot processes are warmed: a notification never
// loads a process or its module. Notify never blocks; notifications for a process coalesce while it waits.

type warmer struct {
	mu      sync.Mutex
	pending map[string]bool
	order   []string
	wake    chan struct{}
}

func newWarmer() *warmer {
	return &warmer{pending: map[string]bool{}, wake: make(chan struct{}, 1)}
}

// Notify tells the CU that process pid has new slots on its scheduler. It returns at once; the evaluation,
// if pid is hot, happens on the goroutine Run started.
func (c *CU) Notify(pid string) {
	w := c.warm
	w.mu.Lock()
	if !w.pending[pid] {
		w.pending[pid] = true
		w.order = append(w.order, pid)
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *warmer) next() (string, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.order) == 0 {
		return "", false
	}
	pid := w.order[0]
	w.order = w.order[1:]
	delete(w.pending, pid)
	return pid, true
}

// warmLoop evaluates notified processes until ctx ends.
func (c *CU) warmLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.warm.wake:
		}
		for ctx.Err() == nil {
			pid, ok := c.warm.next()
			if !ok {
				break
			}
			c.warmProcess(ctx, pid)
		}
	}
}

// attestAhead signs the attestation of the run's last message, the one a /result request waits for, while the
// caller still holds the process lock. The requests that follow (the MU's pull and the client's, which race)
// then find it signed: one signature per result instead of one per racing request, and none on a request's
// path, where an RSA-4096 CU key costs milliseconds.
func (c *CU) attestAhead(ctx context.Context, pid, mid string) {
	ev, err := c.evalByMessage(ctx, pid, mid)
	if err == nil {
		err = c.attest(ctx, pid, mid, ev)
	}
	if err != nil {
		c.log.Debug("cu: attest ahead", "process", pid, "message", mid, "err", err)
	}
}

// warmProcess evaluates pid to the end of its log if it is hot. An error is left for the next request to
// meet (and report) on its own evaluation.
func (c *CU) warmProcess(ctx context.Context, pid string) {
	c.mu.Lock()
	p := c.procs[pid]
	closed := c.closed
	c.mu.Unlock()
	if p == nil || closed {
		return
	}
	sched, err := c.cfg.Scheduler.Locate(ctx, pid)
	if err != nil {
		return
	}
	p.mu.Lock()
	if p.loaded && p.m != nil {
		before := p.lastMessage
		if err := c.evaluate(ctx, p, sched, target{toNonce: -1}); err != nil {
			c.log.Debug("cu: evaluate ahead", "process", pid, "err", err)
		} else {
			c.metrics.warmRuns.Add(1)
			if mid := p.lastMessage; mid != before && mid != "" {
				c.attestAhead(ctx, pid, mid)
			}
		}
	}
	p.mu.Unlock()
	c.evict(p)
}
