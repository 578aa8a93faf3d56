package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/aogo/aogo/internal/testenv"
	"sync"
	"testing"
	"time"

	"github.com/aogo/aogo/mu"
	"github.com/aogo/aogo/store/postgres"
	"github.com/aogo/aogo/store/storetest"
)

func pgMUOpener(t *testing.T, maxLinks int) func() (storetest.MULinkStore, error) {
	dsn := testenv.PostgresSchemaDSN(t)
	return func() (storetest.MULinkStore, error) {
		return postgres.OpenMU(context.Background(), dsn, postgres.MUOptions{MaxLinks: maxLinks})
	}
}

func TestMUStoreSuite(t *testing.T) {
	storetest.MU(t, pgMUOpener)
	storetest.MULinks(t, pgMUOpener)
}

// TestMUStoreLeases: replicas on one database. A task belongs to the replica that created it; another cannot
// claim it while that replica's lease is live, nor advance or retry it (fencing); once the lease runs out exactly
// one of several claimers gets it, and the former owner is fenced out. Monitors move the same way, and a replica
// closed cleanly hands its monitors over at once.
func TestMUStoreLeases(t *testing.T) {
	ctx := context.Background()
	dsn := testenv.PostgresSchemaDSN(t)
	const lease = 300 * time.Millisecond
	open := func() *postgres.MUStore {
		s, err := postgres.OpenMU(ctx, dsn, postgres.MUOptions{Lease: lease})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a, b, c := open(), open(), open()
	beat := func(ss ...*postgres.MUStore) {
		t.Helper()
		for _, s := range ss {
			if err := s.Heartbeat(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	task, _, err := a.Insert(ctx, mu.Task{Key: "item:x", Kind: mu.KindMessage, Process: "p", ItemID: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b.Claim(ctx, time.Now(), 10); err != nil || len(got) != 0 {
		t.Fatalf("claimed a live replica's task: %+v %v", got, err)
	}
	if _, err := b.Advance(ctx, mu.Advance{ID: task.ID, From: mu.StageWrite, To: mu.StagePull}); !errors.Is(err, mu.ErrStale) {
		t.Fatalf("advance by a replica that does not own the task: %v", err)
	}
	if err := b.Retry(ctx, task.ID, 1, time.Time{}, "x"); !errors.Is(err, mu.ErrStale) {
		t.Fatalf("retry by a replica that does not own the task: %v", err)
	}
	// Renewed, the lease outlives its first term.
	for range 3 {
		time.Sleep(lease / 2)
		beat(a)
	}
	if got, _ := b.Claim(ctx, time.Now(), 10); len(got) != 0 {
		t.Fatalf("claimed the task of a replica that renews its lease: %+v", got)
	}
	// a dies: its lease runs out, and of two racing claimers one gets the task.
	time.Sleep(lease + 50*time.Millisecond)
	beat(b, c)
	var wg sync.WaitGroup
	got := make([][]mu.Task, 2)
	for i, s := range []*postgres.MUStore{b, c} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], _ = s.Claim(ctx, time.Now(), 10)
		}()
	}
	wg.Wait()
	if len(got[0])+len(got[1]) != 1 {
		t.Fatalf("claims after expiry: b %d, c %d; want one in all", len(got[0]), len(got[1]))
	}
	winner, loser := b, c
	if len(got[1]) == 1 {
		winner, loser = c, b
	}
	if _, err := a.Advance(ctx, mu.Advance{ID: task.ID, From: mu.StageWrite, To: mu.StageDone, Children: []mu.Task{{Key: "t/m0", Kind: mu.KindPush, ItemID: "y"}}}); !errors.Is(err, mu.ErrStale) {
		t.Fatalf("advance by the replica that lost the task: %v", err)
	}
	if err := winner.Retry(ctx, task.ID, 1, time.Now().Add(time.Hour), "later"); err != nil {
		t.Fatal(err)
	}
	kids, err := winner.Advance(ctx, mu.Advance{ID: task.ID, From: mu.StageWrite, To: mu.StageDone, Children: []mu.Task{{Key: "t/m0", Kind: mu.KindPush, ItemID: "y"}}})
	if err != nil || len(kids) != 1 {
		t.Fatalf("advance by the new owner: %v %v", kids, err)
	}
	// The child is the new owner's: a, back to life, cannot advance it.
	beat(a)
	if _, err := a.Advance(ctx, mu.Advance{ID: kids[0].ID, From: mu.StageWrite, To: mu.StageDone}); !errors.Is(err, mu.ErrStale) {
		t.Fatalf("advance of another replica's child: %v", err)
	}

	// Monitors: the creator holds it; after its lease runs out exactly one other replica does.
	if err := a.PutMonitor(ctx, mu.Monitor{Process: "clock", Cursor: "c0"}); err != nil {
		t.Fatal(err)
	}
	if mons, _ := b.LeaseMonitors(ctx); len(mons) != 0 {
		t.Fatalf("b took a live replica's monitor: %+v", mons)
	}
	if mons, _ := a.LeaseMonitors(ctx); len(mons) != 1 || mons[0].Cursor != "c0" {
		t.Fatalf("a's monitors: %+v", mons)
	}
	time.Sleep(lease + 50*time.Millisecond)
	beat(b, c)
	held := make([]int, 2)
	for i, s := range []*postgres.MUStore{winner, loser} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mons, _ := s.LeaseMonitors(ctx)
			held[i] = len(mons)
		}()
	}
	wg.Wait()
	if held[0]+held[1] != 1 {
		t.Fatalf("monitor holders after expiry: %v", held)
	}
	if _, err := a.AdvanceMonitor(ctx, "clock", "c0", "c1", nil); !errors.Is(err, mu.ErrStale) {
		t.Fatalf("advance monitor by its former holder: %v", err)
	}
	// A clean close hands over at once, without waiting for the lease.
	holder, other := winner, loser
	if held[1] == 1 {
		holder, other = loser, winner
	}
	holder.Close()
	if mons, _ := other.LeaseMonitors(ctx); len(mons) != 1 {
		t.Fatalf("monitor not handed over by a clean close: %+v", mons)
	}
}

// TestMUStoreClaimSkipLocked: many replicas claiming many expired tasks at once each get distinct tasks, and
// together all of them.
func TestMUStoreClaimSkipLocked(t *testing.T) {
	ctx := context.Background()
	dsn := testenv.PostgresSchemaDSN(t)
	var stores []*postgres.MUStore
	for i := range 4 {
		lease := time.Minute // the claimers keep what they claim for the whole test
		if i == 0 {
			lease = 100 * time.Millisecond // the replica that dies
		}
		s, err := postgres.OpenMU(ctx, dsn, postgres.MUOptions{Lease: lease})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores = append(stores, s)
	}
	const n = 200
	for i := range n {
		if _, _, err := stores[0].Insert(ctx, mu.Task{Key: fmt.Sprint("item:", i), Kind: mu.KindMessage, Process: "p", ItemID: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(150 * time.Millisecond)
	var mu_ sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for _, s := range stores[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := s.Claim(ctx, time.Now(), 7)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu_.Lock()
				for _, t := range got {
					seen[t.ID]++
				}
				mu_.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("claimed %d distinct tasks, want %d", len(seen), n)
	}
	for id, k := range seen {
		if k != 1 {
			t.Fatalf("task %d claimed %d times", id, k)
		}
	}
}
