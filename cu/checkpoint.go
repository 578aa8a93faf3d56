package cu

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/aogo/aogo/vm"
)

// checkpoint snapshots p's machine to a content-addressed file (snapshots/<sha256 of the file>), its memory
// pages to the store when it keeps pages (pages.go), and records it in the store. Called with p.mu held and
// every evaluation up to p.seq-1 saved.
func (c *CU) checkpoint(ctx context.Context, p *proc) error {
	snap, err := c.snapshot(ctx, p)
	if err != nil {
		return err
	}
	return c.recordCheckpoint(ctx, p, snap)
}

// snapshotted is a snapshot not yet recorded: its memory hash, its file and, for a paged one, the keys of the
// pages it uses (pinned until recordCheckpoint or forget).
type snapshotted struct {
	memHash [32]byte
	file    string
	pages   [][32]byte
}

// forget unpins a snapshot that will not be recorded.
func (c *CU) forget(s snapshotted) { c.pins.drop(s.pages) }

// snapshot writes p's machine state to its content-addressed file (and its pages to the store).
func (c *CU) snapshot(ctx context.Context, p *proc) (snapshotted, error) {
	start := time.Now()
	defer func() { c.metrics.checkpointNanos.Add(time.Since(start).Nanoseconds()) }()
	dir := filepath.Join(c.cfg.DataDir, "snapshots")
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return snapshotted{}, fmt.Errorf("checkpoint %s: %w", p.id, err)
	}
	defer os.Remove(f.Name()) // no-op after the rename
	h := sha256.New()
	var memHash [32]byte
	var pw *pageWriter
	ps := c.pageStore()
	paged, canSnap := p.m.(vm.PagedSnapshotter)
	if _, canRestore := c.machines.(pagedRestorer); ps != nil && canSnap && canRestore {
		pw = &pageWriter{ctx: context.WithoutCancel(ctx), s: ps, pins: &c.pins}
		memHash, err = paged.SnapshotPaged(io.MultiWriter(f, h), pw)
		if err == nil {
			err = pw.flush()
		}
	} else {
		memHash, err = p.m.Snapshot(io.MultiWriter(f, h))
	}
	var s snapshotted
	if pw != nil {
		s.pages = pw.keys
		c.metrics.pagesStored.Add(int64(len(pw.new)))
		c.metrics.pageBytes.Add(pw.bytes)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		c.forget(s)
		return snapshotted{}, fmt.Errorf("checkpoint %s: snapshot: %w", p.id, err)
	}
	s.memHash, s.file = memHash, hex.EncodeToString(h.Sum(nil))
	if err := os.Rename(f.Name(), filepath.Join(dir, s.file)); err != nil {
		c.forget(s)
		return snapshotted{}, fmt.Errorf("checkpoint %s: %w", p.id, err)
	}
	return s, nil
}

// recordCheckpoint saves the checkpoint row of a snapshot taken at p's current position, and unpins its
// pages. Every evaluation up to it must be saved already.
func (c *CU) recordCheckpoint(ctx context.Context, p *proc, s snapshotted) error {
	defer c.forget(s)
	cron, err := json.Marshal(p.cron)
	if err != nil {
		return err
	}
	// The row must not reach the store before the evaluations up to it: a restart resumes after it.
	if err := c.save(ctx); err != nil {
		return fmt.Errorf("checkpoint %s: %w", p.id, err)
	}
	cp := Checkpoint{Process: p.id, ModuleID: p.mod.ID, Seq: p.seq - 1, Nonce: p.chain.Nonce,
		Timestamp: p.lastTs, BlockHeight: p.lastHeight, HashChain: p.chain.HashChain,
		AssignmentID: p.chain.AssignmentID, Cron: cron, MemoryHash: s.memHash[:], File: s.file, Pages: s.pages}
	if err := c.cfg.Store.SaveCheckpoint(context.WithoutCancel(ctx), cp); err != nil {
		return fmt.Errorf("checkpoint %s: %w", p.id, err)
	}
	p.cpSeq = cp.Seq
	c.metrics.checkpoints.Add(1)
	c.archive(ctx, p, false)
	c.maybeCollect(ctx)
	return nil
}
