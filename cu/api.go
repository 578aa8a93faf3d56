package cu

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/vm"
)

// locate finds pid's SU and the process's owner record, locked. The caller unlocks p.mu.
func (c *CU) lockProc(ctx context.Context, pid string) (*proc, Scheduler, error) {
	if err := checkTxID("process-id", pid); err != nil {
		return nil, nil, err
	}
	sched, err := c.cfg.Scheduler.Locate(ctx, pid)
	if err != nil {
		return nil, nil, fmt.Errorf("locate the SU of %s: %w", pid, err)
	}
	p, err := c.proc(pid)
	if err != nil {
		return nil, nil, err
	}
	p.mu.Lock()
	return p, sched, nil
}

// Results before their memory hash
//
// A result's attestation signs its Memory-Hash, and hashing the memory after a message costs about as much as
// evaluating an aos message: a scan of the memory and SHA-256 of the chunks it changed. A client that does
// not read attestations (aoconnect, the reference's clients) need not wait for it. So the run publishes its
// last scheduled message's evaluation before hashing (proc.early), and a result request that does not ask for
// the attestation (client.WantAttestationHeader) and finds the process busy takes it from there instead of
// waiting for the process lock; the run then hashes and saves as always, and signs ahead when it was warming
// (warm.go), so the next request for the result, or one that asks, gets the attestation. The bytes served are
// the same either way: only when the attestation header appears changes.

// Result returns the evaluation of message mid of process pid, evaluating the process up to it if needed,
// with its attestation.
func (c *CU) Result(ctx context.Context, pid, mid string) (*Eval, error) {
	return c.result(ctx, pid, mid, true)
}

// result is Result; without attested, it may answer before the memory hash, with no attestation (above).
func (c *CU) result(ctx context.Context, pid, mid string, attested bool) (*Eval, error) {
	if err := checkTxID("process-id", pid); err != nil {
		return nil, err
	}
	if err := checkTxID("message id", mid); err != nil {
		return nil, err
	}
	ev, err := c.evalByMessage(ctx, pid, mid)
	if errors.Is(err, ErrNotFound) {
		ev, err = c.evaluateTo(ctx, pid, mid, !attested)
	}
	if err != nil {
		return nil, err
	}
	if ev.early {
		return ev, nil // its run is hashing the memory; it is attested when asked for again
	}
	if err := c.attest(ctx, pid, mid, ev); err != nil {
		return nil, err
	}
	return ev, nil
}

// attest signs ev's attestation when it has none and records it with the evaluation, pending or stored.
func (c *CU) attest(ctx context.Context, pid, mid string, ev *Eval) error {
	if ev.Attestation != nil {
		return nil
	}
	att, err := Attest(c.cfg.Wallet, ev)
	if err != nil {
		return err
	}
	ev.Attestation = att
	c.metrics.attestations.Add(1)
	if c.saver.attest(pid, mid, att) {
		return nil
	}
	if err := c.cfg.Store.SetAttestation(ctx, pid, ev.Seq, att); err != nil {
		return fmt.Errorf("save attestation: %w", err)
	}
	return nil
}

// evaluateTo evaluates pid up to mid and returns mid's evaluation; with early, possibly before its memory hash
// (see Results before their memory hash).
func (c *CU) evaluateTo(ctx context.Context, pid, mid string, early bool) (*Eval, error) {
	sched, err := c.cfg.Scheduler.Locate(ctx, pid)
	if err != nil {
		return nil, fmt.Errorf("locate the SU of %s: %w", pid, err)
	}
	if ev := c.evaluateHot(ctx, pid, mid, sched, early); ev != nil {
		return ev, nil
	}
	nonce := int64(0)
	if mid != pid {
		node, err := sched.Message(ctx, mid, pid)
		if err != nil {
			if client.IsSUStatus(err, http.StatusNotFound) || client.IsSUStatus(err, http.StatusBadRequest) {
				return nil, notFound("message %s not found in process %s", mid, pid)
			}
			return nil, fmt.Errorf("load message %s: %w", mid, err)
		}
		meta, err := assignmentMeta(&node.Assignment)
		if err != nil {
			return nil, unprocessable("message %s: %v", mid, err)
		}
		if meta.Process != pid {
			return nil, notFound("message %s is scheduled on %s, not %s", mid, meta.Process, pid)
		}
		nonce = meta.Nonce
	}
	p, err := c.proc(pid)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	err = c.evaluate(ctx, p, sched, target{toNonce: nonce})
	p.mu.Unlock()
	c.evict(p)
	if err != nil {
		return nil, err
	}
	ev, err := c.evalByMessage(ctx, pid, mid)
	if errors.Is(err, ErrNotFound) {
		return nil, notFound("message %s of process %s has no result", mid, pid)
	}
	return ev, err
}

// evaluateHot is evaluateTo's fast path for a hot process (the usual case: a message just sent to a busy
// process): it evaluates the log from where the machine is and stops after mid, without first asking the SU
// for mid's slot. It answers nil when mid was not reached or anything failed; the slow path then finds the
// slot (or the 404) and reports errors.
func (c *CU) evaluateHot(ctx context.Context, pid, mid string, sched Scheduler, early bool) *Eval {
	if mid == pid {
		return nil
	}
	p, err := c.proc(pid)
	if err != nil {
		return nil
	}
	if !early {
		p.mu.Lock()
	} else if ev, locked := lockOrEarly(ctx, p, mid); !locked {
		return ev // nil when ctx ended: the slow path then reports it
	}
	if !p.loaded {
		p.mu.Unlock()
		return nil
	}
	// A concurrent request for the same message (the MU's pull and the client's GET /result race for every
	// message) may have evaluated it while we waited for the lock: answer from its run, without asking the SU
	// for a page that holds nothing new.
	if p.lastMessage == mid {
		p.mu.Unlock()
		ev, err := c.evalByMessage(ctx, pid, mid)
		if err != nil {
			return nil
		}
		return ev
	}
	err = c.evaluate(ctx, p, sched, target{toNonce: -1, untilMessage: mid})
	p.mu.Unlock()
	c.evict(p)
	if err != nil {
		return nil
	}
	ev, err := c.evalByMessage(ctx, pid, mid)
	if err != nil {
		return nil
	}
	return ev
}

// lockOrEarly waits until it holds p.mu (locked) or p's run under way publishes mid's evaluation (ev), or ctx
// ends (neither).
func lockOrEarly(ctx context.Context, p *proc, mid string) (ev *Eval, locked bool) {
	for {
		changed := p.mu.changed() // before looking: a wake between the looks and the wait is not lost
		if e := p.early.Load(); e != nil && e.Message == mid {
			return e, false
		}
		if p.mu.TryLock() {
			return nil, true
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, false
		}
	}
}

// ResultsQuery selects results for Results and Cron.
type ResultsQuery struct {
	From, To string // cursors or timestamps (ms); "" = unbounded
	Desc     bool
	Limit    int
}

// Results returns already computed results of pid (errored ones left out), as the reference does.
func (c *CU) Results(ctx context.Context, pid string, q ResultsQuery) ([]Eval, bool, error) {
	if err := checkTxID("process id", pid); err != nil {
		return nil, false, err
	}
	eq, err := evalQuery(q)
	if err != nil {
		return nil, false, err
	}
	eq.SkipErrors = true
	if err := c.save(ctx); err != nil {
		return nil, false, err
	}
	return c.cfg.Store.Evals(ctx, pid, eq)
}

func evalQuery(q ResultsQuery) (EvalQuery, error) {
	from, err := parseBound(q.From)
	if err != nil {
		return EvalQuery{}, err
	}
	to, err := parseBound(q.To)
	if err != nil {
		return EvalQuery{}, err
	}
	return EvalQuery{FromSeq: from.seq, FromTimestamp: from.ts, ToSeq: to.seq, ToTimestamp: to.ts, Desc: q.Desc, Limit: q.Limit}, nil
}

// Cron evaluates pid up to q.To (a timestamp or cursor; "" = the SU's clock now), running the cron clock,
// and returns the cron results in the range.
func (c *CU) Cron(ctx context.Context, pid string, q ResultsQuery) ([]Eval, bool, error) {
	eq, err := evalQuery(q)
	if err != nil {
		return nil, false, err
	}
	p, sched, err := c.lockProc(ctx, pid)
	if err != nil {
		return nil, false, err
	}
	err = func() error {
		defer p.mu.Unlock()
		// The clock is read before the log, so every message scheduled up to it is in the log we read.
		now, err := sched.Timestamp(ctx)
		if err != nil {
			return fmt.Errorf("read the SU clock: %w", err)
		}
		t := target{toNonce: -1, tailTs: now.Timestamp, tailHeight: int64(now.BlockHeight)}
		if eq.ToTimestamp != nil && *eq.ToTimestamp < t.tailTs {
			t.tailTs = *eq.ToTimestamp + 1 // "to" is inclusive; the clock stops before tailTs
		}
		return c.evaluate(ctx, p, sched, t)
	}()
	c.evict(p)
	if err != nil {
		return nil, false, err
	}
	eq.CronOnly = true
	if err := c.save(ctx); err != nil {
		return nil, false, err
	}
	return c.cfg.Store.Evals(ctx, pid, eq)
}

// DryRun evaluates the message body (JSON, as aoconnect's dryrun posts it) on a fork of pid's latest state.
// The process's state is never changed. The fork runs under the lower of the process's Compute-Limit and
// MaxDryRunCompute, and stops when ctx ends (its client went away) or the CU stops; nothing of it is kept.
func (c *CU) DryRun(ctx context.Context, pid string, body []byte) (*vm.Result, error) {
	p, sched, err := c.lockProc(ctx, pid)
	if err != nil {
		return nil, err
	}
	var fork vm.Machine
	var msg, env []byte
	var driveCall func(context.Context) context.Context
	err = func() error {
		defer p.mu.Unlock()
		if err := c.evaluate(ctx, p, sched, target{toNonce: -1}); err != nil {
			return err
		}
		var err error
		if msg, err = dryRunMsg(body, pid, p.lastTs, p.lastHeight); err != nil {
			return err
		}
		env = p.env
		call := p.drive // copied under the lock: the fork runs after it is released
		call.BlockHeight = p.lastHeight
		driveCall = func(ctx context.Context) context.Context { return vm.WithDriveCall(ctx, &call) }
		limit, limitErr := computeLimit(p.compute, c.cfg.MaxDryRunCompute, "this CU's dry-run maximum")
		fork, err = p.m.Fork(vm.ForkOptions{ComputeLimit: limit, ComputeLimitError: limitErr})
		return err
	}()
	c.evict(p)
	if err != nil {
		return nil, err
	}
	defer fork.Close()
	c.metrics.dryRuns.Add(1)
	ctx, cancel := c.requestContext(ctx)
	defer cancel()
	res, err := fork.Apply(driveCall(ctx), msg, env)
	if err != nil {
		return nil, fmt.Errorf("dry-run on %s: %w", pid, err)
	}
	return &res, nil
}

// StateInfo describes the state State wrote.
type StateInfo struct {
	Timestamp, BlockHeight, Nonce int64
	Size                          uint64 // bytes of memory that follow
}

// State writes pid's raw linear memory after its latest message to w. The memory is written from a fork
// (a copy of the non-zero pages), never under the process's lock: a client that reads slowly, or not at
// all, holds only its copy while the process goes on evaluating.
func (c *CU) State(ctx context.Context, pid string, w func(StateInfo) io.Writer) error {
	p, sched, err := c.lockProc(ctx, pid)
	if err != nil {
		return err
	}
	var snap vm.Machine
	var info StateInfo
	err = func() error {
		defer p.mu.Unlock()
		if err := c.evaluate(ctx, p, sched, target{toNonce: -1}); err != nil {
			return err
		}
		info = StateInfo{Timestamp: p.lastTs, BlockHeight: p.lastHeight, Nonce: p.chain.Nonce, Size: p.m.MemorySize()}
		var err error
		snap, err = p.m.Fork(vm.ForkOptions{})
		return err
	}()
	c.evict(p)
	if err != nil {
		return err
	}
	defer snap.Close()
	return snap.WriteMemory(w(info))
}

// checkTxID rejects values that cannot be item ids (43 base64url characters).
func checkTxID(what, id string) error {
	if len(id) != 43 {
		return badRequest("%s %q is not a transaction id", what, id)
	}
	for i := 0; i < len(id); i++ {
		b := id[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_') {
			return badRequest("%s %q is not a transaction id", what, id)
		}
	}
	return nil
}
