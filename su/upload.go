package su

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/aogo/aogo/dataitem"
)

// maxUploadBytes bounds one bundled upload; a single larger item goes alone.
const maxUploadBytes = 8 << 20

// uploadLoop drains the durable upload queue to the Uploader, oldest first. A failed upload is retried with
// exponential backoff (UploadBackoffMin doubling up to UploadBackoffMax) and never dropped; the queue lives in
// the store, so a restart resumes it.
func (u *Unit) uploadLoop(ctx context.Context) {
	backoff := u.cfg.UploadBackoffMin
	idle := time.NewTimer(0)
	defer idle.Stop()
	for {
		n, err := u.uploadOnce(ctx)
		wait := time.Duration(0)
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return
			}
			u.metrics.uploadErrors.Add(1)
			u.log.Warn("upload failed; will retry", "in", backoff, "err", err)
			wait = backoff
			backoff = min(2*backoff, u.cfg.UploadBackoffMax)
		case n >= u.cfg.UploadBatch*8:
			backoff = u.cfg.UploadBackoffMin
			continue // a full read: more may be queued
		default:
			backoff = u.cfg.UploadBackoffMin
			wait = time.Second // poll now and then; commits also wake us
		}
		idle.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-idle.C:
		case <-u.uploadCh:
			if err != nil {
				// New work does not shorten a backoff: wait it out.
				select {
				case <-ctx.Done():
					return
				case <-idle.C:
				}
			} else if u.cfg.UploadLinger > 0 {
				// Let the items committed in the next moments join this upload.
				idle.Reset(u.cfg.UploadLinger)
				select {
				case <-ctx.Done():
					return
				case <-idle.C:
				}
			} else {
				idle.Stop() // since Go 1.23 a stopped timer's channel holds no stale tick
			}
		}
	}
}

// uploadOnce sends one round of queued items: bundles of up to UploadBatch items (or one item at a time when
// UploadBatch is 1). It returns how many items reached the Uploader.
func (u *Unit) uploadOnce(ctx context.Context) (int, error) {
	if d, ok := u.cfg.Store.(UploadDrainer); ok {
		// Replicas share the queue: only the drainer lock's holder sends, so no item goes out twice at once.
		// The others poll (about once a second, see uploadLoop) and take over when the holder dies.
		held, err := d.HoldUploads(ctx)
		if err != nil || !held {
			return 0, err
		}
	}
	ups, err := u.cfg.Store.PendingUploads(ctx, u.cfg.UploadBatch*8)
	if err != nil {
		return 0, fmt.Errorf("read upload queue: %w", err)
	}
	done := 0
	for len(ups) > 0 {
		n, size := 1, len(ups[0].Item)
		for n < len(ups) && n < u.cfg.UploadBatch && size+len(ups[n].Item) <= maxUploadBytes {
			size += len(ups[n].Item)
			n++
		}
		group := ups[:n]
		ups = ups[n:]
		body := group[0].Item
		if n > 1 {
			items := make([][]byte, n)
			for i, up := range group {
				items[i] = up.Item
			}
			var buf bytes.Buffer
			buf.Grow(size + 32 + 64*n)
			if err := dataitem.WriteBundleRaw(&buf, items); err != nil {
				return done, fmt.Errorf("bundle %d queued items: %w", n, err)
			}
			body = buf.Bytes()
		}
		uctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		err := u.cfg.Uploader.Upload(uctx, body)
		cancel()
		if err != nil {
			return done, fmt.Errorf("upload %d items: %w", n, err)
		}
		seqs := make([]int64, n)
		for i, up := range group {
			seqs[i] = up.Seq
		}
		if err := u.cfg.Store.DeleteUploads(ctx, seqs); err != nil {
			return done, fmt.Errorf("dequeue %d uploaded items: %w", n, err)
		}
		done += n
		u.metrics.uploaded.Add(int64(n))
	}
	return done, nil
}
