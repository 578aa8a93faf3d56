package su

import (
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// metrics are the SU's counters, written as Prometheus text on /metrics.
type metrics struct {
	posts, postErrors, duplicates atomic.Int64
	slotsQueued, slotsCommitted   atomic.Int64
	commits, commitErrors         atomic.Int64
	conflicts, replaced           atomic.Int64
	commitNanos                   atomic.Int64
	uploaded, uploadErrors        atomic.Int64
	headsEvicted                  atomic.Int64
	tailPages                     atomic.Int64
}

func (m *metrics) observeCommit(d time.Duration, n int, err error) {
	m.commits.Add(1)
	m.commitNanos.Add(int64(d))
	if err != nil {
		m.commitErrors.Add(1)
	}
}

func (u *Unit) writeMetrics(w io.Writer) {
	m := &u.metrics
	line := func(name, typ, help string, v any) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %v\n", name, help, name, typ, name, v)
	}
	line("aogo_su_posts_total", "counter", "Write requests (items and assignments) received.", m.posts.Load())
	line("aogo_su_post_errors_total", "counter", "Write requests refused or failed.", m.postErrors.Load())
	line("aogo_su_duplicates_total", "counter", "Writes answered with an existing slot (same id or same pushed content).", m.duplicates.Load())
	line("aogo_su_slots_queued_total", "counter", "Slots assigned and queued for commit.", m.slotsQueued.Load())
	line("aogo_su_slots_committed_total", "counter", "Slots made durable.", m.slotsCommitted.Load())
	line("aogo_su_commits_total", "counter", "Group-commit transactions.", m.commits.Load())
	line("aogo_su_commit_errors_total", "counter", "Group-commit transactions that failed.", m.commitErrors.Load())
	line("aogo_su_commit_conflicts_total", "counter", "Commits refused because another SU replica sharing the store moved a process head.", m.conflicts.Load())
	line("aogo_su_slots_replaced_total", "counter", "Requests scheduled again on a reloaded head after their slot was refused as stale.", m.replaced.Load())
	line("aogo_su_commit_seconds_total", "counter", "Time spent in group-commit transactions.", float64(m.commitNanos.Load())/1e9)
	line("aogo_su_uploaded_items_total", "counter", "Items delivered to the data-availability layer.", m.uploaded.Load())
	line("aogo_su_upload_errors_total", "counter", "Failed upload attempts (each retried).", m.uploadErrors.Load())
	line("aogo_su_process_heads", "gauge", "Process heads (newest slot, id fingerprints) cached in memory.", u.heads())
	line("aogo_su_process_heads_evicted_total", "counter", "Idle process heads dropped from memory.", m.headsEvicted.Load())
	line("aogo_su_tail_pages_total", "counter", "Pages of the log answered from the heads' tails of newest slots, without a store read.", m.tailPages.Load())
	line("aogo_su_tail_bytes", "gauge", "Bytes held by the heads' tails of newest slots.", u.tailBytes.Load())
	line("aogo_su_block_height", "gauge", "Block height stamped on new assignments.", u.height.Load())
}
