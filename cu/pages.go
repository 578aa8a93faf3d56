package cu

import (
	"bytes"
	"compress/flate"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/aogo/aogo/vm"
)

// Content-addressed checkpoint pages
//
// A checkpoint of a process holding a model used to write the whole non-zero memory (the weights) into its
// snapshot file, every time. With a store that implements PageStore, a checkpoint is a paged snapshot
// (vm.PagedSnapshotter): its file holds the state and a page table, the 64 KiB pages are rows keyed by their
// memory-hash leaf (a SHA-256 over their chunks' SHA-256s), each stored once whatever number of checkpoints
// use it, and the checkpoint row lists the keys it uses. The first checkpoint stores the weights; the next
// ones store only the pages that changed. Pages are flate-compressed (aos heaps shrink ~10x, weights do not).
//
// Garbage: every gcEvery checkpoints, collectGarbage drops all checkpoints of a process but its keepCheckpoints
// latest (and their files when no checkpoint names them any more), then the pages no checkpoint lists, in
// batches of gcBatch. A checkpoint in flight has not listed its pages yet, so it pins every key it uses from
// its first lookup until its row is saved: the collector never deletes a pinned page, and the store deletes a
// page only if no checkpoint lists it at that moment. A crash leaves at most unlisted pages or unnamed files,
// which the next collection removes (files: only those of pruned checkpoints; see collectGarbage).

// PageStore is a Store that also keeps checkpoint memory pages by key (see above).
type PageStore interface {
	// HasPage reports whether the page is stored.
	HasPage(ctx context.Context, key [32]byte) (bool, error)
	// PutPages stores pages (data as given: opaque to the store); a key already stored is kept.
	PutPages(ctx context.Context, pages []Page) error
	// Page returns the data stored for key, or an error wrapping ErrNotFound.
	Page(ctx context.Context, key [32]byte) ([]byte, error)
	// PruneCheckpoints deletes all checkpoints of every process but its keep latest (keep >= 1), with the
	// pages they list, and returns the files the deleted ones named that no remaining checkpoint names.
	PruneCheckpoints(ctx context.Context, keep int) ([]string, error)
	// UnusedPages returns up to limit keys no checkpoint lists.
	UnusedPages(ctx context.Context, limit int) ([][32]byte, error)
	// DeleteUnusedPages deletes those of keys no checkpoint lists (checked as each is deleted) and returns
	// how many it deleted.
	DeleteUnusedPages(ctx context.Context, keys [][32]byte) (int, error)
}

// Page is one stored memory page.
type Page struct {
	Key  [32]byte
	Data []byte
}

const (
	keepCheckpoints = 2    // per process: the latest, and one before it
	gcEvery         = 16   // checkpoints between collections
	gcBatch         = 4096 // pages per deletion (256 MiB uncompressed)
	putBatch        = 64   // pages per PutPages (4 MiB uncompressed)
)

// pins counts the keys checkpoints in flight use (see above).
type pins struct {
	mu sync.Mutex
	n  map[[32]byte]int
}

func (p *pins) add(k [32]byte) {
	p.mu.Lock()
	if p.n == nil {
		p.n = map[[32]byte]int{}
	}
	p.n[k]++
	p.mu.Unlock()
}

func (p *pins) drop(keys [][32]byte) {
	p.mu.Lock()
	for _, k := range keys {
		if p.n[k]--; p.n[k] <= 0 {
			delete(p.n, k)
		}
	}
	p.mu.Unlock()
}

// pageWriter is the vm.PageStore a checkpoint's paged snapshot writes to: it pins and records every key,
// batches new pages, compresses them.
type pageWriter struct {
	ctx   context.Context
	s     PageStore
	pins  *pins
	keys  [][32]byte
	batch []Page
	new   map[[32]byte]bool // in batch or put by this writer
	bytes int64             // compressed bytes put
	fw    *flate.Writer
}

func (w *pageWriter) HasPage(k [32]byte) (bool, error) {
	w.pins.add(k)
	w.keys = append(w.keys, k)
	if w.new[k] {
		return true, nil
	}
	return w.s.HasPage(w.ctx, k)
}

func (w *pageWriter) PutPage(k [32]byte, p []byte) error {
	var buf bytes.Buffer
	if w.fw == nil {
		w.fw, _ = flate.NewWriter(&buf, flate.BestSpeed)
	} else {
		w.fw.Reset(&buf)
	}
	if _, err := w.fw.Write(p); err != nil {
		return err
	}
	if err := w.fw.Close(); err != nil {
		return err
	}
	if w.new == nil {
		w.new = map[[32]byte]bool{}
	}
	w.new[k] = true
	w.batch = append(w.batch, Page{Key: k, Data: buf.Bytes()})
	w.bytes += int64(buf.Len())
	if len(w.batch) >= putBatch {
		return w.flush()
	}
	return nil
}

func (w *pageWriter) Page(k [32]byte) ([]byte, error) { return nil, vm.ErrPageNotFound }

func (w *pageWriter) flush() error {
	if len(w.batch) == 0 {
		return nil
	}
	if err := w.s.PutPages(w.ctx, w.batch); err != nil {
		return fmt.Errorf("store checkpoint pages: %w", err)
	}
	w.batch = w.batch[:0]
	return nil
}

// pageReader is the vm.PageStore a paged snapshot restores from.
type pageReader struct {
	ctx context.Context
	s   PageStore
}

func (r pageReader) HasPage(k [32]byte) (bool, error)   { return r.s.HasPage(r.ctx, k) }
func (r pageReader) PutPage(k [32]byte, p []byte) error { return fmt.Errorf("read-only page store") }

func (r pageReader) Page(k [32]byte) ([]byte, error) {
	z, err := r.s.Page(r.ctx, k)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", vm.ErrPageNotFound, err)
	}
	// A page is 64 KiB: read one byte more to tell a longer (corrupt) one.
	p, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(z)), 1<<16+1))
	if err != nil {
		return nil, fmt.Errorf("page %x: %w", k, err)
	}
	return p, nil
}

// pageStore is the store's PageStore, nil when it has none (checkpoints are then whole snapshots).
func (c *CU) pageStore() PageStore {
	ps, _ := c.cfg.Store.(PageStore)
	return ps
}

// pagedRestorer is a Machines that restores paged snapshots (the default one does).
type pagedRestorer interface {
	RestorePaged(format string, wasm []byte, opts vm.Options, snapshot io.Reader, pages vm.PageStore) (vm.Machine, error)
}

func (registry) RestorePaged(format string, wasm []byte, opts vm.Options, snap io.Reader, pages vm.PageStore) (vm.Machine, error) {
	return vm.RestorePaged(format, wasm, opts, snap, pages)
}

// maybeCollect runs collectGarbage every gcEvery checkpoints; a failure is logged (the next one retries).
func (c *CU) maybeCollect(ctx context.Context) {
	if c.pageStore() == nil || c.cpSinceGC.Add(1)%gcEvery != 0 {
		return
	}
	if err := c.collectGarbage(ctx); err != nil {
		c.log.Warn("checkpoint garbage collection", "err", err)
	}
}

// collectGarbage prunes old checkpoints, removes the snapshot files no checkpoint names any more and deletes
// the pages no checkpoint lists, gcBatch at a time, never a pinned one.
func (c *CU) collectGarbage(ctx context.Context) error {
	ps := c.pageStore()
	if ps == nil {
		return nil
	}
	c.gcMu.Lock() // one collection at a time
	defer c.gcMu.Unlock()
	ctx = context.WithoutCancel(ctx)
	files, err := ps.PruneCheckpoints(ctx, keepCheckpoints)
	if err != nil {
		return err
	}
	for _, f := range files {
		if filepath.Base(f) != f || f == "" || f[0] == '.' {
			continue // not a name we wrote
		}
		if err := os.Remove(filepath.Join(c.cfg.DataDir, "snapshots", f)); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("remove snapshot %s: %w", f, err)
		}
	}
	for {
		keys, err := ps.UnusedPages(ctx, gcBatch)
		if err != nil {
			return err
		}
		if len(keys) == 0 {
			return nil
		}
		c.pins.mu.Lock()
		free := keys[:0]
		for _, k := range keys {
			if c.pins.n[k] == 0 {
				free = append(free, k)
			}
		}
		n, err := ps.DeleteUnusedPages(ctx, free)
		c.pins.mu.Unlock()
		if err != nil {
			return err
		}
		c.metrics.pagesCollected.Add(int64(n))
		if len(keys) < gcBatch || n == 0 {
			return nil
		}
	}
}
