package su_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/internal/testenv"
	"github.com/aogo/aogo/store/postgres"
	"github.com/aogo/aogo/store/sqlite"
	"github.com/aogo/aogo/su"
)

// countingUploader records how many times each item id reaches the data-availability layer (single items and
// bundles alike).
type countingUploader struct {
	mu   sync.Mutex
	seen map[string]int
}

func (c *countingUploader) Upload(ctx context.Context, raw []byte) error {
	var items []*dataitem.Item
	if it, err := dataitem.Decode(raw); err == nil && it.Verify() == nil {
		items = []*dataitem.Item{it}
	} else if items, err = dataitem.VerifyBundle(raw); err != nil {
		return fmt.Errorf("neither an item nor a bundle: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, it := range items {
		c.seen[it.ID()]++
	}
	return nil
}

func (c *countingUploader) counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.seen))
	for k, v := range c.seen {
		out[k] = v
	}
	return out
}

// startReplica runs one SU with the shared wallet on a store open returns (one database for every replica).
func startReplica(t *testing.T, open func() (su.Store, error), up su.Uploader) (*su.Unit, *client.SU, su.Store, string) {
	t.Helper()
	store, err := open()
	if err != nil {
		t.Fatal(err)
	}
	cfg := su.Config{Wallet: suWallet, Store: store, UploadBatch: 8, UploadLinger: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), OperatorToken: testOperatorToken}
	if up != nil {
		cfg.Uploader = up
	}
	if _, shared := store.(interface{ Shared() bool }); !shared {
		cfg.Replicated = true // SQLite: two writers on one file, as the fence allows
	}
	u, err := su.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- u.Run(ctx) }()
	srv := httptest.NewServer(u.Handler())
	t.Cleanup(func() {
		srv.Close()
		cancel()
		<-done
		store.Close()
	})
	return u, client.NewSU(srv.URL, nil), store, srv.URL
}

// TestReplicasShareProcesses runs two SU replicas (one wallet) on one PostgreSQL database and writes to the
// same processes through both at once, alternating, with some messages posted to both replicas. Every
// acknowledged message must be in its log exactly once, at the slot it was answered with, the logs dense with a
// valid hash chain and valid assignment signatures, both replicas must read the same logs, and the upload
// queue must deliver every process, message and assignment exactly once across the two drainers.
func TestReplicasShareProcesses(t *testing.T) {
	dsn := testenv.PostgresSchemaDSN(t)
	open := func() (su.Store, error) { return postgres.OpenSU(context.Background(), dsn) }
	store, err := open()
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, ok := store.(su.UploadDrainer); !ok || !store.(interface{ Shared() bool }).Shared() {
		t.Fatal("the PostgreSQL store does not report itself shared, with an upload drainer lock")
	}
	testReplicas(t, open, &countingUploader{seen: map[string]int{}})
}

// TestReplicasOnSQLite runs the same writes through two SUs on one SQLite file (two writers, which SQLite
// serialises): the store's fence and the SU's re-placement keep the logs exact without PostgreSQL. SQLite has no
// drainer lock, so the upload queue is not drained here.
func TestReplicasOnSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "su.db")
	testReplicas(t, func() (su.Store, error) { return sqlite.OpenSU(path) }, nil)
}

func testReplicas(t *testing.T, open func() (su.Store, error), up *countingUploader) {
	var uploader su.Uploader
	if up != nil {
		uploader = up
	}
	a, ca, store, urlA := startReplica(t, open, uploader)
	_, cb, _, urlB := startReplica(t, open, uploader)
	replicas := []*client.SU{ca, cb}
	ctx := ctxT(t)

	var pids []string
	for i := range 3 {
		raw := processItem(t, userWallet, a.Address(), tag("Name", fmt.Sprint(i)))
		res, err := replicas[i%2].Post(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, res.ID)
	}

	const writers, per = 4, 20
	type ack struct {
		pid       string
		timestamp int64 // the slot's (unique in its process)
	}
	var mu sync.Mutex
	acked := map[string]ack{} // message id -> the slot it was answered with
	busy := 0
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range per {
				pid := pids[(w+i)%len(pids)]
				raw := messageItem(t, userWallet, pid, fmt.Sprintf("w%d m%d", w, i))
				targets := []*client.SU{replicas[(w+i)%2]}
				if i%5 == 0 {
					targets = replicas // the same item through both replicas at once
				}
				var twg sync.WaitGroup
				for _, c := range targets {
					twg.Go(func() {
						res, err := c.Post(ctx, raw)
						mu.Lock()
						defer mu.Unlock()
						switch {
						case err == nil:
							got := ack{pid, res.Timestamp}
							if prev, ok := acked[res.ID]; ok && prev != got {
								t.Errorf("message %s answered with slots %v and %v", res.ID, prev, got)
							}
							acked[res.ID] = got
						case client.IsSUStatus(err, 503):
							busy++ // contention outlasted the retries: refused, not acknowledged
						default:
							t.Errorf("post: %v", err)
						}
					})
				}
				twg.Wait()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	inLog := map[string]int{}
	for _, pid := range pids {
		logA, logB := readLog(t, ca, pid, 7), readLog(t, cb, pid, 100)
		if len(logA) != len(logB) {
			t.Fatalf("process %s: replica A reads %d slots, B %d", pid, len(logA), len(logB))
		}
		for i := range logA {
			if logA[i].Assignment.ID != logB[i].Assignment.ID {
				t.Fatalf("process %s slot %d differs between the replicas", pid, i)
			}
		}
		if err := client.VerifySULog(pid, logA); err != nil {
			t.Fatalf("process %s: %v", pid, err)
		}
		for _, m := range logA {
			if m.Assignment.Owner.Key != dataitem.B64(suWallet.Owner()) {
				t.Fatalf("process %s slot %d signed by another key", pid, m.Nonce())
			}
			inLog[m.MessageID()]++
			if want, ok := acked[m.MessageID()]; ok && (want.pid != pid || want.timestamp != m.Timestamp()) {
				t.Fatalf("message %s is at %s/%d, answered %s/%d", m.MessageID(), pid, m.Timestamp(), want.pid, want.timestamp)
			}
		}
	}
	for id := range acked {
		if inLog[id] != 1 {
			t.Fatalf("acknowledged message %s is %d times in the logs", id, inLog[id])
		}
	}
	total := 0
	for id, n := range inLog {
		if n != 1 {
			t.Fatalf("item %s is %d times in the logs", id, n)
		}
		total++
	}
	var conflicts, replaced int64
	for _, base := range []string{urlA, urlB} {
		conflicts += metric(t, base, "aogo_su_commit_conflicts_total")
		replaced += metric(t, base, "aogo_su_slots_replaced_total")
	}
	t.Logf("%d slots, %d acknowledged messages, %d refused as busy; %d commit conflicts, %d requests placed again",
		total, len(acked), busy, conflicts, replaced)

	// A replica's tail of its own newest slots is not the log's end: a page from inside it must still show
	// what the other replica wrote after them.
	var first client.SUPosted
	for i := range 3 {
		res, err := ca.Post(ctx, messageItem(t, userWallet, pids[0], fmt.Sprint("tail ", i)))
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = res
		}
	}
	other, err := cb.Post(ctx, messageItem(t, userWallet, pids[0], "from the other replica"))
	if err != nil {
		t.Fatal(err)
	}
	var page []string
	for m, err := range ca.Messages(ctx, pids[0], client.SUQuery{From: first.Timestamp, Limit: 100}) {
		if err != nil {
			t.Fatal(err)
		}
		page = append(page, m.MessageID())
	}
	if len(page) != 3 || page[2] != other.ID {
		t.Fatalf("replica A pages %d slots after its own write, not ending with the other replica's %s: %v", len(page), other.ID, page)
	}
	total += 4

	if up == nil {
		return
	}
	// Every slot queued two items (message, assignment); all of them reach the uploader once.
	waitFor(t, "the upload queue to drain", func() bool {
		ups, err := store.PendingUploads(ctx, 1)
		return err == nil && len(ups) == 0
	})
	counts := up.counts()
	for _, pid := range pids {
		for _, m := range readLog(t, ca, pid, 100) {
			for _, id := range []string{m.MessageID(), m.Assignment.ID} {
				if counts[id] != 1 {
					t.Fatalf("item %s was uploaded %d times, want once", id, counts[id])
				}
			}
		}
	}
	if len(counts) != 2*total {
		t.Fatalf("%d items uploaded, want %d (message and assignment per slot)", len(counts), 2*total)
	}
}
