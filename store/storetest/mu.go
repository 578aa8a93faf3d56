package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"

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
