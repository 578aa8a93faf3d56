package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aogo/aogo/mu"
)

// MULinkStore is an MU store that keeps crank links (mu.Link) and reads them back.
type MULinkStore interface {
	mu.Store
	LinksFrom(ctx context.Context, id string, limit int) ([]mu.Link, error)
	LinksTo(ctx context.Context, id string, limit int) ([]mu.Link, error)
}

// MUOpener returns a function that opens (and, called again after Close, reopens) one fresh, empty MU store
// keeping at most maxLinks links.
type MUOpener func(t *testing.T, maxLinks int) func() (MULinkStore, error)

// MULinks runs the crank-link part of the MU store suite against a backend.
func MULinks(t *testing.T, newStore MUOpener) {
	tests := []struct {
		name     string
		maxLinks int
		fn       func(t *testing.T, open func() (MULinkStore, error))
	}{
		{"RecordedWithChildren", 1000, testMULinksRecorded},
		{"CronLinks", 1000, testMULinksCron},
		{"Bounded", 10, testMULinksBounded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t, tc.maxLinks)) })
	}
}

func openMU(t *testing.T, open func() (MULinkStore, error)) MULinkStore {
	t.Helper()
	s, err := open()
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	c := &closeOnce{MULinkStore: s}
	t.Cleanup(func() { c.Close() })
	return c
}

// closeOnce lets a test close a store itself (to reopen it) and still have it closed at cleanup otherwise.
type closeOnce struct {
	MULinkStore
	once sync.Once
}

func (c *closeOnce) Close() error {
	var err error
	c.once.Do(func() { err = c.MULinkStore.Close() })
	return err
}

// testMULinksRecorded: a crank's children are linked to the cranked message; a stale advance links nothing, a
// parked child without an item is not linked, and the links survive a reopen and the pruning of done tasks.
func testMULinksRecorded(t *testing.T, open func() (MULinkStore, error)) {
	ctx := context.Background()
	s := openMU(t, open)
	root, _, err := s.Insert(ctx, mu.Task{Key: "item:transfer", Kind: mu.KindMessage, Process: "token", ItemID: "transfer"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Advance(ctx, mu.Advance{ID: root.ID, From: mu.StageWrite, To: mu.StagePull}); err != nil {
		t.Fatal(err)
	}
	kids, err := s.Advance(ctx, mu.Advance{ID: root.ID, From: mu.StagePull, To: mu.StageDone, Children: []mu.Task{
		{Key: "t1/m0", Kind: mu.KindPush, Process: "alice", ItemID: "debit"},
		{Key: "t1/m1", Kind: mu.KindPush, Process: "bob", ItemID: "credit"},
		{Key: "t1/m2", Kind: mu.KindPush, Stage: mu.StageParked, LastError: "invalid"},
		{Key: "t1/s0", Kind: mu.KindSpawn, Process: "child", ItemID: "child"},
	}})
	if err != nil || len(kids) != 4 {
		t.Fatalf("advance: %d children, %v", len(kids), err)
	}
	// The same crank again is stale and links nothing more.
	if _, err := s.Advance(ctx, mu.Advance{ID: root.ID, From: mu.StagePull, To: mu.StageDone, Children: []mu.Task{
		{Key: "t1/m9", Kind: mu.KindPush, Process: "eve", ItemID: "again"},
	}}); err == nil {
		t.Fatal("stale advance accepted")
	}
	// A grandchild: the credit notice's own result.
	if _, err := s.Advance(ctx, mu.Advance{ID: kids[1].ID, From: mu.StageWrite, To: mu.StageDone, Children: []mu.Task{
		{Key: "t3/a0.0", Kind: mu.KindAssign, Process: "carol", ItemID: "transfer"},
	}}); err != nil {
		t.Fatal(err)
	}
	check := func(s MULinkStore) {
		t.Helper()
		from, err := s.LinksFrom(ctx, "transfer", 10)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		for _, l := range from {
			got += fmt.Sprintf("%s/%s>%s/%s:%s ", l.Parent, l.ParentProcess, l.Child, l.ChildProcess, l.Kind)
			if l.Seq == 0 || l.Created.IsZero() {
				t.Errorf("link without seq or time: %+v", l)
			}
		}
		if want := "transfer/token>debit/alice:push transfer/token>credit/bob:push transfer/token>child/child:spawn "; got != want {
			t.Errorf("links from transfer:\n got %s\nwant %s", got, want)
		}
		if from, _ := s.LinksFrom(ctx, "transfer", 1); len(from) != 1 || from[0].Child != "debit" {
			t.Errorf("limit 1: %+v", from)
		}
		to, err := s.LinksTo(ctx, "credit", 10)
		if err != nil || len(to) != 1 || to[0].Parent != "transfer" {
			t.Errorf("links to credit: %+v %v", to, err)
		}
		// An assignment of the transfer onto carol, caused by the credit notice.
		to, err = s.LinksTo(ctx, "transfer", 10)
		if err != nil || len(to) != 1 || to[0].Parent != "credit" || to[0].ParentProcess != "bob" || to[0].ChildProcess != "carol" || to[0].Kind != mu.KindAssign {
			t.Errorf("links to transfer: %+v %v", to, err)
		}
		if none, err := s.LinksFrom(ctx, "unknown", 10); err != nil || len(none) != 0 {
			t.Errorf("links from an unknown id: %+v %v", none, err)
		}
	}
	check(s)
	s.Close()
	s = openMU(t, open)
	check(s)
}

func testMULinksCron(t *testing.T, open func() (MULinkStore, error)) {
	ctx := context.Background()
	s := openMU(t, open)
	if err := s.PutMonitor(ctx, mu.Monitor{Process: "clock"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AdvanceMonitor(ctx, "clock", "", "c1", []mu.Task{{Key: "cron:clock:c1/m0", Kind: mu.KindPush, Process: "bob", ItemID: "tick"}}); err != nil {
		t.Fatal(err)
	}
	to, err := s.LinksTo(ctx, "tick", 10)
	if err != nil || len(to) != 1 || to[0].Parent != "" || to[0].ParentProcess != "clock" || to[0].ChildProcess != "bob" {
		t.Fatalf("cron link: %+v %v", to, err)
	}
}

// testMULinksBounded: beyond the store's bound the oldest links go.
func testMULinksBounded(t *testing.T, open func() (MULinkStore, error)) {
	ctx := context.Background()
	s := openMU(t, open)
	for i := range 25 {
		p, _, err := s.Insert(ctx, mu.Task{Key: fmt.Sprintf("item:%d", i), Kind: mu.KindMessage, Process: "p", ItemID: fmt.Sprintf("m%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Advance(ctx, mu.Advance{ID: p.ID, From: mu.StageWrite, To: mu.StageDone, Children: []mu.Task{
			{Key: fmt.Sprintf("t%d/m0", p.ID), Kind: mu.KindPush, Process: "q", ItemID: fmt.Sprintf("c%d", i)},
		}}); err != nil {
			t.Fatal(err)
		}
	}
	kept := 0
	for i := range 25 {
		l, err := s.LinksFrom(ctx, fmt.Sprintf("m%d", i), 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(l) == 1 {
			kept++
			if i < 15 {
				t.Errorf("link of m%d kept, want only the newest 10", i)
			}
		}
	}
	if kept != 10 {
		t.Errorf("kept %d links, want 10", kept)
	}
}

// MU runs the task-queue and monitor part of the MU store suite against a backend (MULinks covers the links).
func MU(t *testing.T, newStore MUOpener) {
	t.Run("Tasks", func(t *testing.T) { testMUTasks(t, newStore(t, 1000)) })
	t.Run("Monitors", func(t *testing.T) { testMUMonitors(t, newStore(t, 1000)) })
}

// testMUTasks: insert is idempotent by key, advances are compare-and-set and insert their children once,
// retries and parked tasks are durable across a reopen, unpark and prune work.
func testMUTasks(t *testing.T, open func() (MULinkStore, error)) {
	ctx := context.Background()
	st := openMU(t, open)
	parent, ins, err := st.Insert(ctx, mu.Task{Key: "item:a", Kind: mu.KindMessage, Process: "p", ItemID: "a", Item: []byte{1, 2}, Cast: true, AssignTo: []string{"x", "y"}, Exclude: []string{"Data"}, Depth: 3})
	if err != nil || !ins || parent.ID == 0 || parent.Stage != mu.StageWrite {
		t.Fatalf("insert: %+v %v %v", parent, ins, err)
	}
	again, ins, err := st.Insert(ctx, mu.Task{Key: "item:a", Kind: mu.KindMessage})
	if err != nil || ins || again.ID != parent.ID || again.ItemID != "a" || !again.Cast || len(again.AssignTo) != 2 || again.Exclude[0] != "Data" || again.Depth != 3 {
		t.Fatalf("insert twice: %+v %v %v", again, ins, err)
	}
	kids, err := st.Advance(ctx, mu.Advance{ID: parent.ID, From: mu.StageWrite, To: mu.StageDone, Children: []mu.Task{
		{Key: "t1/m0", Kind: mu.KindPush, Item: []byte("x")}, {Key: "t1/m1", Kind: mu.KindPush, Stage: mu.StageParked, LastError: "bad tag"},
	}})
	if err != nil || len(kids) != 2 || kids[0].ID == 0 || kids[1].Stage != mu.StageParked {
		t.Fatalf("advance: %+v %v", kids, err)
	}
	// The same crank again: stale, and its children are not inserted.
	if _, err := st.Advance(ctx, mu.Advance{ID: parent.ID, From: mu.StageWrite, To: mu.StageDone, Children: []mu.Task{{Key: "t1/m2", Kind: mu.KindPush}}}); !errors.Is(err, mu.ErrStale) {
		t.Fatalf("second advance: %v, want ErrStale", err)
	}
	if err := st.Retry(ctx, kids[0].ID, 3, time.UnixMilli(5000), "boom"); err != nil {
		t.Fatal(err)
	}
	st.Close()

	st = openMU(t, open) // durable across a reopen
	pending, err := st.Pending(ctx)
	if err != nil || len(pending) != 1 || pending[0].Key != "t1/m0" || string(pending[0].Item) != "x" || pending[0].Attempts != 3 || pending[0].NextAt.UnixMilli() != 5000 || pending[0].LastError != "boom" {
		t.Fatalf("pending: %+v %v", pending, err)
	}
	if got, err := st.Get(ctx, parent.ID); err != nil || got.Stage != mu.StageDone || got.Item != nil {
		t.Fatalf("done task: %+v %v (want its item dropped)", got, err)
	}
	parked, err := st.Parked(ctx, 10)
	if err != nil || len(parked) != 1 || parked[0].LastError != "bad tag" {
		t.Fatalf("parked: %+v %v", parked, err)
	}
	counts, _ := st.Counts(ctx)
	if counts[mu.StageDone] != 1 || counts[mu.StageWrite] != 1 || counts[mu.StageParked] != 1 {
		t.Fatalf("counts %v", counts)
	}
	if err := st.Unpark(ctx, parked[0].ID, mu.StageWrite); err != nil {
		t.Fatal(err)
	}
	if err := st.Unpark(ctx, parked[0].ID, mu.StageWrite); !errors.Is(err, mu.ErrStale) {
		t.Fatalf("unpark twice: %v", err)
	}
	if n, err := st.PruneDone(ctx, time.Now().Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("prune: %d %v", n, err)
	}
	if err := st.Delete(ctx, parked[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get(ctx, parked[0].ID); err == nil {
		t.Fatal("deleted task still there")
	}
}

func testMUMonitors(t *testing.T, open func() (MULinkStore, error)) {
	ctx := context.Background()
	st := openMU(t, open)
	if err := st.PutMonitor(ctx, mu.Monitor{Process: "p", Cursor: "c0"}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutMonitor(ctx, mu.Monitor{Process: "p", Cursor: "other"}); err != nil {
		t.Fatal(err)
	}
	kids, err := st.AdvanceMonitor(ctx, "p", "c0", "c1", []mu.Task{{Key: "cron:p:c1/m0", Kind: mu.KindPush}})
	if err != nil || len(kids) != 1 {
		t.Fatalf("advance monitor: %v %v", kids, err)
	}
	if _, err := st.AdvanceMonitor(ctx, "p", "c0", "c1", []mu.Task{{Key: "cron:p:c1/m1", Kind: mu.KindPush}}); !errors.Is(err, mu.ErrStale) {
		t.Fatalf("stale cursor: %v", err)
	}
	mons, _ := st.Monitors(ctx)
	if len(mons) != 1 || mons[0].Cursor != "c1" {
		t.Fatalf("monitors %+v", mons)
	}
	if ok, _ := st.DeleteMonitor(ctx, "p"); !ok {
		t.Fatal("delete: not found")
	}
	if _, err := st.AdvanceMonitor(ctx, "p", "c1", "c2", nil); !errors.Is(err, mu.ErrStale) {
		t.Fatalf("advance deleted monitor: %v", err)
	}
	pending, _ := st.Pending(ctx)
	if len(pending) != 1 {
		t.Fatalf("pending %d, want 1 (the stale advance inserted nothing)", len(pending))
	}
}
