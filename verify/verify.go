package verify

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/cu"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/internal/atomicfile"
	"github.com/aogo/aogo/vm"
	"github.com/aogo/aogo/wallet"
)

// Config configures a verification. Process, Source and Dir are required.
type Config struct {
	Process string
	// To is the last slot to verify; -1 verifies every slot the source holds.
	To     int64
	Source Source
	// Items reads modules and messages assigned from Arweave (a gateway). Nil: the source's, when it is a
	// GatewaySource.
	Items Items
	// Blocks backs block-based crons (a gateway); optional.
	Blocks cu.BlockSource
	// WeaveDrive backs the WeaveDrive extension; nil disables it.
	WeaveDrive vm.WeaveDrive
	// CUs are compared with the replay at every slot.
	CUs []*client.CU
	// Dir holds the verifier's checkpoint (state.json, the replay's snapshots and module cache); a later run
	// with the same Dir resumes from it.
	Dir string
	// CompiledCache is the replay's compiled-module cache (cu.Config.CompiledCache; empty: in Dir).
	CompiledCache string
	// Fresh ignores (and removes) an earlier checkpoint in Dir.
	Fresh bool
	// Signer signs the final statement; nil: no statement.
	Signer dataitem.Signer
	// Window is how many slots are read, checked and compared at a time (default 1000): it bounds the memory
	// the verifier holds (about the window's messages and CU answers).
	Window int
	// CheckpointEvery is the number of evaluations between checkpoints (default 5000).
	CheckpointEvery int
	// MaxMemory and MaxCompute bound the process's Memory-Limit and Compute-Limit (0: the CU's defaults).
	MaxMemory, MaxCompute uint64
	// Progress, when set, is called after each window and at the end.
	Progress func(Progress)
	Logger   *slog.Logger
}

// Progress is how far a verification is.
type Progress struct {
	Done  int64 // slots verified (checked and replayed), counting those of an earlier run
	Total int64 // slots the source holds (up to To), as found at the start
	Start int64 // the first slot of this run (after a resumed checkpoint)
}

// UnitReport is what one CU said.
type UnitReport struct {
	URL      string `json:"url"`
	Address  string `json:"address,omitempty"`
	Compared int64  `json:"compared"` // slots compared
	Agreed   int64  `json:"agreed"`   // of which agreed on every field
}

// Report is the outcome of a verification. It is OK when the log checked out, every slot was replayed and every
// CU agreed at every slot.
type Report struct {
	Process string `json:"process"`
	Module  string `json:"module"`
	// From is the first slot this run verified (0, or the slot after a resumed checkpoint).
	From int64 `json:"from"`
	// Slots is how many slots are verified (0..Slots-1), counting earlier runs.
	Slots int64 `json:"slots"`
	// Last is the replay's statement about the last slot verified (unsigned fields when no Signer was given).
	Last *Statement `json:"last,omitempty"`
	// StatementItem is the signed statement (ANS-104 bytes).
	StatementItem []byte       `json:"-"`
	Units         []UnitReport `json:"units"`
	// LogError is the first check the log failed (the replay stops before that slot).
	LogError   string      `json:"log_error,omitempty"`
	LogErrSlot *int64      `json:"log_error_slot,omitempty"`
	Divergence *Divergence `json:"divergence,omitempty"` // the first
	Elapsed    float64     `json:"elapsed_seconds"`
	PerSecond  float64     `json:"slots_per_second"` // slots verified by this run per second
}

// OK reports whether everything agreed.
func (r *Report) OK() bool {
	if r.LogError != "" || r.Divergence != nil || r.Last == nil {
		return false
	}
	for _, u := range r.Units {
		if u.Agreed != u.Compared {
			return false
		}
	}
	return true
}

// state is the verifier's checkpoint, Dir/state.json: the replay's checkpoint and what was found up to it.
type state struct {
	Process    string         `json:"process"`
	Checkpoint *cu.Checkpoint `json:"checkpoint"`
	Slots      int64          `json:"slots"`
	Last       *Statement     `json:"last"`
	Units      []UnitReport   `json:"units"`
	Divergence *Divergence    `json:"divergence,omitempty"`
	Assigned   []string       `json:"assigned,omitempty"` // messages evaluated from bare assignments
}

const stateFile = "state.json"

// Run verifies cfg.Process: it reads the log from the source window by window, checks every slot (assignment
// signature by the process's scheduler, nonces dense from 0, the hash chain, the message's id and signature),
// replays the checked slots in a fresh machine (the CU's own evaluation, in this process) and compares each
// slot's result hash and, where a CU attested one, memory hash with what each CU returns and signs. The report
// is returned also with an error (a source or a CU that could not be read, a machine that failed).
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Process == "" || cfg.Source == nil || cfg.Dir == "" {
		return nil, errors.New("verify: Process, Source and Dir are required")
	}
	if cfg.Window <= 0 {
		cfg.Window = 1000
	}
	if cfg.CheckpointEvery <= 0 {
		cfg.CheckpointEvery = 5000
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Items == nil {
		switch s := cfg.Source.(type) {
		case *GatewaySource:
			cfg.Items = s.GW
		case *SUSource:
			cfg.Items = s.Items
		}
	}
	v := &verifier{cfg: cfg, pid: cfg.Process, store: newEvalStore(), started: time.Now()}
	rep, err := v.run(ctx)
	rep.Elapsed = time.Since(v.started).Seconds()
	if n := rep.Slots - rep.From; n > 0 && rep.Elapsed > 0 {
		rep.PerSecond = float64(n) / rep.Elapsed
	}
	return rep, err
}

type verifier struct {
	cfg     Config
	pid     string
	store   *evalStore
	started time.Time

	rep   *Report
	units []*unit

	// Guarded by mu: written by the replay (onEval, onCheckpoint), read at the end.
	mu       sync.Mutex
	answers  map[int64][]cuAnswer // nonce → the CUs' answers, current window
	assigned map[int64]bool       // nonces of the current window's bare assignments
	slotsOK  int64                // slots replayed: Slots of the report

	total        int64     // the log's length found at the start
	lastProgress time.Time // when onEval last reported progress
}

func (v *verifier) run(ctx context.Context) (*Report, error) {
	cfg := v.cfg
	v.rep = &Report{Process: v.pid}
	if cfg.Fresh {
		if err := os.RemoveAll(cfg.Dir); err != nil {
			return v.rep, fmt.Errorf("verify: remove the old checkpoint: %w", err)
		}
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return v.rep, fmt.Errorf("verify: %w", err)
	}
	sp, err := cfg.Source.Process(ctx, v.pid)
	if err != nil {
		return v.rep, fmt.Errorf("verify: %w", err)
	}
	if ao.TypeOf(sp.Tags) != ao.TypeProcess {
		return v.rep, fmt.Errorf("verify: item %s is not an ao Process", v.pid)
	}
	if sp.Signature != nil {
		if err := ao.CheckID(v.pid, *sp.Signature); err != nil {
			return v.rep, fmt.Errorf("verify: process: %w", err)
		}
	}
	v.rep.Module, _ = dataitem.Get(sp.Tags, ao.TagModule)
	scheduler, _ := dataitem.Get(sp.Tags, ao.TagScheduler)

	for _, c := range cfg.CUs {
		info, err := c.Info(ctx)
		if err != nil {
			return v.rep, fmt.Errorf("verify: CU %s: %w", c.URL(), err)
		}
		v.units = append(v.units, &unit{c: c, address: info.Address})
	}

	chain := ao.Chain{Nonce: -1}
	st, err := v.loadState()
	if err != nil {
		return v.rep, err
	}
	if st != nil {
		cp := st.Checkpoint
		chain = ao.Chain{Nonce: cp.Nonce, HashChain: cp.HashChain, AssignmentID: cp.AssignmentID}
		v.store.cp = cp
		for _, id := range st.Assigned {
			v.store.assigned[id] = true
		}
		v.slotsOK = st.Slots
		v.rep.Divergence = st.Divergence
		v.rep.Last = st.Last
		v.mergeUnits(st.Units)
		cfg.Logger.Info("resuming from the verifier's checkpoint", "slot", cp.Nonce)
	}
	for _, u := range v.units {
		if u.report == nil {
			u.report = &UnitReport{URL: u.c.URL(), Address: u.address}
		}
	}
	v.rep.From = chain.Nonce + 1

	total, err := v.length(ctx, chain.Nonce+1)
	if err != nil {
		return v.rep, fmt.Errorf("verify: find the log's length: %w", err)
	}
	if cfg.To >= 0 && total > cfg.To+1 {
		total = cfg.To + 1
	}
	v.total = total
	progress := func() {
		if cfg.Progress != nil {
			v.mu.Lock()
			p := Progress{Done: v.slotsOK, Total: max(total, v.slotsOK), Start: v.rep.From}
			v.mu.Unlock()
			cfg.Progress(p)
		}
	}
	progress()

	w, err := wallet.Generate(wallet.ED25519) // the embedded CU's: its attestations are not used
	if err != nil {
		return v.rep, err
	}
	items := &cachedItems{next: cfg.Items, raw: map[string][]byte{}}
	fd := newFeed(v.pid, sp)
	v.store.onEval = v.onEval
	v.store.onCheckpoint = v.onCheckpoint
	c, err := cu.New(cu.Config{
		Wallet: w, Scheduler: cu.FixedScheduler(fd), Modules: items, Blocks: cfg.Blocks, Store: v.store,
		DataDir: filepath.Join(cfg.Dir, "replay"), CheckpointEvery: cfg.CheckpointEvery, PageSize: cfg.Window,
		MaxMemory: cfg.MaxMemory, MaxCompute: cfg.MaxCompute, MemoryHash: cu.HashPerRun,
		// The verifier checked every assignment signature itself, before the replay.
		SkipSignatureCheck: true, WeaveDrive: cfg.WeaveDrive, Logger: cfg.Logger, CompiledCache: cfg.CompiledCache,
	})
	if err != nil {
		return v.rep, fmt.Errorf("verify: %w", err)
	}
	var runErr error
	defer func() {
		// Close checkpoints the replay (so an interrupted run resumes where it stopped).
		if err := c.Close(); err != nil && runErr == nil {
			runErr = err
		}
	}()

	// The reader checks windows (and asks the CUs about them) while the replay evaluates the previous one.
	type window struct {
		slots   []Slot
		answers [][]cuAnswer
		logErr  error
		logSlot int64
		err     error
	}
	wins := make(chan window, 1)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var readerDone sync.WaitGroup
	readerDone.Add(1)
	go func() {
		defer readerDone.Done()
		defer close(wins)
		next := chain.Nonce + 1
		for cfg.To < 0 || next <= cfg.To {
			n := cfg.Window
			if cfg.To >= 0 {
				n = int(min(int64(n), cfg.To-next+1))
			}
			slots, err := cfg.Source.Slots(rctx, v.pid, next, n)
			var w window
			var eq *EquivocationError
			if err != nil && !errors.As(err, &eq) {
				w.err = err
			} else {
				var ok int
				ok, chain, w.logErr = checkSlots(v.pid, scheduler, chain, slots)
				w.slots = slots[:ok]
				switch end := next + int64(len(slots)); {
				case w.logErr != nil:
					w.logSlot = chain.Nonce + 1
				case eq != nil:
					w.logErr, w.logSlot = eq, eq.Slot
				case len(slots) == 0 && total > end:
					w.logErr, w.logSlot = fmt.Errorf("slot %d is missing from the source, which holds slot %d", end, total-1), end
				}
				w.answers, w.err = fetchAnswers(rctx, v.pid, v.units, w.slots, 8)
			}
			select {
			case wins <- w:
			case <-rctx.Done():
				return
			}
			if w.err != nil || w.logErr != nil || len(slots) == 0 {
				return
			}
			next += int64(len(slots))
		}
	}()
	defer readerDone.Wait()

	for w := range wins {
		if err := ctx.Err(); err != nil {
			runErr = fmt.Errorf("verify: %w", err) // interrupted: Close checkpoints where the replay is
			break
		}
		if len(w.slots) > 0 {
			if err := v.replay(ctx, c, fd, items, w.slots, w.answers); err != nil {
				runErr = fmt.Errorf("verify: replay: %w", err)
				break
			}
		}
		progress()
		if w.err != nil {
			runErr = fmt.Errorf("verify: %w", w.err)
			break
		}
		if w.logErr != nil {
			v.rep.LogError = w.logErr.Error()
			slot := w.logSlot
			v.rep.LogErrSlot = &slot
			break
		}
	}
	cancel()
	for range wins {
	}
	v.finish()
	if runErr == nil && cfg.Signer != nil && v.rep.Last != nil {
		if v.rep.StatementItem, runErr = v.rep.Last.Sign(cfg.Signer); runErr != nil {
			return v.rep, runErr
		}
	}
	return v.rep, runErr
}

// length finds how many slots the source holds, probing from a slot known to exist (or from 0): for the
// progress bar's total, and to tell a gap from the log's end.
func (v *verifier) length(ctx context.Context, from int64) (int64, error) {
	src := v.cfg.Source
	has := func(n int64) (bool, error) { return src.Has(ctx, v.pid, n) }
	lo := from - 1 // the highest slot known to exist (-1: none)
	if ok, err := has(from); err != nil {
		return 0, err
	} else if !ok {
		return from, nil
	}
	lo = from
	step := int64(1)
	hi := int64(-1)
	for hi < 0 {
		ok, err := has(lo + step)
		if err != nil {
			return 0, err
		}
		if !ok {
			hi = lo + step
			break
		}
		lo += step
		step *= 2
		if v.cfg.To >= 0 && lo > v.cfg.To {
			return lo + 1, nil
		}
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		ok, err := has(mid)
		if err != nil {
			return 0, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo + 1, nil
}

// checkSlots checks slots in order from chain (assignment and message signatures on every core) and returns how
// many passed, the chain after them and the first failure.
func checkSlots(pid, scheduler string, chain ao.Chain, slots []Slot) (int, ao.Chain, error) {
	sigErrs := make([]error, len(slots))
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(runtime.GOMAXPROCS(0), max(len(slots), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				sigErrs[i] = checkSignatures(pid, scheduler, &slots[i])
			}
		}()
	}
	for i := range slots {
		next <- i
	}
	close(next)
	wg.Wait()
	for i := range slots {
		sl := &slots[i]
		if sl.Err != nil {
			return i, chain, fmt.Errorf("slot %d: %w", chain.Nonce+1, sl.Err)
		}
		a, err := ao.ParseAssignment(sl.Node.Assignment.Tags)
		if err != nil {
			return i, chain, fmt.Errorf("slot %d: assignment %s: %w", chain.Nonce+1, sl.Node.Assignment.ID, err)
		}
		mid, msig := sl.Node.MessageID(), ""
		if m := sl.Node.Message; m != nil {
			msig = m.Signature
		} else if sl.Message != nil {
			if it, err := dataitem.Decode(sl.Message); err == nil {
				msig = dataitem.B64(it.Signature)
			}
		}
		if err := ao.CheckSlot(pid, chain, a, sl.Node.Assignment.ID, mid, msig); err != nil {
			return i, chain, fmt.Errorf("slot %d: %w", chain.Nonce+1, err)
		}
		if sigErrs[i] != nil {
			return i, chain, fmt.Errorf("slot %d: %w", a.Nonce, sigErrs[i])
		}
		chain = chain.Next(a, sl.Node.Assignment.ID)
	}
	return len(slots), chain, nil
}

// checkSignatures checks a slot's assignment signature (by the process's scheduler) and its message's.
func checkSignatures(pid, scheduler string, sl *Slot) error {
	if err := ao.VerifyItem(sl.Node.Assignment.Fields(), scheduler); err != nil {
		return fmt.Errorf("assignment: %w", err)
	}
	mid := sl.Node.MessageID()
	if sl.Message != nil {
		if !sl.messageVerified {
			if _, err := verifiedItem(sl.Message, mid); err != nil {
				return fmt.Errorf("message %s: %w", mid, err)
			}
		}
		if m := sl.Node.Message; m != nil {
			// The message the replay evaluates must be the one that verified.
			it, _ := dataitem.Decode(sl.Message)
			if m.ID != it.ID() || m.Data == nil || *m.Data != jsonText(it.Data) {
				return fmt.Errorf("message %s: the source's JSON differs from its signed item", mid)
			}
		}
		return nil
	}
	if m := sl.Node.Message; m != nil {
		if err := ao.VerifyItem(m.Fields(), ""); err != nil {
			return fmt.Errorf("message: %w", err)
		}
		return nil
	}
	return fmt.Errorf("message %s: not available to check (give a gateway)", mid)
}

// jsonText is data as a string that went through JSON (each byte that is not UTF-8 becomes U+FFFD), as an SU's
// JSON carries a message's data.
func jsonText(data []byte) string {
	b, _ := json.Marshal(string(data))
	var s string
	_ = json.Unmarshal(b, &s)
	return s
}

// replay evaluates one checked window, stopping (so the machine's memory is hashed) after each slot a CU
// attested a memory hash for and after the window's last slot.
func (v *verifier) replay(ctx context.Context, c *cu.CU, fd *feed, items *cachedItems, slots []Slot, answers [][]cuAnswer) error {
	v.mu.Lock()
	v.answers = make(map[int64][]cuAnswer, len(slots))
	v.assigned = map[int64]bool{}
	for i := range slots {
		n := slots[i].Node.Nonce()
		v.answers[n] = answers[i]
		if slots[i].Node.Message == nil {
			v.assigned[n] = true
		}
	}
	v.mu.Unlock()
	v.store.newWindow()
	fd.add(slots)
	items.put(slots)
	defer fd.reset()
	for i := range slots {
		if i < len(slots)-1 && !wantsMemoryHash(answers[i]) {
			continue
		}
		mid := slots[i].Node.MessageID()
		if _, err := c.Result(ctx, v.pid, mid); err != nil {
			return fmt.Errorf("slot %d (message %s): %w", slots[i].Node.Nonce(), mid, err)
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.slotsOK = slots[len(slots)-1].Node.Nonce() + 1
	return nil
}

// onEval compares one evaluation of the replay with the CUs' answers about its slot.
func (v *verifier) onEval(ev *cu.Eval) {
	if ev.Message == "" {
		return // a cron message: no CU answer to compare; its effect is in the next memory hash
	}
	if v.cfg.Progress != nil && time.Since(v.lastProgress) > 100*time.Millisecond {
		v.lastProgress = time.Now()
		defer v.cfg.Progress(Progress{Done: ev.Nonce + 1, Total: max(v.total, ev.Nonce+1), Start: v.rep.From})
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.assigned[ev.Nonce] {
		v.store.markAssigned(ev.Message)
	}
	for i, u := range v.units {
		ans := v.answers[ev.Nonce]
		if i >= len(ans) {
			continue
		}
		u.report.Compared++
		if d := compare(u, &ans[i], ev); d != nil {
			if v.rep.Divergence == nil {
				v.rep.Divergence = d
			}
			continue
		}
		u.report.Agreed++
	}
	h := sha256.Sum256(ev.Result)
	st := &Statement{Process: v.pid, Module: v.rep.Module, Slot: ev.Nonce, Message: ev.Message, HashChain: ev.HashChain,
		Timestamp: ev.Timestamp, BlockHeight: ev.BlockHeight, ResultHash: dataitem.B64(h[:]), SlotsChecked: ev.Nonce + 1}
	if ev.MemoryHash != nil {
		st.MemoryHash = dataitem.B64(ev.MemoryHash)
	}
	v.rep.Last = st
}

// onCheckpoint writes the verifier's checkpoint with the replay's: every evaluation up to it was compared.
func (v *verifier) onCheckpoint(cp cu.Checkpoint) error {
	v.mu.Lock()
	st := state{Process: v.pid, Checkpoint: &cp, Slots: cp.Nonce + 1, Last: v.rep.Last, Divergence: v.rep.Divergence}
	if st.Last != nil && st.Last.Slot == cp.Nonce && st.Last.MemoryHash == "" {
		last := *st.Last
		last.MemoryHash = dataitem.B64(cp.MemoryHash)
		st.Last = &last
	}
	for _, u := range v.units {
		st.Units = append(st.Units, *u.report)
	}
	v.mu.Unlock()
	v.store.mu.Lock()
	for id := range v.store.assigned {
		st.Assigned = append(st.Assigned, id)
	}
	v.store.mu.Unlock()
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(v.cfg.Dir, stateFile), b)
}

func (v *verifier) loadState() (*state, error) {
	b, err := os.ReadFile(filepath.Join(v.cfg.Dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("verify: read the checkpoint: %w", err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil || st.Checkpoint == nil {
		return nil, fmt.Errorf("verify: checkpoint %s is damaged (run with a fresh start): %v", filepath.Join(v.cfg.Dir, stateFile), err)
	}
	if st.Process != v.pid {
		return nil, fmt.Errorf("verify: checkpoint %s is of process %s, not %s", filepath.Join(v.cfg.Dir, stateFile), st.Process, v.pid)
	}
	return &st, nil
}

// mergeUnits restores the counts of the CUs an earlier run compared (by URL).
func (v *verifier) mergeUnits(old []UnitReport) {
	for _, u := range v.units {
		for _, o := range old {
			if o.URL == u.c.URL() {
				r := o
				r.Address = u.address
				u.report = &r
			}
		}
	}
}

// finish fills the report from the replay's end.
func (v *verifier) finish() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.rep.Slots = v.slotsOK
	if v.rep.Last != nil {
		v.rep.Last.SlotsChecked = v.slotsOK
		var agreeing []string
		for _, u := range v.units {
			if u.report.Compared > 0 && u.report.Agreed == u.report.Compared {
				agreeing = append(agreeing, u.address)
			}
		}
		v.rep.Last.UnitsAgreeing = agreeing
		if d := v.rep.Divergence; d != nil {
			s := d.Slot
			v.rep.Last.DivergenceSlot = &s
		}
	}
	for _, u := range v.units {
		v.rep.Units = append(v.rep.Units, *u.report)
	}
}
