package explorer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/su"
)

// Config configures an Explorer. Log and Index are required; without Results, Links or Items the pages show
// less (no results, no message graph, no module tags nor messages sent to wallets).
type Config struct {
	Log     Log
	Index   Index
	Results Results
	Links   Links
	Items   Items
	// MaxStreams caps the live streams open at once (default 64); more are answered 503.
	MaxStreams int
	// StreamBuffer is how many events one stream client may have waiting (default 256): past it, a client
	// that does not read loses events (and is told how many) instead of costing memory.
	StreamBuffer int
	Logger       *slog.Logger
	// Now is the clock of the activity sparklines (default time.Now).
	Now func() time.Time
	// Gather is how long the indexer waits after a commit before it indexes (default 50ms; negative: it
	// indexes at once), so that every slot committed meanwhile, of any process, shares one read of the log and one index
	// transaction. Indexing per commit would cost each message a log read and an index write while the units
	// answer it: on a small machine that work competes with the message's own path for the cores (measured in
	// aogo dev: 0.7 ms of a 1.6 ms POST). The live stream lags the log by about this much.
	Gather time.Duration
}

// Explorer serves the explorer's pages and API and keeps its Index fed from the log.
type Explorer struct {
	cfg Config
	log *slog.Logger
	hub *hub

	mu    sync.Mutex
	dirty map[string]struct{} // processes with slots not yet indexed; at most one entry per process
	wake  chan struct{}

	// quit is closed when Run returns: live streams end then, so a server's graceful shutdown does not wait
	// for browser tabs that would never hang up.
	quit     chan struct{}
	quitOnce sync.Once
}

// indexPage is how many slots the indexer reads per page, and indexPageBytes the most item bytes a page holds.
const (
	indexPage      = 256
	indexPageBytes = 8 << 20
)

// New builds an Explorer. It starts nothing: call Run.
func New(cfg Config) (*Explorer, error) {
	if cfg.Log == nil || cfg.Index == nil {
		return nil, errors.New("explorer: Log and Index are required")
	}
	if cfg.MaxStreams <= 0 {
		cfg.MaxStreams = 64
	}
	if cfg.StreamBuffer <= 0 {
		cfg.StreamBuffer = 256
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Gather == 0 {
		cfg.Gather = 50 * time.Millisecond
	}
	return &Explorer{cfg: cfg, log: cfg.Logger, hub: newHub(cfg.MaxStreams, cfg.StreamBuffer),
		dirty: map[string]struct{}{}, wake: make(chan struct{}, 1), quit: make(chan struct{})}, nil
}

// Notify tells the explorer that pid has new slots in the log (wire it to the SU's commit hook). It never
// blocks.
func (e *Explorer) Notify(pid string) {
	e.mu.Lock()
	e.dirty[pid] = struct{}{}
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Run indexes the log until ctx ends: first every process the index knows (slots committed while the
// explorer was not running), then each process Notify names.
func (e *Explorer) Run(ctx context.Context) error {
	defer e.quitOnce.Do(func() { close(e.quit) })
	var before int64
	for {
		ps, err := e.cfg.Index.Processes(ctx, before, 500)
		if err != nil {
			return fmt.Errorf("explorer: list indexed processes: %w", err)
		}
		for _, p := range ps {
			e.Notify(p.ID)
			before = p.Seq
		}
		if len(ps) < 500 {
			break
		}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-e.wake:
		}
		if e.cfg.Gather > 0 {
			t := time.NewTimer(e.cfg.Gather)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
		}
		e.mu.Lock()
		pids := make([]string, 0, len(e.dirty))
		for pid := range e.dirty {
			pids = append(pids, pid)
		}
		clear(e.dirty)
		e.mu.Unlock()
		for _, pid := range pids {
			if err := e.IndexProcess(ctx, pid); err != nil && ctx.Err() == nil {
				e.log.Warn("explorer: index process", "process", pid, "err", err)
			}
		}
	}
}

// IndexProcess indexes pid's slots after the last indexed one, up to the end of its log, and pushes them to
// the live streams. Run calls it; tests and tools may call it directly too: a slot indexed twice is stored and
// published once.
func (e *Explorer) IndexProcess(ctx context.Context, pid string) error {
	for {
		next, err := e.cfg.Index.Next(ctx, pid)
		if err != nil {
			return err
		}
		q := su.PageQuery{ByNonce: true, Limit: indexPage, MaxBytes: indexPageBytes}
		if next > 0 {
			q.From, q.HasFrom = int64(next)-1, true
		}
		slots, err := e.cfg.Log.Page(ctx, pid, q)
		if err != nil {
			return fmt.Errorf("read log of %s: %w", pid, err)
		}
		if len(slots) == 0 {
			return nil
		}
		var procs []ProcessRow
		msgs := make([]MessageRow, 0, len(slots))
		for i := range slots {
			p, m := e.rows(ctx, &slots[i])
			if p != nil {
				procs = append(procs, *p)
			}
			msgs = append(msgs, m)
		}
		if next == 0 && procs == nil {
			// The log starts past slot 0 (it cannot: the SU writes the Process first); index nothing rather
			// than messages of a process without its row.
			return fmt.Errorf("log of %s has no slot 0", pid)
		}
		if err := e.cfg.Index.Add(ctx, procs, msgs); err != nil {
			return fmt.Errorf("index %s: %w", pid, err)
		}
		e.hub.publish(msgs)
		// A short page may have been cut by MaxBytes: the loop ends on an empty one.
	}
}

// rows turns a slot into its index rows: always a message, and the process for slot 0.
func (e *Explorer) rows(ctx context.Context, s *su.Slot) (*ProcessRow, MessageRow) {
	m := MessageRow{Process: s.Process, Nonce: s.Nonce, ID: s.MessageID, Assignment: s.AssignmentID,
		Timestamp: s.Timestamp, BlockHeight: s.BlockHeight}
	raw := s.Message
	if raw == nil {
		// Assigned by id: the item is in another process's slots (or only on the gateway: then the row has
		// no signer nor tags).
		raw, _ = e.cfg.Log.Item(ctx, s.MessageID)
	}
	it, err := dataitem.Decode(raw)
	if err != nil {
		return nil, m
	}
	m.Owner = it.OwnerAddress()
	m.Tags = it.Tags
	m.Action, _ = it.Tag(ao.TagAction)
	m.FromProcess, _ = it.Tag(ao.TagFromProcess)
	if s.Nonce != 0 {
		return nil, m
	}
	p := &ProcessRow{ID: s.Process, Owner: m.Owner, Timestamp: s.Timestamp}
	p.Module, _ = it.Tag(ao.TagModule)
	p.Scheduler, _ = it.Tag(ao.TagScheduler)
	p.Parent = m.FromProcess
	p.Name, _ = it.Tag("Name")
	return p, m
}

// Handler serves the pages and the API (API.md); mount it under a prefix such as /explorer.
func (e *Explorer) Handler() http.Handler { return e.routes() }
