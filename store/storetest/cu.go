package storetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/aogo/aogo/cu"
)

// CUPageStore is a CU store that keeps checkpoint pages.
type CUPageStore interface {
	cu.Store
	cu.PageStore
	Close() error
}

// CUPagesOpener returns a function that opens (and, called again after Close, reopens) one fresh, empty CU
// store.
type CUPagesOpener func(t *testing.T) func() (CUPageStore, error)

// CUPages runs the checkpoint page suite (cu.PageStore) against a backend.
func CUPages(t *testing.T, newStore CUPagesOpener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open func() (CUPageStore, error))
	}{
		{"PutAndGet", testPagesPutAndGet},
		{"ListedPagesAreKept", testPagesListedKept},
		{"Prune", testPagesPrune},
		{"Reopen", testPagesReopen},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

func pageKey(i int) [32]byte { return sha256.Sum256(fmt.Appendf(nil, "page %d", i)) }

func mustOpenCU(t *testing.T, open func() (CUPageStore, error)) CUPageStore {
	t.Helper()
	s, err := open()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func putPages(t *testing.T, s cu.PageStore, ids ...int) {
	t.Helper()
	var ps []cu.Page
	for _, i := range ids {
		ps = append(ps, cu.Page{Key: pageKey(i), Data: fmt.Appendf(nil, "data %d", i)})
	}
	if err := s.PutPages(context.Background(), ps); err != nil {
		t.Fatal(err)
	}
}

func saveCheckpoint(t *testing.T, s cu.Store, pid string, seq int64, file string, ids ...int) {
	t.Helper()
	cp := cu.Checkpoint{Process: pid, Seq: seq, ModuleID: "M", MemoryHash: []byte{1}, File: file}
	for _, i := range ids {
		cp.Pages = append(cp.Pages, pageKey(i))
	}
	if err := s.SaveCheckpoint(context.Background(), cp); err != nil {
		t.Fatal(err)
	}
}

// unused is the sorted page ids (of 0..19) no checkpoint lists.
func unused(t *testing.T, s cu.PageStore) []int {
	t.Helper()
	keys, err := s.UnusedPages(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for i := range 20 {
		if slices.Contains(keys, pageKey(i)) {
			out = append(out, i)
		}
	}
	return out
}

func testPagesPutAndGet(t *testing.T, open func() (CUPageStore, error)) {
	ctx := context.Background()
	s := mustOpenCU(t, open)
	defer s.Close()
	if has, err := s.HasPage(ctx, pageKey(1)); err != nil || has {
		t.Fatalf("empty store has page: %v %v", has, err)
	}
	if _, err := s.Page(ctx, pageKey(1)); !errors.Is(err, cu.ErrNotFound) {
		t.Fatalf("missing page: %v", err)
	}
	putPages(t, s, 1, 2)
	// A key already stored keeps its data (a key names its content).
	if err := s.PutPages(ctx, []cu.Page{{Key: pageKey(1), Data: []byte("other")}}); err != nil {
		t.Fatal(err)
	}
	if has, err := s.HasPage(ctx, pageKey(1)); err != nil || !has {
		t.Fatalf("stored page: %v %v", has, err)
	}
	if p, err := s.Page(ctx, pageKey(1)); err != nil || string(p) != "data 1" {
		t.Fatalf("page 1: %q %v", p, err)
	}
}

func testPagesListedKept(t *testing.T, open func() (CUPageStore, error)) {
	ctx := context.Background()
	s := mustOpenCU(t, open)
	defer s.Close()
	putPages(t, s, 1, 2, 3, 4)
	saveCheckpoint(t, s, "P", 5, "f5", 1, 2)
	saveCheckpoint(t, s, "Q", 1, "q1", 2, 3)
	if got := unused(t, s); !slices.Equal(got, []int{4}) {
		t.Fatalf("unused %v, want [4]", got)
	}
	// Asked to delete listed pages, the store deletes only the unlisted one.
	n, err := s.DeleteUnusedPages(ctx, [][32]byte{pageKey(1), pageKey(3), pageKey(4)})
	if err != nil || n != 1 {
		t.Fatalf("deleted %d %v, want 1", n, err)
	}
	for i, want := range map[int]bool{1: true, 2: true, 3: true, 4: false} {
		if has, err := s.HasPage(ctx, pageKey(i)); err != nil || has != want {
			t.Fatalf("page %d: has %v %v, want %v", i, has, err, want)
		}
	}
	// Saving a checkpoint again at the same seq replaces its page list.
	saveCheckpoint(t, s, "P", 5, "f5", 2)
	if got := unused(t, s); !slices.Equal(got, []int{1}) {
		t.Fatalf("unused %v after replacing P/5, want [1]", got)
	}
	if cp, err := s.LatestCheckpoint(ctx, "P"); err != nil || cp.Seq != 5 || cp.File != "f5" {
		t.Fatalf("latest checkpoint %+v %v", cp, err)
	}
}

func testPagesPrune(t *testing.T, open func() (CUPageStore, error)) {
	ctx := context.Background()
	s := mustOpenCU(t, open)
	defer s.Close()
	putPages(t, s, 1, 2, 3, 4, 5, 6)
	saveCheckpoint(t, s, "P", 1, "a", 1, 2)
	saveCheckpoint(t, s, "P", 2, "shared", 2, 3)
	saveCheckpoint(t, s, "P", 3, "c", 3, 4)
	saveCheckpoint(t, s, "P", 4, "d", 4, 5)
	saveCheckpoint(t, s, "Q", 1, "shared", 6)
	files, err := s.PruneCheckpoints(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	// P keeps 3 and 4; "shared" is still named by Q's checkpoint.
	if !slices.Equal(files, []string{"a"}) {
		t.Fatalf("files no checkpoint names: %v, want [a]", files)
	}
	if got := unused(t, s); !slices.Equal(got, []int{1, 2}) {
		t.Fatalf("unused %v, want [1 2]", got)
	}
	if cp, err := s.LatestCheckpoint(ctx, "P"); err != nil || cp.Seq != 4 {
		t.Fatalf("latest %+v %v", cp, err)
	}
	if cp, err := s.LatestCheckpoint(ctx, "Q"); err != nil || cp.Seq != 1 {
		t.Fatalf("Q's latest %+v %v", cp, err)
	}
	if files, err := s.PruneCheckpoints(ctx, 2); err != nil || len(files) != 0 {
		t.Fatalf("second prune: %v %v", files, err)
	}
	saveCheckpoint(t, s, "Q", 2, "q2", 6)
	saveCheckpoint(t, s, "Q", 3, "q3")
	if files, err := s.PruneCheckpoints(ctx, 1); err != nil || !slices.Equal(files, []string{"c", "q2", "shared"}) {
		t.Fatalf("prune to 1: %v %v, want [c q2 shared]", files, err)
	}
	if got := unused(t, s); !slices.Equal(got, []int{1, 2, 3, 6}) {
		t.Fatalf("unused %v, want [1 2 3 6]", got)
	}
}

func testPagesReopen(t *testing.T, open func() (CUPageStore, error)) {
	ctx := context.Background()
	s := mustOpenCU(t, open)
	putPages(t, s, 1, 2)
	saveCheckpoint(t, s, "P", 1, "f", 1)
	s.Close()
	s = mustOpenCU(t, open)
	defer s.Close()
	if p, err := s.Page(ctx, pageKey(2)); err != nil || string(p) != "data 2" {
		t.Fatalf("page after reopen: %q %v", p, err)
	}
	if got := unused(t, s); !slices.Equal(got, []int{2}) {
		t.Fatalf("unused after reopen %v, want [2]", got)
	}
}
