package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aogo/aogo/mu"
	"github.com/aogo/aogo/store/sqlite"
	"github.com/aogo/aogo/store/storetest"
)

func openMU(t *testing.T, path string) *sqlite.MUStore {
	t.Helper()
	st, err := sqlite.OpenMU(path)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestMUStoreGroupCommit: concurrent advances share commits, and one that fails (stale) does not undo the
// others.
func TestMUStoreGroupCommit(t *testing.T) {
	ctx := context.Background()
	st := openMU(t, filepath.Join(t.TempDir(), "mu.db"))
	defer st.Close()
	const n = 64
	ids := make([]int64, n)
	for i := range ids {
		tk, _, err := st.Insert(ctx, mu.Task{Key: fmt.Sprint("k", i), Kind: mu.KindPush})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = tk.ID
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			from := mu.StageWrite
			if i%2 == 1 {
				from = mu.StagePull // stale on purpose
			}
			_, errs[i] = st.Advance(ctx, mu.Advance{ID: ids[i], From: from, To: mu.StageDone, Children: []mu.Task{{Key: fmt.Sprint("child", i), Kind: mu.KindPush}}})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if (i%2 == 1) != errors.Is(err, mu.ErrStale) {
			t.Fatalf("advance %d: %v", i, err)
		}
	}
	pending, err := st.Pending(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// n/2 stale parents still at write, n/2 children of the successful ones.
	kids := 0
	for _, p := range pending {
		if len(p.Key) > 5 && p.Key[:5] == "child" {
			kids++
		}
	}
	if len(pending) != n || kids != n/2 {
		t.Fatalf("pending %d (children %d), want %d (%d)", len(pending), kids, n, n/2)
	}
}

// TestMUStoreLazyDone: an advance to done that creates no children returns before it is durable; it rides
// with the next durable commit, or is committed on its own within the linger, and is never lost by Close.
func TestMUStoreLazyDone(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "mu.db")
	st := openMU(t, path)
	insert := func(key string) mu.Task {
		tk, _, err := st.Insert(ctx, mu.Task{Key: key, Kind: mu.KindMessage, Stage: mu.StagePull})
		if err != nil {
			t.Fatal(err)
		}
		return tk
	}
	stage := func(id int64) mu.Stage {
		tk, err := st.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return tk.Stage
	}
	a, b, c := insert("a"), insert("b"), insert("c")
	// Rides with a durable op: once that one returns, the lazy one (queued before it) is committed too.
	if _, err := st.Advance(ctx, mu.Advance{ID: a.ID, From: mu.StagePull, To: mu.StageDone}); err != nil {
		t.Fatal(err)
	}
	insert("d")
	if got := stage(a.ID); got != mu.StageDone {
		t.Fatalf("lazy advance not committed with the next commit: stage %s", got)
	}
	// Alone: committed after the linger.
	if _, err := st.Advance(ctx, mu.Advance{ID: b.ID, From: mu.StagePull, To: mu.StageDone}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); stage(b.ID) != mu.StageDone; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("lazy advance never committed")
		}
	}
	// A stale lazy advance changes nothing; Close commits what is queued.
	if _, err := st.Advance(ctx, mu.Advance{ID: b.ID, From: mu.StagePull, To: mu.StageDone}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Advance(ctx, mu.Advance{ID: c.ID, From: mu.StagePull, To: mu.StageDone}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	st = openMU(t, path)
	defer st.Close()
	counts, err := st.Counts(ctx)
	if err != nil || counts[mu.StageDone] != 3 || counts[mu.StagePull] != 1 {
		t.Fatalf("after reopen: %v %v", counts, err)
	}
}

// TestMUStoreDepthMigration: a store made before tasks kept their cascade depth opens, its tasks read back at
// depth 0, and new tasks keep theirs.
func TestMUStoreDepthMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "mu.db")
	old, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Exec(`CREATE TABLE mu_tasks (id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE,
		kind TEXT NOT NULL, stage TEXT NOT NULL, process TEXT NOT NULL, item_id TEXT NOT NULL, item BLOB,
		origin TEXT NOT NULL, parent INTEGER NOT NULL, base_layer INTEGER NOT NULL, exclude TEXT NOT NULL,
		is_cast INTEGER NOT NULL, assign_to TEXT NOT NULL, attempts INTEGER NOT NULL, next_at INTEGER NOT NULL,
		last_error TEXT NOT NULL, created INTEGER NOT NULL, updated INTEGER NOT NULL);
		INSERT INTO mu_tasks (key, kind, stage, process, item_id, origin, parent, base_layer, exclude, is_cast,
		assign_to, attempts, next_at, last_error, created, updated)
		VALUES ('item:old', 'message', 'write', 'p', 'old', 'old', 0, 0, '', 0, '', 0, 0, '', 1, 1)`); err != nil {
		t.Fatal(err)
	}
	old.Close()
	st := openMU(t, path)
	defer st.Close()
	if _, _, err := st.Insert(ctx, mu.Task{Key: "t1/m0", Kind: mu.KindPush, Process: "p", ItemID: "x", Depth: 7}); err != nil {
		t.Fatal(err)
	}
	pending, err := st.Pending(ctx)
	if err != nil || len(pending) != 2 || pending[0].Depth != 0 || pending[1].Depth != 7 {
		t.Fatalf("pending after the migration: %+v %v", pending, err)
	}
}

func TestMUStoreSuite(t *testing.T) {
	storetest.MU(t, sqliteMUOpener)
	storetest.MULinks(t, sqliteMUOpener)
}

func sqliteMUOpener(t *testing.T, maxLinks int) func() (storetest.MULinkStore, error) {
	path := filepath.Join(t.TempDir(), "mu.db")
	return func() (storetest.MULinkStore, error) {
		s, err := sqlite.OpenMU(path)
		if err != nil {
			return nil, err
		}
		s.SetMaxLinks(maxLinks)
		return s, nil
	}
}

// TestMUStoreLinkQueriesUseIndexes: the explorer asks for links by parent and by child on tables of a million
// rows; both must be index lookups, never scans.
func TestMUStoreLinkQueriesUseIndexes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mu.db")
	openMU(t, path).Close()
	db2, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	for _, q := range []string{`SELECT * FROM mu_links WHERE parent = 'x' ORDER BY seq LIMIT 10`, `SELECT * FROM mu_links WHERE child = 'x' ORDER BY seq LIMIT 10`} {
		rows, err := db2.Query(`EXPLAIN QUERY PLAN ` + q)
		if err != nil {
			t.Fatal(err)
		}
		plan := ""
		for rows.Next() {
			var id, parent, unused int
			var detail string
			rows.Scan(&id, &parent, &unused, &detail)
			plan += detail + "; "
		}
		rows.Close()
		if !strings.Contains(plan, "USING INDEX") || strings.Contains(plan, "TEMP B-TREE") {
			t.Errorf("%s: plan %q, want an index lookup without a sort", q, plan)
		}
	}
}
