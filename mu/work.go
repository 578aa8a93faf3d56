package mu

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/vm"
)

func (m *MU) worker(ctx context.Context) {
	for {
		t, ok := m.q.pop(ctx)
		if !ok {
			return
		}
		if !m.claimOrDefer(t) {
			continue // someone is still working it; release queues it again
		}
		retry := m.runTask(ctx, t)
		// Release before re-queueing: a worker that pops a task someone still holds skips it.
		m.release(t.ID)
		if retry != nil {
			m.q.push(*retry)
		}
	}
}

// runTask moves t through its stages until it is done, parked, or waiting for a retry, which it returns for
// the caller to queue once it has released the task.
func (m *MU) runTask(ctx context.Context, t Task) *Task {
	for ctx.Err() == nil {
		var w written
		var err error
		switch t.Stage {
		case StageWrite:
			w, err = m.write(ctx, t)
		case StagePull:
			w, err = m.pull(ctx, t)
		default:
			return nil
		}
		if errors.Is(err, ErrStale) {
			return nil // another run of this task got there first; it owns what follows
		}
		if err != nil {
			return m.fail(ctx, t, err)
		}
		m.enqueue(w.children...)
		t = w.next
	}
	return nil
}

// fail records a failed attempt: a retry after an exponential backoff (the task to queue is returned), or the
// task parked with the reason when the error is permanent or the attempts are used up.
func (m *MU) fail(ctx context.Context, t Task, err error) *Task {
	if ctx.Err() != nil {
		return nil // shutting down: the attempt did not fail, it was interrupted; the store still has the task
	}
	failed := t.Stage
	if t.stored != "" {
		// The write was not committed: the retry starts from it again.
		t.Stage, t.stored = t.stored, ""
	}
	attempts := t.Attempts + 1
	// A result quorum not met is waited out, not parked: it resumes when agreement appears (quorum.go).
	if isPermanent(err) || (attempts >= m.cfg.MaxAttempts && !isUnmet(err)) {
		m.quorum.forget(t)
		m.park(ctx, t, failed, err)
		return nil
	}
	delay := m.cfg.RetryBase << min(attempts-1, 30)
	if delay > m.cfg.RetryMax || delay <= 0 {
		delay = m.cfg.RetryMax
	}
	t.Attempts, t.NextAt, t.LastError = attempts, m.cfg.Now().Add(delay), err.Error()
	if serr := m.store.Retry(ctx, t.ID, t.Attempts, t.NextAt, t.LastError); serr != nil {
		if errors.Is(serr, ErrStale) {
			return nil // another replica took the task over (SharedStore)
		}
		m.log.Error("mu: record retry", "task", t.ID, "err", serr)
		return nil
	}
	m.met.retries.Add(1)
	m.log.Debug("mu: task failed, will retry", "task", t.ID, "kind", t.Kind, "stage", t.Stage, "attempt", attempts, "in", delay, "err", err)
	return &t
}

func (m *MU) park(ctx context.Context, t Task, failed Stage, err error) {
	if _, serr := m.store.Advance(ctx, Advance{ID: t.ID, From: t.Stage, To: StageParked, Error: fmt.Sprintf("%s: %v", failed, err)}); serr != nil {
		if errors.Is(serr, ErrStale) {
			return // moved on meanwhile, or another replica took the task over
		}
		m.log.Error("mu: park task", "task", t.ID, "err", serr)
		return
	}
	m.met.parked.Add(1)
	m.log.Warn("mu: task parked", "task", t.ID, "kind", t.Kind, "stage", failed, "process", t.Process, "item", t.ItemID, "attempts", t.Attempts+1, "err", err)
}

// written is the outcome of a successful stage: the task at its next stage and the children it created.
type written struct {
	next     Task
	children []Task
	id       string // what the SU answered: the item id, or the assignment id on the assign path
}

// advance commits a stage change with its children and returns the task at its new stage. A write followed
// by a pull, with no children, is not committed (see Task.stored): the pull's commit covers both.
func (m *MU) advance(ctx context.Context, t Task, to Stage, children []Task) (written, error) {
	if t.Stage == StageWrite && to == StagePull && len(children) == 0 {
		t.stored, t.Stage = t.storedStage(), StagePull
		return written{next: t}, nil
	}
	stored, err := m.store.Advance(ctx, Advance{ID: t.ID, From: t.storedStage(), To: to, Children: children})
	if err != nil {
		return written{}, err
	}
	t.Stage, t.stored, t.Attempts, t.NextAt, t.LastError = to, "", 0, time.Time{}, ""
	return written{next: t, children: stored}, nil
}

// write posts the task's item to its SU (or the gateway), or makes its assign call.
func (m *MU) write(ctx context.Context, t Task) (written, error) {
	if t.Kind == KindAssign {
		return m.writeAssign(ctx, t)
	}
	it, err := dataitem.Decode(t.Item)
	if err != nil {
		return written{}, permanent("stored item %s: %v", t.ItemID, err)
	}
	if ao.TypeOf(it.Tags) == ao.TypeProcess {
		return m.writeProcess(ctx, t, it)
	}
	return m.writeMessage(ctx, t, it)
}

func (m *MU) writeProcess(ctx context.Context, t Task, it *dataitem.Item) (written, error) {
	p := newProcInfo(t.ItemID, dataitem.Address(it.Owner), it.Tags)
	if err := m.checkModule(ctx, p.Module); err != nil {
		return written{}, fmt.Errorf("process %s: %w", t.ItemID, err)
	}
	if err := m.checkQuorum(p); err != nil {
		return written{}, err
	}
	su, _, err := m.loc.scheduler(ctx, p)
	if err != nil {
		return written{}, err
	}
	if _, err := su.Post(ctx, t.Item); err != nil {
		// A 4xx may be an SU refusing a re-post of what it already has (the reference SU answers "process
		// already exists"): that is the success we are retrying for.
		if !isPermanent(err) {
			return written{}, fmt.Errorf("write process %s: %w", t.ItemID, err)
		}
		if _, herr := su.Process(ctx, t.ItemID); herr != nil {
			return written{}, fmt.Errorf("write process %s: %w", t.ItemID, err)
		}
	}
	m.loc.remember(p)
	var children []Task
	if t.Kind == KindSpawn {
		m.met.spawned.Add(1)
		parent, _ := it.Tag(ao.TagFromProcess)
		notice, err := m.build.buildSpawned(it, parent)
		if err != nil {
			return written{}, permanent("build Spawned notice for %s: %v", t.ItemID, err)
		}
		notify := Task{
			Key: fmt.Sprintf("t%d/spawned", t.ID), Kind: KindPush, Process: parent, ItemID: notice.item.ID(),
			Item: notice.raw, Origin: t.Origin, Parent: t.ID, Depth: t.Depth + 1,
		}
		m.brake(&notify)
		children = append(children, notify)
	}
	children = append(children, m.assignChildren(t)...)
	next := StagePull
	if t.Cast || m.cfg.NoSpawnResults {
		next = StageDone
	}
	w, err := m.advance(ctx, t, next, children)
	w.id = t.ItemID
	return w, err
}

func (m *MU) writeMessage(ctx context.Context, t Task, it *dataitem.Item) (written, error) {
	p, err := m.loc.process(ctx, t.Process)
	if errors.Is(err, errNotProcess) || (err == nil && t.Kind == KindPush && isExternal(it.Tags)) {
		if t.Kind == KindMessage {
			return written{}, permanent("target %s is not a process known to any SU or the gateway", t.Process)
		}
		return m.upload(ctx, t)
	}
	if err != nil {
		return written{}, err
	}
	su, _, err := m.loc.scheduler(ctx, p)
	if err != nil {
		return written{}, err
	}
	posted, err := su.Post(ctx, t.Item)
	if err != nil {
		if !isPermanent(err) {
			return written{}, fmt.Errorf("write message %s to %s: %w", t.ItemID, t.Process, err)
		}
		// A refused re-post of an item the SU holds is the success this retry is after.
		sm, herr := su.Message(ctx, t.ItemID, t.Process)
		if herr != nil || sm.MessageID() != t.ItemID {
			return written{}, fmt.Errorf("write message %s to %s: %w", t.ItemID, t.Process, err)
		}
		posted.ID = t.ItemID
	}
	if t.Kind == KindPush {
		m.met.pushed.Add(1)
	}
	next := StagePull
	if t.Cast {
		next = StageDone
	}
	if posted.ID != "" && posted.ID != t.ItemID {
		// The SU kept an earlier item with the same content (a pushed message it already holds): that one's
		// result is cranked by whoever wrote it, so this copy must not be cranked again.
		m.met.deduplicated.Add(1)
		next = StageDone
	}
	w, err := m.advance(ctx, t, next, m.assignChildren(t))
	w.id = t.ItemID
	return w, err
}

// upload sends a message addressed to a wallet (or marked External) to the gateway only: nothing evaluates it.
func (m *MU) upload(ctx context.Context, t Task) (written, error) {
	if m.cfg.Gateway == nil {
		m.log.Warn("mu: message to a wallet dropped: no gateway configured", "item", t.ItemID, "target", t.Process)
	} else if err := m.cfg.Gateway.Upload(ctx, t.Item); err != nil {
		return written{}, fmt.Errorf("upload %s (to wallet %s): %w", t.ItemID, t.Process, err)
	}
	m.met.uploaded.Add(1)
	w, err := m.advance(ctx, t, StageDone, nil)
	w.id = t.ItemID
	return w, err
}

// assignChildren are the assign tasks of an item that must also be scheduled on other processes.
func (m *MU) assignChildren(t Task) []Task {
	var out []Task
	for i, pid := range t.AssignTo {
		out = append(out, Task{
			Key: fmt.Sprintf("t%d/assign%d", t.ID, i), Kind: KindAssign, Process: pid, ItemID: t.ItemID,
			Origin: t.Origin, Parent: t.ID, Depth: t.Depth,
		})
	}
	return out
}

func (m *MU) writeAssign(ctx context.Context, t Task) (written, error) {
	p, err := m.loc.process(ctx, t.Process)
	if errors.Is(err, errNotProcess) {
		return written{}, permanent("assign %s: %s is not a process known to any SU or the gateway", t.ItemID, t.Process)
	}
	if err != nil {
		return written{}, err
	}
	su, _, err := m.loc.scheduler(ctx, p)
	if err != nil {
		return written{}, err
	}
	posted, err := su.Assign(ctx, t.Process, t.ItemID, t.BaseLayer, t.Exclude)
	if err != nil {
		if !isPermanent(err) {
			return written{}, fmt.Errorf("assign %s to %s: %w", t.ItemID, t.Process, err)
		}
		sm, herr := su.Message(ctx, t.ItemID, t.Process)
		if herr != nil {
			return written{}, fmt.Errorf("assign %s to %s: %w", t.ItemID, t.Process, err)
		}
		posted.ID = sm.Assignment.ID
	}
	m.met.assigned.Add(1)
	// The result is pulled by the assigned message's id, which names the slot in the target process for both
	// the reference CU and ours.
	w, err := m.advance(ctx, t, StagePull, nil)
	w.id = posted.ID
	return w, err
}

// pull fetches the task's result from a CU and cranks it: the children it creates are committed in the same
// transaction that marks the task done.
func (m *MU) pull(ctx context.Context, t Task) (written, error) {
	pol, err := m.policy(ctx, t.Process)
	if err != nil {
		return written{}, err
	}
	var res *client.CUResult
	if pol.IsSingle() {
		res, err = m.compute(t.Process, t.Attempts).Result(ctx, t.Process, t.ItemID)
	} else {
		res, err = m.pullQuorum(ctx, t, pol)
	}
	if err != nil {
		return written{}, fmt.Errorf("pull result of %s in %s: %w", t.ItemID, t.Process, err)
	}
	m.met.results.Add(1)
	children, err := m.crank(ctx, res.Result, t.Process, t.Origin, fmt.Sprintf("t%d", t.ID), t.ID, t.Depth+1)
	if err != nil {
		return written{}, err
	}
	return m.advance(ctx, t, StageDone, children)
}

// crank turns a result of process pid into child tasks: one per outbox message, spawn and assigned process.
// Messages and spawns are built and signed here, so their ids are fixed before anything is posted. An entry
// that cannot be pushed becomes a parked child carrying the reason. keyPrefix makes the children's keys unique
// and stable (the same result cranked twice yields the same keys). depth is the children's Depth; beyond
// Config.MaxDepth they are stored parked (brake.go).
func (m *MU) crank(ctx context.Context, res vm.Result, pid, origin, keyPrefix string, parent int64, depth int) ([]Task, error) {
	if len(res.Messages) == 0 && len(res.Spawns) == 0 && len(res.Assignments) == 0 {
		return nil, nil
	}
	from, err := m.loc.process(ctx, pid)
	if err != nil {
		return nil, fmt.Errorf("crank result in %s: learn the process's tags: %w", pid, err)
	}
	var out []Task
	invalid := func(key string, kind Kind, target string, what string, i int, err error) {
		m.met.invalidOutbox.Add(1)
		out = append(out, Task{
			Key: key, Kind: kind, Stage: StageParked, Process: target, Origin: origin, Parent: parent,
			LastError: fmt.Sprintf("invalid outbox %s %d of a result of %s: %v", what, i, pid, err),
		})
	}
	for i, raw := range res.Messages {
		if isPatch(raw) {
			continue // state for the AO-Core routes, not a message (patch.go)
		}
		key := fmt.Sprintf("%s/m%d", keyPrefix, i)
		om, err := decodeMessage(raw)
		var p pushed
		if err == nil {
			p, err = m.build.buildMessage(om, from, origin)
		}
		if err != nil {
			invalid(key, KindPush, om.Target, "message", i, err)
			continue
		}
		out = append(out, Task{
			Key: key, Kind: KindPush, Process: om.Target, ItemID: p.item.ID(), Item: p.raw, Origin: origin,
			Parent: parent, Cast: isCast(p.item.Tags), AssignTo: p.assignTo,
		})
	}
	for i, raw := range res.Spawns {
		key := fmt.Sprintf("%s/s%d", keyPrefix, i)
		os, err := decodeSpawn(raw)
		var p pushed
		if err == nil {
			p, err = m.build.buildSpawn(os, from, origin)
		}
		if err != nil {
			invalid(key, KindSpawn, "", "spawn", i, err)
			continue
		}
		out = append(out, Task{
			Key: key, Kind: KindSpawn, Process: p.item.ID(), ItemID: p.item.ID(), Item: p.raw, Origin: origin, Parent: parent,
		})
	}
	for i, raw := range res.Assignments {
		a, err := decodeAssign(raw)
		if err != nil {
			invalid(fmt.Sprintf("%s/a%d", keyPrefix, i), KindAssign, "", "assignment", i, err)
			continue
		}
		for j, target := range a.Processes {
			out = append(out, Task{
				Key: fmt.Sprintf("%s/a%d.%d", keyPrefix, i, j), Kind: KindAssign, Process: target, ItemID: a.Message,
				BaseLayer: a.BaseLayer, Exclude: a.Exclude, Origin: origin, Parent: parent,
			})
		}
	}
	for i := range out {
		out[i].Depth = depth
		m.brake(&out[i])
	}
	return out, nil
}
