package cu

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// CU is a Compute Unit: it evaluates processes from their SU logs and serves the results.
type CU struct {
	cfg      Config
	log      *slog.Logger
	machines Machines
	now      func() time.Time
	address  string
	metrics  metrics
	saver    *saver
	warm     *warmer
	// archiveQ holds Checkpoint items waiting for the publisher (archive.go); unitID is this start's
	// Unit-Identifier tag.
	archiveQ chan archiveJob
	unitID   string

	// stopped ends when Run's context ends or Close is called: every evaluation's context derives from it,
	// so a guest running at shutdown is interrupted at once (its message is evaluated again later).
	stopped context.Context
	stop    context.CancelCauseFunc

	mu     sync.Mutex
	procs  map[string]*proc
	clock  int64 // LRU clock: bumped on every use of a process
	closed bool

	modMu   sync.Mutex
	modules map[string]*module

	// Checkpoint pages (pages.go).
	pins      pins
	gcMu      sync.Mutex
	cpSinceGC atomic.Int64
}

// New checks cfg and returns a CU. It starts nothing and does no I/O beyond creating the data directory.
func New(cfg Config) (*CU, error) {
	switch {
	case cfg.Wallet == nil:
		return nil, errors.New("cu: config: no wallet")
	case cfg.Scheduler == nil:
		return nil, errors.New("cu: config: no scheduler locator")
	case cfg.Modules == nil:
		return nil, errors.New("cu: config: no module source")
	case cfg.Store == nil:
		return nil, errors.New("cu: config: no store")
	case cfg.DataDir == "":
		return nil, errors.New("cu: config: no data directory")
	}
	if cfg.MaxMemory == 0 {
		cfg.MaxMemory = 1 << 30
	}
	if cfg.MaxCompute == 0 {
		cfg.MaxCompute = DefaultMaxCompute
	}
	if cfg.MaxDryRunCompute == 0 {
		cfg.MaxDryRunCompute = DefaultMaxDryRunCompute
	}
	cfg.MaxDryRunCompute = min(cfg.MaxDryRunCompute, cfg.MaxCompute)
	if cfg.CheckpointEvery <= 0 {
		cfg.CheckpointEvery = 1000
	}
	if cfg.CacheBytes == 0 {
		cfg.CacheBytes = 2 << 30
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 1000
	}
	c := &CU{cfg: cfg, log: cfg.Logger, machines: cfg.Machines, now: cfg.Now,
		procs: map[string]*proc{}, modules: map[string]*module{}, saver: newSaver(), warm: newWarmer(),
		archiveQ: make(chan archiveJob, 4), unitID: newUnitIdentifier()}
	c.stopped, c.stop = context.WithCancelCause(context.Background())
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.machines == nil {
		c.machines = registry{}
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.address = ownerAddressBytes(cfg.Wallet.Owner())
	for _, d := range []string{"modules", "snapshots", "wasmcache"} {
		mode := os.FileMode(0o755)
		if d == "wasmcache" {
			mode = 0o700 // compiled native code: private to this user (see vm/emscripten/modcache.go)
		}
		if err := os.MkdirAll(filepath.Join(cfg.DataDir, d), mode); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Address is the CU wallet's address.
func (c *CU) Address() string { return c.address }

// Run saves evaluations in the background (see saver.go) and checkpoints idle processes with unsaved
// progress every interval until ctx ends. Evaluation itself happens in the request that needs it.
func (c *CU) Run(ctx context.Context) error {
	saved := make(chan struct{})
	go func() { defer close(saved); c.saveLoop(ctx) }()
	defer func() { <-saved }()
	warmed := make(chan struct{})
	go func() { defer close(warmed); c.warmLoop(ctx) }()
	defer func() { <-warmed }()
	published := make(chan struct{})
	go func() { defer close(published); c.publishLoop(ctx) }()
	defer func() { <-published }()
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			c.stop(errShutdown)
			return nil
		case <-t.C:
			for _, p := range c.snapshotProcs() {
				if !p.mu.TryLock() {
					continue
				}
				if p.m != nil && p.dirty() {
					if err := c.checkpoint(ctx, p); err != nil {
						c.log.Error("idle checkpoint", "process", p.id, "err", err)
					}
				}
				p.mu.Unlock()
			}
		}
	}
}

// Close checkpoints every hot process with unsaved progress and closes its machine. Call it after the
// HTTP server has stopped.
func (c *CU) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.stop(errShutdown) // interrupt what still evaluates, so its process lock is ours at once
	var errs []error
	for _, p := range c.snapshotProcs() {
		p.mu.Lock()
		if p.m != nil {
			if p.dirty() {
				if err := c.checkpoint(context.Background(), p); err != nil {
					errs = append(errs, err)
				}
			}
			// The state at shutdown goes to the gateway too (at most a minute per process).
			actx, cancel := context.WithTimeout(context.Background(), time.Minute)
			c.archive(actx, p, true)
			cancel()
			p.unload()
		}
		p.mu.Unlock()
	}
	if err := c.save(context.Background()); err != nil {
		errs = append(errs, err)
	}
	c.publishQueued()
	return errors.Join(errs...)
}

// errShutdown is the cause of the evaluation context's end at shutdown.
var errShutdown = statusErr(503, "cu is shutting down")

// evalContext is the context an evaluation of scheduled messages runs under: not ctx's cancellation (a
// result request whose client leaves does not waste the evaluation it started: it completes and is stored)
// but the CU's stop, with ctx's values.
func (c *CU) evalContext(ctx context.Context) (context.Context, context.CancelFunc) {
	ectx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	stop := context.AfterFunc(c.stopped, func() { cancel(context.Cause(c.stopped)) })
	return ectx, func() { stop(); cancel(context.Canceled) }
}

// requestContext is ctx, also ended by the CU's stop: for a dry-run, which serves only its client.
func (c *CU) requestContext(ctx context.Context) (context.Context, context.CancelFunc) {
	rctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(c.stopped, func() { cancel(context.Cause(c.stopped)) })
	return rctx, func() { stop(); cancel(context.Canceled) }
}

func (c *CU) snapshotProcs() []*proc {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*proc, 0, len(c.procs))
	for _, p := range c.procs {
		out = append(out, p)
	}
	return out
}

// proc returns the owner record of process pid, creating it.
func (c *CU) proc(pid string) (*proc, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, statusErr(503, "cu is shutting down")
	}
	p, ok := c.procs[pid]
	if !ok {
		p = &proc{id: pid}
		c.procs[pid] = p
	}
	c.clock++
	p.lastUsed.Store(c.clock)
	return p, nil
}

// evict closes the least recently used machines (after checkpointing them) while the hot machines' memory
// exceeds the budget. keep is never evicted; processes busy evaluating are skipped.
func (c *CU) evict(keep *proc) {
	c.mu.Lock()
	var hot []*proc
	var total uint64
	for _, p := range c.procs {
		if n := p.memSize.Load(); n > 0 {
			hot = append(hot, p)
			total += n
		}
	}
	c.mu.Unlock()
	if total <= c.cfg.CacheBytes {
		return
	}
	sort.Slice(hot, func(i, j int) bool { return hot[i].lastUsed.Load() < hot[j].lastUsed.Load() })
	for _, p := range hot {
		if total <= c.cfg.CacheBytes {
			return
		}
		if p == keep || !p.mu.TryLock() {
			continue
		}
		if p.m != nil {
			if p.dirty() {
				if err := c.checkpoint(context.Background(), p); err != nil {
					c.log.Error("checkpoint before eviction", "process", p.id, "err", err)
					p.mu.Unlock()
					continue
				}
			}
			total -= p.memSize.Load()
			p.unload()
			c.metrics.evictions.Add(1)
		}
		p.mu.Unlock()
	}
}
