// Package storetest holds the test suites every store backend must pass. Each unit's suite lives in its own
// file; a backend's tests call the suite with a function that opens a fresh store.
package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/su"
)

// SUOpener returns a function that opens (and, called again after Close, reopens) one fresh, empty SU store.
type SUOpener func(t *testing.T) func() (su.Store, error)

// SU runs the Scheduler Unit store suite against a backend.
func SU(t *testing.T, newStore SUOpener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open func() (su.Store, error))
	}{
		{"Empty", testSUEmpty},
		{"CommitAndFind", testSUCommitAndFind},
		{"PageByTimestamp", testSUPageByTimestamp},
		{"PageByNonce", testSUPageByNonce},
		{"CommitIsAtomic", testSUCommitIsAtomic},
		{"UploadQueue", testSUUploadQueue},
		{"SlotUploadsByReference", testSUSlotUploads},
		{"Reopen", testSUReopen},
		{"ConcurrentCommits", testSUConcurrentCommits},
		{"HeadConflict", testSUHeadConflict},
		{"RacingWriters", testSURacingWriters},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

func mustOpen(t *testing.T, open func() (su.Store, error)) su.Store {
	t.Helper()
	s, err := open()
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func randID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return dataitem.B64(b)
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// slot makes slot n of pid with timestamps 1000+10n.
func slot(pid string, n uint64) su.Slot {
	s := su.Slot{
		Process: pid, Nonce: n, Timestamp: 1000 + 10*int64(n), BlockHeight: 7 + n, HashChain: randID(),
		AssignmentID: randID(), MessageID: randID(), Assignment: randBytes(100), Message: randBytes(200),
	}
	if n == 0 {
		s.MessageID = pid
	}
	return s
}

func sameSlot(t *testing.T, got, want su.Slot) {
	t.Helper()
	if got.Process != want.Process || got.Nonce != want.Nonce || got.Timestamp != want.Timestamp ||
		got.BlockHeight != want.BlockHeight || got.HashChain != want.HashChain || got.AssignmentID != want.AssignmentID ||
		got.MessageID != want.MessageID || got.ContentHash != want.ContentHash {
		t.Fatalf("slot fields:\n got %+v\nwant %+v", brief(got), brief(want))
	}
	if !bytes.Equal(got.Assignment, want.Assignment) || !bytes.Equal(got.Message, want.Message) {
		t.Fatalf("slot %s/%d: stored bytes differ", want.Process, want.Nonce)
	}
	if (got.Message == nil) != (want.Message == nil) {
		t.Fatalf("slot %s/%d: message nil=%v, want nil=%v", want.Process, want.Nonce, got.Message == nil, want.Message == nil)
	}
}

func brief(s su.Slot) string {
	return fmt.Sprintf("{%s #%d ts=%d h=%d chain=%s a=%s m=%s c=%q}", s.Process, s.Nonce, s.Timestamp, s.BlockHeight,
		s.HashChain, s.AssignmentID, s.MessageID, s.ContentHash)
}

func testSUEmpty(t *testing.T, open func() (su.Store, error)) {
	s := mustOpen(t, open)
	ctx := context.Background()
	pid := randID()
	if _, err := s.Last(ctx, pid); !errors.Is(err, su.ErrNotFound) {
		t.Fatalf("Last on empty store: %v, want ErrNotFound", err)
	}
	if _, err := s.Find(ctx, pid, pid); !errors.Is(err, su.ErrNotFound) {
		t.Fatalf("Find on empty store: %v, want ErrNotFound", err)
	}
	if _, err := s.FindContent(ctx, pid, "x"); !errors.Is(err, su.ErrNotFound) {
		t.Fatalf("FindContent on empty store: %v, want ErrNotFound", err)
	}
	if _, err := s.Item(ctx, pid); !errors.Is(err, su.ErrNotFound) {
		t.Fatalf("Item on empty store: %v, want ErrNotFound", err)
	}
	page, err := s.Page(ctx, pid, su.PageQuery{Limit: 10})
	if err != nil || len(page) != 0 {
		t.Fatalf("Page on empty store: %d slots, %v", len(page), err)
	}
	ups, err := s.PendingUploads(ctx, 10)
	if err != nil || len(ups) != 0 {
		t.Fatalf("PendingUploads on empty store: %d, %v", len(ups), err)
	}
}

func testSUCommitAndFind(t *testing.T, open func() (su.Store, error)) {
	s := mustOpen(t, open)
	ctx := context.Background()
	p1, p2 := randID(), randID()
	a := []su.Slot{slot(p1, 0), slot(p1, 1), slot(p1, 2)}
	b := []su.Slot{slot(p2, 0), slot(p2, 1)}
	a[2].ContentHash = "content-a2"
	b[1].Message = nil // assigned by id: no message bytes
	if err := s.Commit(ctx, []su.Slot{a[0], b[0], a[1]}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, []su.Slot{b[1], a[2]}, nil); err != nil {
		t.Fatal(err)
	}
	last, err := s.Last(ctx, p1)
	if err != nil {
		t.Fatal(err)
	}
	sameSlot(t, last, a[2])
	last, err = s.Last(ctx, p2)
	if err != nil {
		t.Fatal(err)
	}
	sameSlot(t, last, b[1])
	for _, want := range append(append([]su.Slot{}, a...), b...) {
		got, err := s.Find(ctx, want.Process, want.MessageID)
		if err != nil {
			t.Fatalf("Find by message id %s: %v", want.MessageID, err)
		}
		sameSlot(t, got, want)
		got, err = s.Find(ctx, want.Process, want.AssignmentID)
		if err != nil {
			t.Fatalf("Find by assignment id: %v", err)
		}
		sameSlot(t, got, want)
	}
	if _, err := s.Find(ctx, p2, a[1].MessageID); !errors.Is(err, su.ErrNotFound) {
		t.Fatalf("Find of p1's message in p2: %v, want ErrNotFound", err)
	}
	got, err := s.FindContent(ctx, p1, "content-a2")
	if err != nil {
		t.Fatal(err)
	}
	sameSlot(t, got, a[2])
	if _, err := s.FindContent(ctx, p2, "content-a2"); !errors.Is(err, su.ErrNotFound) {
		t.Fatalf("FindContent in another process: %v, want ErrNotFound", err)
	}
	ids := map[string]string{}
	if err := s.ScanIDs(ctx, p1, func(id, content string) { ids[id] = content }); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 3 || ids[a[2].MessageID] != "content-a2" || ids[p1] != "" {
		t.Fatalf("ScanIDs(p1) = %v", ids)
	}
	raw, err := s.Item(ctx, a[1].MessageID)
	if err != nil || !bytes.Equal(raw, a[1].Message) {
		t.Fatalf("Item: %v (equal=%v)", err, bytes.Equal(raw, a[1].Message))
	}
	if _, err := s.Item(ctx, b[1].MessageID); !errors.Is(err, su.ErrNotFound) {
		t.Fatalf("Item of an assignment-only slot: %v, want ErrNotFound", err)
	}
}

func commitChain(t *testing.T, s su.Store, pid string, n int) []su.Slot {
	t.Helper()
	slots := make([]su.Slot, n)
	for i := range slots {
		slots[i] = slot(pid, uint64(i))
	}
	if err := s.Commit(context.Background(), slots, nil); err != nil {
		t.Fatal(err)
	}
	return slots
}

func nonces(slots []su.Slot) []uint64 {
	out := make([]uint64, len(slots))
	for i, s := range slots {
		out[i] = s.Nonce
	}
	return out
}

func testSUPageByTimestamp(t *testing.T, open func() (su.Store, error)) {
	s := mustOpen(t, open)
	ctx := context.Background()
	pid := randID()
	all := commitChain(t, s, pid, 25)
	commitChain(t, s, randID(), 5) // another process must not leak in
	cases := []struct {
		name string
		q    su.PageQuery
		want []uint64
	}{
		{"all", su.PageQuery{Limit: 100}, seq(0, 24)},
		{"limit", su.PageQuery{Limit: 3}, seq(0, 2)},
		{"from exclusive", su.PageQuery{From: all[3].Timestamp, HasFrom: true, Limit: 3}, seq(4, 6)},
		{"to inclusive", su.PageQuery{From: all[3].Timestamp, HasFrom: true, To: all[5].Timestamp, HasTo: true, Limit: 100}, seq(4, 5)},
		{"between slots", su.PageQuery{From: all[3].Timestamp + 5, HasFrom: true, To: all[5].Timestamp - 1, HasTo: true, Limit: 100}, seq(4, 4)},
		{"past the end", su.PageQuery{From: all[24].Timestamp, HasFrom: true, Limit: 100}, nil},
		{"from before the process", su.PageQuery{From: 1, HasFrom: true, Limit: 2}, seq(0, 1)},
	}
	for _, c := range cases {
		got, err := s.Page(ctx, pid, c.q)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if fmt.Sprint(nonces(got)) != fmt.Sprint(c.want) {
			t.Fatalf("%s: nonces %v, want %v", c.name, nonces(got), c.want)
		}
		for _, g := range got {
			sameSlot(t, g, all[g.Nonce])
		}
	}
}

func seq(a, b uint64) []uint64 {
	var out []uint64
	for i := a; i <= b; i++ {
		out = append(out, i)
	}
	return out
}

func testSUPageByNonce(t *testing.T, open func() (su.Store, error)) {
	s := mustOpen(t, open)
	ctx := context.Background()
	pid := randID()
	commitChain(t, s, pid, 12)
	cases := []struct {
		name string
		q    su.PageQuery
		want []uint64
	}{
		{"from -1 includes the process", su.PageQuery{ByNonce: true, From: -1, HasFrom: true, Limit: 3}, seq(0, 2)},
		{"from 0 excludes it", su.PageQuery{ByNonce: true, From: 0, HasFrom: true, Limit: 3}, seq(1, 3)},
		{"range", su.PageQuery{ByNonce: true, From: 4, HasFrom: true, To: 7, HasTo: true, Limit: 100}, seq(5, 7)},
		{"to only", su.PageQuery{ByNonce: true, To: 2, HasTo: true, Limit: 100}, seq(0, 2)},
		{"past the end", su.PageQuery{ByNonce: true, From: 11, HasFrom: true, Limit: 100}, nil},
		// Every slot weighs 300 bytes (slot): the page ends with the slot that brings it past MaxBytes.
		{"max bytes ends the page", su.PageQuery{ByNonce: true, From: 0, HasFrom: true, Limit: 100, MaxBytes: 700}, seq(1, 3)},
		{"max bytes just passed", su.PageQuery{ByNonce: true, From: 0, HasFrom: true, Limit: 100, MaxBytes: 599}, seq(1, 2)},
		{"max bytes takes one slot at least", su.PageQuery{ByNonce: true, From: 0, HasFrom: true, Limit: 100, MaxBytes: 1}, seq(1, 1)},
		{"limit before max bytes", su.PageQuery{ByNonce: true, From: 0, HasFrom: true, Limit: 2, MaxBytes: 10000}, seq(1, 2)},
	}
	for _, c := range cases {
		got, err := s.Page(ctx, pid, c.q)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if fmt.Sprint(nonces(got)) != fmt.Sprint(c.want) {
			t.Fatalf("%s: nonces %v, want %v", c.name, nonces(got), c.want)
		}
	}
}

func testSUCommitIsAtomic(t *testing.T, open func() (su.Store, error)) {
	s := mustOpen(t, open)
	ctx := context.Background()
	pid := randID()
	first := commitChain(t, s, pid, 2)
	other := randID()
	// The batch holds a valid slot of another process, a queued upload and a slot that reuses nonce 1.
	bad := slot(pid, 1)
	err := s.Commit(ctx, []su.Slot{slot(other, 0), bad}, [][]byte{[]byte("upload")})
	if err == nil {
		t.Fatal("Commit of a duplicate (process, nonce) succeeded")
	}
	if _, err := s.Last(ctx, other); !errors.Is(err, su.ErrNotFound) {
		t.Fatalf("a failed Commit left a slot behind: %v", err)
	}
	if ups, _ := s.PendingUploads(ctx, 10); len(ups) != 0 {
		t.Fatalf("a failed Commit left %d uploads behind", len(ups))
	}
	last, err := s.Last(ctx, pid)
	if err != nil {
		t.Fatal(err)
	}
	sameSlot(t, last, first[1])
	// A duplicate message id in one process is refused too.
	dup := slot(pid, 2)
	dup.MessageID = first[1].MessageID
	if err := s.Commit(ctx, []su.Slot{dup}, nil); err == nil {
		t.Fatal("Commit of a message id already in the process succeeded")
	}
}

func testSUUploadQueue(t *testing.T, open func() (su.Store, error)) {
	s := mustOpen(t, open)
	ctx := context.Background()
	if err := s.Commit(ctx, []su.Slot{slot(randID(), 0)}, [][]byte{[]byte("a"), []byte("b")}); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, nil, [][]byte{[]byte("c")}); err != nil {
		t.Fatal(err)
	}
	ups, err := s.PendingUploads(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(ups) != 2 || string(ups[0].Item) != "a" || string(ups[1].Item) != "b" || ups[0].Seq >= ups[1].Seq {
		t.Fatalf("first two uploads: %+v", ups)
	}
	if err := s.DeleteUploads(ctx, []int64{ups[0].Seq, ups[1].Seq}); err != nil {
		t.Fatal(err)
	}
	ups, err = s.PendingUploads(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ups) != 1 || string(ups[0].Item) != "c" {
		t.Fatalf("after delete: %+v", ups)
	}
	if err := s.DeleteUploads(ctx, nil); err != nil {
		t.Fatalf("DeleteUploads(nil): %v", err)
	}
}

// testSUSlotUploads: a slot marked Upload queues its message (when held) and its assignment, in that order and
// in slot order, without a second copy; an unmarked slot queues nothing; items queued as they are keep their
// place among them; and the queue survives a reopen.
func testSUSlotUploads(t *testing.T, open func() (su.Store, error)) {
	s := mustOpen(t, open)
	ctx := context.Background()
	pid := randID()
	a, b, c := slot(pid, 0), slot(pid, 1), slot(pid, 2)
	a.Upload, c.Upload = true, true
	c.Message = nil // assigned by id: only its assignment is held
	if err := s.Commit(ctx, []su.Slot{a, b, c}, [][]byte{[]byte("location")}); err != nil {
		t.Fatal(err)
	}
	want := [][]byte{a.Message, a.Assignment, c.Assignment, []byte("location")}
	check := func(s su.Store, when string) []su.Upload {
		t.Helper()
		ups, err := s.PendingUploads(ctx, 10)
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if len(ups) != len(want) {
			t.Fatalf("%s: %d uploads, want %d", when, len(ups), len(want))
		}
		for i, up := range ups {
			if !bytes.Equal(up.Item, want[i]) || (i > 0 && up.Seq <= ups[i-1].Seq) {
				t.Fatalf("%s: upload %d is not the expected item (seq %d)", when, i, up.Seq)
			}
		}
		return ups
	}
	ups := check(s, "after commit")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, open)
	defer s.Close()
	check(s, "after reopen")
	if err := s.DeleteUploads(ctx, []int64{ups[0].Seq, ups[1].Seq}); err != nil {
		t.Fatal(err)
	}
	want = want[2:]
	check(s, "after delivering the first two")
}

func testSUReopen(t *testing.T, open func() (su.Store, error)) {
	s, err := open()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pid := randID()
	all := commitChain(t, s, pid, 3)
	if err := s.Commit(ctx, nil, [][]byte{[]byte("queued")}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, open)
	last, err := s.Last(ctx, pid)
	if err != nil {
		t.Fatal(err)
	}
	sameSlot(t, last, all[2])
	ups, err := s.PendingUploads(ctx, 10)
	if err != nil || len(ups) != 1 || string(ups[0].Item) != "queued" {
		t.Fatalf("upload queue after reopen: %+v, %v", ups, err)
	}
}

// testSUConcurrentCommits commits from several goroutines at once (the SU has one committer, but reads and the
// uploader run beside it) and checks nothing is lost.
func testSUConcurrentCommits(t *testing.T, open func() (su.Store, error)) {
	s := mustOpen(t, open)
	ctx := context.Background()
	const writers, per = 4, 25
	pids := make([]string, writers)
	var wg sync.WaitGroup
	errs := make(chan error, writers*2)
	for w := range writers {
		pids[w] = randID()
		wg.Add(2)
		go func() {
			defer wg.Done()
			for n := range per {
				if err := s.Commit(ctx, []su.Slot{slot(pids[w], uint64(n))}, [][]byte{[]byte("u")}); err != nil {
					errs <- err
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			for range per {
				if _, err := s.Page(ctx, pids[w], su.PageQuery{Limit: 5}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, pid := range pids {
		got, err := s.Page(ctx, pid, su.PageQuery{ByNonce: true, From: -1, HasFrom: true, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(nonces(got)) != fmt.Sprint(seq(0, per-1)) {
			t.Fatalf("process %s: nonces %v", pid, nonces(got))
		}
	}
	ups, err := s.PendingUploads(ctx, 1000)
	if err != nil || len(ups) != writers*per {
		t.Fatalf("uploads: %d, %v; want %d", len(ups), err, writers*per)
	}
}

// testSUHeadConflict: a batch whose first slot of some process does not follow that process's durable head
// (behind it, past it, or a new process not starting at 0) is refused whole with a *su.ConflictError naming
// exactly those processes, and nothing of it is written.
func testSUHeadConflict(t *testing.T, open func() (su.Store, error)) {
	s := mustOpen(t, open)
	ctx := context.Background()
	p1, p2 := randID(), randID()
	commitChain(t, s, p1, 3)
	commitChain(t, s, p2, 1)
	fresh, gap := randID(), randID()
	cases := []struct {
		name  string
		batch []su.Slot
		stale []string
	}{
		{"behind the head", []su.Slot{slot(p2, 1), slot(p1, 2), slot(p1, 3)}, []string{p1}},
		{"past the head", []su.Slot{slot(p1, 4), slot(p2, 1)}, []string{p1}},
		{"new process not at 0", []su.Slot{slot(gap, 1), slot(fresh, 0), slot(p2, 1)}, []string{gap}},
		{"several", []su.Slot{slot(p1, 1), slot(p2, 0)}, []string{p1, p2}},
	}
	for _, c := range cases {
		err := s.Commit(ctx, c.batch, [][]byte{[]byte("upload")})
		var conflict *su.ConflictError
		if !errors.As(err, &conflict) {
			t.Fatalf("%s: Commit = %v, want a *su.ConflictError", c.name, err)
		}
		want := append([]string(nil), c.stale...)
		slices.Sort(want)
		if fmt.Sprint(conflict.Processes) != fmt.Sprint(want) {
			t.Fatalf("%s: conflict names %v, want %v", c.name, conflict.Processes, want)
		}
		for pid, n := range map[string]uint64{p1: 2, p2: 0} {
			if last, err := s.Last(ctx, pid); err != nil || last.Nonce != n {
				t.Fatalf("%s: a refused batch moved %s to %d (%v)", c.name, pid, last.Nonce, err)
			}
		}
		if _, err := s.Last(ctx, fresh); !errors.Is(err, su.ErrNotFound) {
			t.Fatalf("%s: a refused batch created a process: %v", c.name, err)
		}
		if ups, _ := s.PendingUploads(ctx, 10); len(ups) != 0 {
			t.Fatalf("%s: a refused batch queued %d uploads", c.name, len(ups))
		}
	}
	if err := s.Commit(ctx, []su.Slot{slot(p2, 1), slot(fresh, 0), slot(p1, 3), slot(p1, 4)}, nil); err != nil {
		t.Fatalf("a batch on the durable heads: %v", err)
	}
}

// testSURacingWriters: two stores opened on the same database (two SU replicas) append to the same processes
// at once, each from the head it read. Every commit either lands or is refused with a *su.ConflictError (never
// another error), and the logs end dense, holding exactly the slots whose commits succeeded.
func testSURacingWriters(t *testing.T, open func() (su.Store, error)) {
	stores := []su.Store{mustOpen(t, open), mustOpen(t, open)}
	ctx := context.Background()
	pids := []string{randID(), randID()}
	const per = 15 // successful commits per writer
	var mu sync.Mutex
	landed := map[string]bool{} // assignment ids of the slots that committed
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := stores[w%2]
			for done := 0; done < per; {
				// Both processes in one batch: a conflict on either refuses both.
				var batch []su.Slot
				for _, pid := range pids {
					n := uint64(0)
					if last, err := s.Last(ctx, pid); err == nil {
						n = last.Nonce + 1
					} else if !errors.Is(err, su.ErrNotFound) {
						errs <- err
						return
					}
					batch = append(batch, slot(pid, n))
				}
				err := s.Commit(ctx, batch, nil)
				var conflict *su.ConflictError
				switch {
				case err == nil:
					mu.Lock()
					for _, sl := range batch {
						landed[sl.AssignmentID] = true
					}
					mu.Unlock()
					done++
				case errors.As(err, &conflict):
				default:
					errs <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, pid := range pids {
		got, err := stores[0].Page(ctx, pid, su.PageQuery{ByNonce: true, From: -1, HasFrom: true, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(nonces(got)) != fmt.Sprint(seq(0, 4*per-1)) {
			t.Fatalf("process %s: nonces %v", pid, nonces(got))
		}
		for _, sl := range got {
			if !landed[sl.AssignmentID] {
				t.Fatalf("process %s slot %d is not one a writer saw commit", pid, sl.Nonce)
			}
		}
	}
}
