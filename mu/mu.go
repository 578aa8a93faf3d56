package mu

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/quorum"
)

// Config configures a Messenger Unit. Wallet, Store and at least one CU are required.
type Config struct {
	// Wallet signs every item the MU pushes (outbox messages, spawns, Spawned notices). An ed25519 wallet signs
	// in microseconds; an Arweave RSA-4096 one in milliseconds, once per pushed item.
	Wallet dataitem.Signer
	Store  Store
	// CUs are the Compute Unit URLs results are pulled from. Each process sticks to one (chosen by hash of its
	// id); a failed attempt moves to the next. A process with a result quorum asks n of them (quorum.go).
	CUs []string
	// Quorum is the result quorum of processes without a Compute-Quorum tag (quorum.go); zero: 1-of-1, one
	// CU's word. Its n may not exceed len(CUs).
	Quorum quorum.Policy
	// QuorumGrace is how long, once k CUs agree, the others asked may still answer (so that a dissenter is
	// flagged) before the result is cranked without them; default 1 s.
	QuorumGrace time.Duration
	// Gateway finds Scheduler-Locations and process tags and receives messages addressed to wallets. Nil: only
	// SchedulerHints and the SUs are asked, and wallet messages are dropped with a log line.
	Gateway Gateway
	// SchedulerHints maps scheduler wallet addresses to SU URLs, ahead of any Scheduler-Location.
	SchedulerHints map[string]string

	// NewScheduler and NewCompute make the clients of one SU or CU. Default: package client over HTTPClient.
	NewScheduler func(url string) Scheduler
	NewCompute   func(url string) Compute
	HTTPClient   *http.Client

	Workers      int           // concurrent tasks; default 32
	RetryBase    time.Duration // delay before the first retry, doubled each time; default 500 ms
	RetryMax     time.Duration // longest delay between retries; default 1 min
	MaxAttempts  int           // failed attempts before a task is parked; default 10
	CronInterval time.Duration // how often monitored processes are asked for cron results; default 10 s
	CronPageSize int           // cron results per CU request; default 50
	MaxItemSize  int           // largest item accepted or pushed, in bytes; default 10 MiB (the SU's limit)
	// MaxDepth is the most hops a cascade may take from its root (a user's item or a cron result); a message
	// deeper than that is parked, not delivered: the brake on message loops (brake.go). Default
	// DefaultMaxDepth; negative: no limit.
	MaxDepth int
	// NoSpawnResults disables pulling and cranking the boot result of spawned processes.
	NoSpawnResults bool
	// DoneRetention is how long finished tasks are kept (so a re-posted user item is recognised); default 1 h.
	DoneRetention time.Duration
	// ClaimInterval is how often a replica sharing its Store with others (SharedStore) looks for tasks whose
	// lease ran out (a dead replica's); default 1 s.
	ClaimInterval time.Duration

	// OperatorToken guards the operator routes (/metrics, POST /parked/{id}/retry, the full status on GET /):
	// they need "Authorization: Bearer <token>" and never carry CORS headers. Empty: they are refused.
	OperatorToken string

	Logger *slog.Logger
	Now    func() time.Time
}

func (c *Config) defaults() error {
	if c.Wallet == nil {
		return errors.New("mu: Config.Wallet is required")
	}
	if c.Store == nil {
		return errors.New("mu: Config.Store is required")
	}
	if len(c.CUs) == 0 {
		return errors.New("mu: at least one CU URL is required")
	}
	if err := c.Quorum.Validate(); err != nil {
		return fmt.Errorf("mu: Config.Quorum: %w", err)
	}
	if n := c.Quorum.Units(); n > len(c.CUs) {
		return fmt.Errorf("mu: Config.Quorum %s needs %d CUs, %d configured", c.Quorum, n, len(c.CUs))
	}
	if c.QuorumGrace <= 0 {
		c.QuorumGrace = time.Second
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 2 * time.Minute}
	}
	if c.NewScheduler == nil {
		hc := c.HTTPClient
		c.NewScheduler = func(u string) Scheduler { return client.NewSU(u, hc) }
	}
	if c.NewCompute == nil {
		hc := c.HTTPClient
		c.NewCompute = func(u string) Compute { return client.NewCU(u, hc) }
	}
	if c.Workers <= 0 {
		c.Workers = 32
	}
	if c.RetryBase <= 0 {
		c.RetryBase = 500 * time.Millisecond
	}
	if c.RetryMax <= 0 {
		c.RetryMax = time.Minute
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 10
	}
	if c.CronInterval <= 0 {
		c.CronInterval = 10 * time.Second
	}
	if c.CronPageSize <= 0 {
		c.CronPageSize = 50
	}
	if c.MaxItemSize <= 0 {
		c.MaxItemSize = 10 << 20
	}
	if c.MaxDepth == 0 {
		c.MaxDepth = DefaultMaxDepth
	} else if c.MaxDepth < 0 {
		c.MaxDepth = math.MaxInt
	}
	if c.DoneRetention <= 0 {
		c.DoneRetention = time.Hour
	}
	if c.ClaimInterval <= 0 {
		c.ClaimInterval = time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// MU is a Messenger Unit: it takes signed items from users, schedules them on the right SU, pulls their results
// from a CU and pushes every outbox entry onward until nothing is left, exactly once, through a durable queue.
type MU struct {
	cfg   Config
	store Store
	// shared is the store when other replicas share it (replica.go), else nil.
	shared SharedStore
	loc    *locator
	build  builder
	cus    []Compute
	// cuByURL is the client of each configured CU (quorum pulls ask CUs by URL).
	cuByURL map[string]Compute
	quorum  quorums
	log     *slog.Logger
	q       *queue
	met     metrics
	mods    modules

	inflightMu sync.Mutex
	inflight   map[int64]bool
	// deferred holds tasks a worker popped while another goroutine held them (see claimOrDefer); release
	// queues them again.
	deferred map[int64]Task

	cronWake chan struct{}
}

// New returns an MU. It starts nothing: serve Handler, and call Run to work the queue.
func New(cfg Config) (*MU, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	m := &MU{
		cfg:      cfg,
		store:    cfg.Store,
		loc:      newLocator(cfg.Gateway, cfg.NewScheduler, cfg.SchedulerHints, cfg.Now),
		build:    builder{signer: cfg.Wallet, maxSize: cfg.MaxItemSize},
		log:      cfg.Logger,
		q:        newQueue(cfg.Now),
		inflight: map[int64]bool{}, deferred: map[int64]Task{},
		cronWake: make(chan struct{}, 1),
		cuByURL:  map[string]Compute{},
	}
	m.shared, _ = cfg.Store.(SharedStore)
	for _, u := range cfg.CUs {
		c := cfg.NewCompute(u)
		m.cus = append(m.cus, c)
		m.cuByURL[u] = c
	}
	return m, nil
}

// Address is the MU wallet's address, the owner of every item it pushes.
func (m *MU) Address() string { return dataitem.Address(m.cfg.Wallet.Owner()) }

// Run loads the unfinished tasks and works the queue with Config.Workers goroutines, ticks the monitors and
// prunes old finished tasks, until ctx is done. It returns once every goroutine it started has ended.
func (m *MU) Run(ctx context.Context) error {
	if m.shared != nil {
		return m.runShared(ctx)
	}
	pending, err := m.store.Pending(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("mu: load pending tasks: %w", err)
	}
	for _, t := range pending {
		if !m.isInflight(t.ID) {
			m.q.push(t)
		}
	}
	if len(pending) > 0 {
		m.log.Info("mu: resumed unfinished tasks", "count", len(pending))
	}
	var wg sync.WaitGroup
	m.startLoops(ctx, &wg)
	wg.Wait()
	return nil
}

// startLoops starts the workers, the cron loop and the prune loop.
func (m *MU) startLoops(ctx context.Context, wg *sync.WaitGroup) {
	for range m.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.worker(ctx)
		}()
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		m.cronLoop(ctx)
	}()
	go func() {
		defer wg.Done()
		m.pruneLoop(ctx)
	}()
}

// Close releases nothing the MU owns beyond Run's goroutines (cancel Run's context to stop them); the store
// belongs to the caller.
func (m *MU) Close() error { return nil }

func (m *MU) pruneLoop(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := m.store.PruneDone(ctx, m.cfg.Now().Add(-m.cfg.DoneRetention)); err != nil && ctx.Err() == nil {
				m.log.Warn("mu: prune finished tasks", "err", err)
			}
		}
	}
}

// claim marks a task as being worked on, so a task loaded at start and the request that created it do not run
// it at the same time. Running it twice would still be safe (stage changes are compare-and-set), only wasteful.
func (m *MU) claim(id int64) bool {
	m.inflightMu.Lock()
	defer m.inflightMu.Unlock()
	if m.inflight[id] {
		return false
	}
	m.inflight[id] = true
	return true
}

// claimOrDefer is claim for a worker: a task someone else holds is set aside, not dropped, and queued again
// when they release it. Whoever holds it usually hands the task on itself, and the second run then finds its
// stage gone (ErrStale); but a holder may also stop with it: a task being parked while an operator unparks it,
// say, would otherwise never run again.
func (m *MU) claimOrDefer(t Task) bool {
	m.inflightMu.Lock()
	defer m.inflightMu.Unlock()
	if m.inflight[t.ID] {
		m.deferred[t.ID] = t
		return false
	}
	m.inflight[t.ID] = true
	return true
}

func (m *MU) release(id int64) {
	m.inflightMu.Lock()
	delete(m.inflight, id)
	t, again := m.deferred[id]
	delete(m.deferred, id)
	m.inflightMu.Unlock()
	if again {
		m.q.push(t)
	}
}

func (m *MU) isInflight(id int64) bool {
	m.inflightMu.Lock()
	defer m.inflightMu.Unlock()
	return m.inflight[id]
}

// compute returns the CU for a process: a stable choice per process, moving on with each failed attempt.
func (m *MU) compute(pid string, attempt int) Compute {
	if len(m.cus) == 1 {
		return m.cus[0]
	}
	h := fnv.New32a()
	h.Write([]byte(pid))
	return m.cus[(int(h.Sum32()%uint32(len(m.cus)))+attempt)%len(m.cus)]
}

func (m *MU) enqueue(ts ...Task) {
	for _, t := range ts {
		if t.Stage == StageWrite || t.Stage == StagePull {
			m.q.push(t)
		}
	}
}
