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
)

// checkpoint snapshots p's machine to a content-addressed file (snapshots/<sha256 of the file>) and records it
// in the store. Called with p.mu held and every evaluation up to p.seq-1 saved.
func (c *CU) checkpoint(ctx context.Context, p *proc) error {
	memHash, name, err := c.snapshot(p)
	if err != nil {
		return err
	}
	return c.recordCheckpoint(ctx, p, memHash, name)
}

// snapshot writes p's machine state to its content-addressed file and returns the memory hash and file name.
func (c *CU) snapshot(p *proc) ([32]byte, string, error) {
	start := time.Now()
	defer func() { c.metrics.checkpointNanos.Add(time.Since(start).Nanoseconds()) }()
	dir := filepath.Join(c.cfg.DataDir, "snapshots")
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return [32]byte{}, "", fmt.Errorf("checkpoint %s: %w", p.id, err)
	}
	defer os.Remove(f.Name()) // no-op after the rename
	h := sha256.New()
	memHash, err := p.m.Snapshot(io.MultiWriter(f, h))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return [32]byte{}, "", fmt.Errorf("checkpoint %s: snapshot: %w", p.id, err)
	}
	name := hex.EncodeToString(h.Sum(nil))
	if err := os.Rename(f.Name(), filepath.Join(dir, name)); err != nil {
		return [32]byte{}, "", fmt.Errorf("checkpoint %s: %w", p.id, err)
	}
	return memHash, name, nil
}

// recordCheckpoint saves the checkpoint row of a snapshot taken at p's current position. Every evaluation up
// to it must be saved already.
func (c *CU) recordCheckpoint(ctx context.Context, p *proc, memHash [32]byte, name string) error {
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
		AssignmentID: p.chain.AssignmentID, Cron: cron, MemoryHash: memHash[:], File: name}
	if err := c.cfg.Store.SaveCheckpoint(context.WithoutCancel(ctx), cp); err != nil {
		return fmt.Errorf("checkpoint %s: %w", p.id, err)
	}
	p.cpSeq = cp.Seq
	c.metrics.checkpoints.Add(1)
	c.archive(ctx, p, false)
	return nil
}
