// Package su is the Scheduler Unit: it orders every message sent to a process into that process's log (the slot
// number is the assignment's Nonce), signs an Assignment per slot chained by Hash-Chain, makes the slot durable
// before answering, and queues every item for the data-availability layer.
//
// Ordering has one writer per process: a per-process lock covers nonce, timestamp, hash chain and the assignment
// signature, and hands the slot to one committer goroutine in nonce order. The committer writes whatever slots
// are waiting, across processes, in one transaction (group commit), then answers their requests. Nothing is
// acknowledged before it is durable, so a crash loses only unacknowledged work, and a restart resumes each log
// from its last durable slot.
//
// Only the chain is sequential. An incoming item's signature is verified before the process lock, on any core;
// a slot's hash chain needs only the previous assignment's id, so a process signs slot n+1 while slot n is still
// being committed, and each write is answered when its own slot is durable. A failed commit bumps the process's
// generation, and the committer refuses every queued slot signed on the lost head, so a log never has a gap.
// Process heads live in a bounded cache (procs.go) and are read back from the store when evicted.
//
// Several SUs with one wallet may share one store (replicas, Config.Replicated). The per-process lock then only
// orders this SU's own writes; the store orders the replicas: every Commit checks, under a per-process lock of
// its own, that each process's first slot follows the durable head, and refuses the processes whose head moved
// (a *ConflictError). Their requests are placed again on the reloaded head, which also finds an item the other
// replica scheduled first, so a log stays dense, chained and free of duplicates whichever replica writes.
package su

import (
	"container/list"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aogo/aogo/dataitem"
)

// Uploader writes a signed item (or a binary bundle of items) to the data-availability layer.
type Uploader interface {
	Upload(ctx context.Context, raw []byte) error
}

// HeightSource gives the current Arweave block height.
type HeightSource interface {
	Height(ctx context.Context) (uint64, error)
}

// MessageSource answers for items this SU does not hold, on the assign path.
type MessageSource interface {
	// Exists reports whether id is an item or transaction the data-availability layer holds.
	Exists(ctx context.Context, id string) (bool, error)
	// Confirmations returns the number of confirmations of base-layer transaction id.
	Confirmations(ctx context.Context, id string) (uint64, error)
}

// Config configures a Unit. Wallet and Store are required.
type Config struct {
	Wallet dataitem.Signer // signs assignments and the Scheduler-Location; its address is the SU's
	Store  Store
	// Uploader receives every process, message and assignment, through the durable queue. Nil: nothing is
	// queued (a standalone SU with no data-availability layer).
	Uploader Uploader
	Heights  HeightSource  // nil: Block-Height 0
	Messages MessageSource // nil: only messages this SU holds can be assigned

	URL         string        // public URL; when set, a Scheduler-Location is published on Run
	LocationTTL time.Duration // Time-To-Live of the Scheduler-Location (default 1 h)

	MaxBody  int64 // largest POST body in bytes (default 10 MiB)
	MaxBatch int   // most slots per commit (default 2048)
	// MaxProcs is the most process heads (newest slot and the fingerprints of its ids) kept in memory (default
	// 100000); the least recently used idle one is dropped beyond it, and read again from the store when needed.
	MaxProcs int
	// UploadBatch is the most queued items sent in one upload, as a binary ANS-104 bundle (default 64). Set 1
	// for a data-availability layer that takes single items only.
	UploadBatch int
	// UploadLinger is how long the uploader waits after new items are queued before it uploads, so that items
	// committed meanwhile go in the same bundle (one upload and one dequeue commit for many items). Uploads are
	// not on any request's path: the items are durable in the store already. Default 200 ms; negative: none.
	UploadLinger     time.Duration
	UploadBackoffMin time.Duration // first retry delay of a failed upload (default 1 s)
	UploadBackoffMax time.Duration // cap of the exponential backoff (default 32 s)
	HeightInterval   time.Duration // block height refresh (default 5 s)

	// Replicated says other SU replicas (same wallet) write to the same Store, which must then fence every
	// commit on the durable heads (a *ConflictError, see Store.Commit). New sets it when the Store reports
	// Shared() true. The SU then answers from its tail cache only pages that end inside it, and drains the
	// upload queue only while the store grants it the drainer lock (UploadDrainer).
	Replicated bool

	// OnCommit, when set, is called after each group commit with the processes that got new slots (each
	// once), on the committer goroutine, once the slots are durable and just before their writers are
	// released: it must return quickly (a CU in the same process uses it to evaluate ahead, see
	// cu.CU.Notify).
	OnCommit func(pids []string)

	// OperatorToken guards the operator routes (/metrics): they answer only "Authorization: Bearer
	// <token>" and never carry CORS headers. Empty: they are refused (403).
	OperatorToken string

	Logger *slog.Logger
	Now    func() time.Time // clock (default time.Now)
}

// DefaultMaxBody is the default POST size limit, the reference SU's payload limit.
const DefaultMaxBody = 10 << 20

// Unit is one Scheduler Unit. New builds it, Handler serves it, Run runs its committer, uploader and height
// refresher until ctx ends.
type Unit struct {
	cfg     Config
	log     *slog.Logger
	address string

	mu    sync.Mutex
	procs map[string]*procState // the head cache (procs.go)
	lru   *list.List            // of *procState, most recently used first

	queue    chan *pending // slots waiting for the committer, in per-process nonce order
	uploadCh chan struct{} // wakes the uploader after a commit
	height   atomic.Uint64
	// tailBytes is what every head's tail holds (tail.go), against maxTailBytes.
	tailBytes atomic.Int64
	running   atomic.Bool
	started   chan struct{} // closed when Run has started the committer
	stopped   chan struct{} // closed when the committer has stopped
	stopOnce  sync.Once

	metrics metrics
}

// New checks cfg and builds a Unit. It starts nothing: call Run.
func New(cfg Config) (*Unit, error) {
	if cfg.Wallet == nil {
		return nil, errors.New("su: no wallet")
	}
	if cfg.Store == nil {
		return nil, errors.New("su: no store")
	}
	if cfg.LocationTTL <= 0 {
		cfg.LocationTTL = time.Hour
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 2048
	}
	if cfg.MaxProcs <= 0 {
		cfg.MaxProcs = 100000
	}
	if cfg.UploadBatch <= 0 {
		cfg.UploadBatch = 64
	}
	if cfg.UploadLinger == 0 {
		cfg.UploadLinger = 200 * time.Millisecond
	}
	if cfg.UploadBackoffMin <= 0 {
		cfg.UploadBackoffMin = time.Second
	}
	if cfg.UploadBackoffMax < cfg.UploadBackoffMin {
		cfg.UploadBackoffMax = max(32*time.Second, cfg.UploadBackoffMin)
	}
	if cfg.HeightInterval <= 0 {
		cfg.HeightInterval = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if sh, ok := cfg.Store.(interface{ Shared() bool }); ok && sh.Shared() {
		cfg.Replicated = true
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Unit{
		cfg:      cfg,
		log:      cfg.Logger.With("unit", "su"),
		address:  dataitem.Address(cfg.Wallet.Owner()),
		procs:    map[string]*procState{},
		lru:      list.New(),
		queue:    make(chan *pending, 4*cfg.MaxBatch),
		uploadCh: make(chan struct{}, 1),
		started:  make(chan struct{}),
		stopped:  make(chan struct{}),
	}, nil
}

// Address is the SU's wallet address: the Scheduler tag value of the processes it accepts.
func (u *Unit) Address() string { return u.address }

// Handler is the SU's HTTP API.
func (u *Unit) Handler() http.Handler { return u.routes() }

// errStopped answers writes that arrive after Run has ended.
var errStopped = errors.New("su: scheduler is not running")

// Run refreshes the block height, publishes the Scheduler-Location, and runs the committer and the uploader until
// ctx ends. Writes made before Run starts wait for it; writes after it ends are refused. It returns ctx's error, or the first fatal error.
func (u *Unit) Run(ctx context.Context) error {
	if !u.running.CompareAndSwap(false, true) {
		return errors.New("su: Run called twice")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	u.refreshHeight(ctx)

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		u.commitLoop(ctx)
	}()
	close(u.started)
	if u.cfg.Heights != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(u.cfg.HeightInterval)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					u.refreshHeight(ctx)
				}
			}
		}()
	}
	if u.cfg.Uploader != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u.uploadLoop(ctx)
		}()
	}
	var err error
	if u.cfg.URL != "" && u.cfg.Uploader != nil {
		if err = u.publishLocation(ctx); err != nil {
			cancel()
		}
	}
	<-ctx.Done()
	wg.Wait()
	if err != nil {
		return err
	}
	return ctx.Err()
}

// Close releases nothing the Unit owns beyond Run (the Store belongs to the caller); it exists so the unit's
// lifecycle reads the same as the others'. Cancel Run's context to stop.
func (u *Unit) Close() error { return nil }

func (u *Unit) refreshHeight(ctx context.Context) {
	if u.cfg.Heights == nil {
		return
	}
	hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	h, err := u.cfg.Heights.Height(hctx)
	if err != nil {
		u.log.Warn("block height refresh failed; keeping the last one", "height", u.height.Load(), "err", err)
		return
	}
	// Heights only grow: a lagging gateway replica must not move Block-Height backwards in a log.
	for {
		cur := u.height.Load()
		if h <= cur || u.height.CompareAndSwap(cur, h) {
			return
		}
	}
}

// BlockHeight is the current block height the SU stamps on assignments.
func (u *Unit) BlockHeight() uint64 { return u.height.Load() }

func (u *Unit) now() int64 { return u.cfg.Now().UnixMilli() }

// publishLocation queues a signed Scheduler-Location item for this SU through the durable upload queue.
func (u *Unit) publishLocation(ctx context.Context) error {
	// A fresh anchor makes every publication a new item. Without it an ed25519 key (deterministic signatures)
	// signs the same URL into the same id each time: back on an earlier URL after a restart elsewhere, the
	// SU would publish an item the gateway already holds, older than the other URL's, and stay unfindable.
	anchor := make([]byte, 32)
	rand.Read(anchor)
	it := &dataitem.Item{
		Anchor: anchor,
		Tags: []dataitem.Tag{
			{Name: "Data-Protocol", Value: "ao"},
			{Name: "Variant", Value: "ao.TN.1"},
			{Name: "Type", Value: "Scheduler-Location"},
			{Name: "Url", Value: u.cfg.URL},
			{Name: "Time-To-Live", Value: fmt.Sprint(u.cfg.LocationTTL.Milliseconds())},
		},
		Data: []byte("1984"),
	}
	if err := it.Sign(u.cfg.Wallet); err != nil {
		return fmt.Errorf("sign Scheduler-Location: %w", err)
	}
	raw, err := it.Bytes()
	if err != nil {
		return fmt.Errorf("encode Scheduler-Location: %w", err)
	}
	if err := u.cfg.Store.Commit(ctx, nil, [][]byte{raw}); err != nil {
		return fmt.Errorf("queue Scheduler-Location: %w", err)
	}
	u.wakeUploader()
	u.log.Info("Scheduler-Location queued", "id", it.ID(), "url", u.cfg.URL, "address", u.address)
	return nil
}
