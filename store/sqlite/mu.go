package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aogo/aogo/internal/sqlstmt"
	"github.com/aogo/aogo/mu"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// MUStore is the Messenger Unit's durable task queue and monitor table in one SQLite file (WAL, synchronous
// FULL by default: a task the MU has acknowledged survives a crash of the process or the machine;
// WithSync(SyncNormal): of the process only).
//
// Writes that change tasks (Insert, Advance, AdvanceMonitor) are group-committed: concurrent calls are run by
// one committer goroutine in a single transaction, each inside its own savepoint (so one call's failure, e.g.
// a stale compare-and-set, undoes only its own changes), and share one commit (one fsync under SyncFull). Every
// call still returns only once its changes are durable.
type MUStore struct {
	db  *sql.DB // one connection: SQLite has one writer, and every MU query is short
	st  *sqlstmt.Cache
	now func() time.Time

	ops     chan muOp
	stopped chan struct{}

	maxLinks int64 // the most crank links kept (SetMaxLinks)
}

// DefaultMaxLinks is how many crank links (mu.Link) an MU store keeps: the oldest go first beyond it. A link
// row is about 200 bytes, so the table stays under a few hundred MB.
const DefaultMaxLinks = 1_000_000

// muOp is one call waiting for the committer.
type muOp struct {
	ctx  context.Context
	fn   func(tx *sql.Tx) error
	done chan error
	// lazy: nobody waits for this op (see Advance); it rides along with the next commit, or is committed
	// after lazyLinger.
	lazy bool
}

// lazyLinger is how long a group of lazy ops waits for a durable op to share its commit.
const lazyLinger = 50 * time.Millisecond

// maxGroup bounds the calls committed together.
const maxGroup = 256

var _ mu.Store = (*MUStore)(nil)

const muSchema = `
CREATE TABLE IF NOT EXISTS mu_tasks (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	key TEXT NOT NULL UNIQUE,
	kind TEXT NOT NULL,
	stage TEXT NOT NULL,
	process TEXT NOT NULL,
	item_id TEXT NOT NULL,
	item BLOB,
	origin TEXT NOT NULL,
	parent INTEGER NOT NULL,
	base_layer INTEGER NOT NULL,
	exclude TEXT NOT NULL,
	is_cast INTEGER NOT NULL,
	assign_to TEXT NOT NULL,
	attempts INTEGER NOT NULL,
	next_at INTEGER NOT NULL,
	last_error TEXT NOT NULL,
	created INTEGER NOT NULL,
	updated INTEGER NOT NULL,
	depth INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS mu_tasks_stage ON mu_tasks(stage, id);
CREATE TABLE IF NOT EXISTS mu_links (
	seq INTEGER PRIMARY KEY AUTOINCREMENT,
	parent TEXT NOT NULL,
	parent_process TEXT NOT NULL,
	child TEXT NOT NULL,
	child_process TEXT NOT NULL,
	kind TEXT NOT NULL,
	created INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS mu_links_parent ON mu_links(parent, seq);
CREATE INDEX IF NOT EXISTS mu_links_child ON mu_links(child, seq);
CREATE TABLE IF NOT EXISTS mu_monitors (
	process TEXT PRIMARY KEY,
	cursor TEXT NOT NULL,
	created INTEGER NOT NULL
);
`

// OpenMU opens (creating if needed) the MU store at path.
func OpenMU(path string, opts ...Option) (*MUStore, error) {
	sync := applyOptions(opts).sync.pragma()
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(" + sync + ")&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open mu store %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(muSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("open mu store %s: create schema: %w", path, err)
	}
	if err := migrateMU(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("open mu store %s: %w", path, err)
	}
	st, err := sqlstmt.Prepare(db, muHotSQL()...)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open mu store %s: %w", path, err)
	}
	s := &MUStore{db: db, st: st, now: time.Now, ops: make(chan muOp), stopped: make(chan struct{}), maxLinks: DefaultMaxLinks}
	// The committer is the store's own writer, like database/sql's pool: Close stops it.
	go s.committer()
	return s, nil
}

// migrateMU brings a store made by an older aogo up to the schema: mu_tasks.depth (the cascade depth of a task,
// 0 for tasks stored before it was kept).
func migrateMU(db *sql.DB) error {
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM pragma_table_info('mu_tasks') WHERE name = 'depth'`).Scan(&n); err != nil {
		return fmt.Errorf("read the mu_tasks columns: %w", err)
	}
	if n == 0 {
		if _, err := db.Exec(`ALTER TABLE mu_tasks ADD COLUMN depth INTEGER NOT NULL DEFAULT 0`); err != nil {
			return fmt.Errorf("add mu_tasks.depth: %w", err)
		}
	}
	return nil
}

// Close stops the committer and closes the database.
func (s *MUStore) Close() error {
	close(s.ops)
	<-s.stopped
	s.st.Close()
	return s.db.Close()
}

// The statements of every message's path, prepared once (sqlstmt.Cache).
const (
	muSavepointSQL  = `SAVEPOINT op`
	muRollbackToSQL = `ROLLBACK TO op`
	muReleaseSQL    = `RELEASE op`
	muInsertTaskSQL = `INSERT INTO mu_tasks (key, kind, stage, process, item_id, item, origin, parent,
		base_layer, exclude, is_cast, assign_to, attempts, next_at, last_error, created, updated, depth)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO NOTHING`
	muTaskByKeySQL  = `SELECT ` + mu.TaskColumns + ` FROM mu_tasks WHERE key = ?`
	muTaskByIDSQL   = `SELECT ` + mu.TaskColumns + ` FROM mu_tasks WHERE id = ?`
	muTaskOriginSQL = `SELECT item_id, process FROM mu_tasks WHERE id = ?`
	muInsertLinkSQL = `INSERT INTO mu_links (parent, parent_process, child, child_process, kind, created) VALUES (?, ?, ?, ?, ?, ?)`
	muPruneLinksSQL = `DELETE FROM mu_links WHERE seq <= (SELECT max(seq) FROM mu_links) - ?`
	muRetrySQL      = `UPDATE mu_tasks SET attempts = ?, next_at = ?, last_error = ?, updated = ? WHERE id = ?`
	muDeleteTaskSQL = `DELETE FROM mu_tasks WHERE id = ?`
)

func muHotSQL() []string {
	q := []string{muSavepointSQL, muRollbackToSQL, muReleaseSQL, muInsertTaskSQL, muTaskByKeySQL, muTaskByIDSQL,
		muTaskOriginSQL, muInsertLinkSQL, muPruneLinksSQL, muRetrySQL, muDeleteTaskSQL}
	for _, item := range []bool{false, true} {
		for _, done := range []bool{false, true} {
			q = append(q, muAdvanceSQL(item, done))
		}
	}
	return q
}

// muAdvanceSQL is advance's UPDATE: setting item_id too (withItem), dropping the item's bytes (done).
func muAdvanceSQL(withItem, done bool) string {
	q := `UPDATE mu_tasks SET stage = ?, updated = ?, attempts = 0, next_at = 0, last_error = ?`
	if withItem {
		q += `, item_id = ?`
	}
	if done {
		// The signed bytes are not needed once the item is written and its result cranked.
		q += `, item = NULL`
	}
	return q + ` WHERE id = ? AND stage = ?`
}

func (s *MUStore) committer() {
	defer close(s.stopped)
	for op := range s.ops {
		group := []muOp{op}
		allLazy := op.lazy
	drain:
		for len(group) < maxGroup {
			select {
			case o, ok := <-s.ops:
				if !ok {
					break drain
				}
				group = append(group, o)
				allLazy = allLazy && o.lazy
			default:
				break drain
			}
		}
		if allLazy {
			// Nobody waits for these: wait for a durable op to share its fsync, or for the linger.
			timer := time.NewTimer(lazyLinger)
		linger:
			for allLazy && len(group) < maxGroup {
				select {
				case o, ok := <-s.ops:
					if !ok {
						break linger
					}
					group = append(group, o)
					allLazy = o.lazy
				case <-timer.C:
					break linger
				}
			}
			timer.Stop()
		}
		s.commitGroup(group)
	}
}

func (s *MUStore) commitGroup(group []muOp) {
	errs := make([]error, len(group))
	fail := func(err error) {
		for _, o := range group {
			o.done <- err
		}
	}
	tx, err := s.db.BeginTx(context.Background(), nil)
	if err != nil {
		fail(fmt.Errorf("mu store: begin: %w", err))
		return
	}
	for i, o := range group {
		if err := o.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		if _, err := s.st.Exec(context.Background(), tx, muSavepointSQL); err != nil {
			tx.Rollback()
			fail(fmt.Errorf("mu store: savepoint: %w", err))
			return
		}
		if errs[i] = o.fn(tx); errs[i] != nil {
			if _, err := s.st.Exec(context.Background(), tx, muRollbackToSQL); err != nil {
				tx.Rollback()
				fail(fmt.Errorf("mu store: rollback to savepoint: %w", err))
				return
			}
		}
		if _, err := s.st.Exec(context.Background(), tx, muReleaseSQL); err != nil {
			tx.Rollback()
			fail(fmt.Errorf("mu store: release savepoint: %w", err))
			return
		}
	}
	if err := tx.Commit(); err != nil {
		fail(fmt.Errorf("mu store: commit: %w", err))
		return
	}
	for i, o := range group {
		o.done <- errs[i]
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// insertTask inserts t unless its key exists; it returns the stored row and whether it was inserted.
func (s *MUStore) insertTask(ctx context.Context, tx *sql.Tx, t mu.Task, now time.Time) (mu.Task, bool, error) {
	if t.Stage == "" {
		t.Stage = mu.StageWrite
	}
	res, err := s.st.Exec(ctx, tx, muInsertTaskSQL,
		t.Key, string(t.Kind), string(t.Stage), t.Process, t.ItemID, t.Item, t.Origin, t.Parent, b2i(t.BaseLayer),
		strings.Join(t.Exclude, ","), b2i(t.Cast), strings.Join(t.AssignTo, ","), t.Attempts, ms(t.NextAt), t.LastError, now.UnixMilli(), now.UnixMilli(), t.Depth)
	if err != nil {
		return t, false, fmt.Errorf("insert task %s: %w", t.Key, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		old, err := mu.ScanTask(s.st.QueryRow(ctx, tx, muTaskByKeySQL, t.Key))
		if err != nil {
			return t, false, fmt.Errorf("read existing task %s: %w", t.Key, err)
		}
		return old, false, nil
	}
	id, err := res.LastInsertId()
	if err != nil {
		return t, false, fmt.Errorf("insert task %s: %w", t.Key, err)
	}
	t.ID = id
	t.Created, t.Updated = time.UnixMilli(now.UnixMilli()), time.UnixMilli(now.UnixMilli())
	return t, true, nil
}

// inTx runs fn in the next group commit and returns once it is durable (or undone, when fn fails).
func (s *MUStore) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	op := muOp{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case s.ops <- op:
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-op.done
}

// Insert implements mu.Store.
func (s *MUStore) Insert(ctx context.Context, t mu.Task) (stored mu.Task, inserted bool, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		stored, inserted, err = s.insertTask(ctx, tx, t, s.now())
		return err
	})
	return stored, inserted, err
}

// insertChildren inserts the tasks a crank of parentItem's result in parentProcess created, and their links.
func (s *MUStore) insertChildren(ctx context.Context, tx *sql.Tx, children []mu.Task, now time.Time, parentItem, parentProcess string) ([]mu.Task, error) {
	out := make([]mu.Task, 0, len(children))
	linked := false
	for _, c := range children {
		st, ins, err := s.insertTask(ctx, tx, c, now)
		if err != nil {
			return nil, err
		}
		if !ins {
			continue
		}
		out = append(out, st)
		if st.ItemID == "" {
			continue
		}
		if _, err := s.st.Exec(ctx, tx, muInsertLinkSQL,
			parentItem, parentProcess, st.ItemID, st.Process, string(st.Kind), now.UnixMilli()); err != nil {
			return nil, fmt.Errorf("insert link %s → %s: %w", parentItem, st.ItemID, err)
		}
		linked = true
	}
	if linked {
		// The bound: the newest maxLinks rows stay (seq only grows, so the rows above last-max are at most max).
		if _, err := s.st.Exec(ctx, tx, muPruneLinksSQL, s.maxLinks); err != nil {
			return nil, fmt.Errorf("prune links: %w", err)
		}
	}
	return out, nil
}

// SetMaxLinks sets how many crank links the store keeps (DefaultMaxLinks unless set); call it before use.
func (s *MUStore) SetMaxLinks(n int) { s.maxLinks = int64(max(n, 1)) }

// LinksFrom returns up to limit links whose Parent is id (the messages its result caused), oldest first.
func (s *MUStore) LinksFrom(ctx context.Context, id string, limit int) ([]mu.Link, error) {
	return s.links(ctx, `SELECT `+mu.LinkColumns+` FROM mu_links WHERE parent = ? ORDER BY seq LIMIT ?`, id, limit)
}

// LinksTo returns up to limit links whose Child is id (what caused it), oldest first.
func (s *MUStore) LinksTo(ctx context.Context, id string, limit int) ([]mu.Link, error) {
	return s.links(ctx, `SELECT `+mu.LinkColumns+` FROM mu_links WHERE child = ? ORDER BY seq LIMIT ?`, id, limit)
}

func (s *MUStore) links(ctx context.Context, q string, args ...any) ([]mu.Link, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read links: %w", err)
	}
	defer rows.Close()
	return mu.ScanLinks(rows)
}

// Advance implements mu.Store.
//
// An advance to done that creates no tasks is lazy: it returns at once and is committed with the next
// commit (or after lazyLinger). Nothing waits on it: if it is lost in a crash, the task is found at its
// earlier stage and done again, which every stage allows (a re-pulled result is the same result, re-pushed
// items have the same ids). A message's own fsyncs on the MU are then one instead of two, and the next
// message's Insert no longer waits behind this one's commit.
func (s *MUStore) Advance(ctx context.Context, a mu.Advance) (children []mu.Task, err error) {
	now := s.now()
	if a.To == mu.StageDone && len(a.Children) == 0 {
		fn := func(tx *sql.Tx) error { return s.advance(context.Background(), tx, a, now) }
		op := muOp{ctx: context.WithoutCancel(ctx), fn: fn, done: make(chan error, 1), lazy: true}
		select {
		case s.ops <- op:
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.advance(ctx, tx, a, now); err != nil {
			return err
		}
		if len(a.Children) == 0 {
			return nil
		}
		var item, process string
		if err := s.st.QueryRow(ctx, tx, muTaskOriginSQL, a.ID).Scan(&item, &process); err != nil {
			return fmt.Errorf("read task %d: %w", a.ID, err)
		}
		children, err = s.insertChildren(ctx, tx, a.Children, now, item, process)
		return err
	})
	return children, err
}

// advance moves task a.ID from a.From to a.To.
func (s *MUStore) advance(ctx context.Context, tx *sql.Tx, a mu.Advance, now time.Time) error {
	args := []any{string(a.To), now.UnixMilli(), a.Error}
	if a.ItemID != "" {
		args = append(args, a.ItemID)
	}
	args = append(args, a.ID, string(a.From))
	res, err := s.st.Exec(ctx, tx, muAdvanceSQL(a.ItemID != "", a.To == mu.StageDone), args...)
	if err != nil {
		return fmt.Errorf("advance task %d: %w", a.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("advance task %d from %s: %w", a.ID, a.From, mu.ErrStale)
	}
	return nil
}

// Retry implements mu.Store.
func (s *MUStore) Retry(ctx context.Context, id int64, attempts int, next time.Time, lastError string) error {
	_, err := s.st.Exec(ctx, nil, muRetrySQL,
		attempts, ms(next), lastError, s.now().UnixMilli(), id)
	if err != nil {
		return fmt.Errorf("retry task %d: %w", id, err)
	}
	return nil
}

// Delete implements mu.Store.
func (s *MUStore) Delete(ctx context.Context, id int64) error {
	if _, err := s.st.Exec(ctx, nil, muDeleteTaskSQL, id); err != nil {
		return fmt.Errorf("delete task %d: %w", id, err)
	}
	return nil
}

// Unpark implements mu.Store.
func (s *MUStore) Unpark(ctx context.Context, id int64, to mu.Stage) error {
	res, err := s.db.ExecContext(ctx, `UPDATE mu_tasks SET stage = ?, attempts = 0, next_at = 0, updated = ? WHERE id = ? AND stage = ?`,
		string(to), s.now().UnixMilli(), id, string(mu.StageParked))
	if err != nil {
		return fmt.Errorf("unpark task %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("unpark task %d: %w", id, mu.ErrStale)
	}
	return nil
}

// Get implements mu.Store.
func (s *MUStore) Get(ctx context.Context, id int64) (mu.Task, error) {
	t, err := mu.ScanTask(s.st.QueryRow(ctx, nil, muTaskByIDSQL, id))
	if err != nil {
		return t, fmt.Errorf("get task %d: %w", id, err)
	}
	return t, nil
}

func (s *MUStore) list(ctx context.Context, q string, args ...any) ([]mu.Task, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list tasks: %w", err)
	}
	defer rows.Close()
	return mu.ScanTasks(rows)
}

// Pending implements mu.Store.
func (s *MUStore) Pending(ctx context.Context) ([]mu.Task, error) {
	return s.list(ctx, `SELECT `+mu.TaskColumns+` FROM mu_tasks WHERE stage IN (?, ?) ORDER BY id`, string(mu.StageWrite), string(mu.StagePull))
}

// Parked implements mu.Store.
func (s *MUStore) Parked(ctx context.Context, limit int) ([]mu.Task, error) {
	return s.list(ctx, `SELECT `+mu.TaskColumns+` FROM mu_tasks WHERE stage = ? ORDER BY id DESC LIMIT ?`, string(mu.StageParked), limit)
}

// Counts implements mu.Store.
func (s *MUStore) Counts(ctx context.Context) (map[mu.Stage]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT stage, COUNT(*) FROM mu_tasks GROUP BY stage`)
	if err != nil {
		return nil, fmt.Errorf("count tasks: %w", err)
	}
	defer rows.Close()
	out := map[mu.Stage]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("count tasks: %w", err)
		}
		out[mu.Stage(st)] = n
	}
	return out, rows.Err()
}

// PruneDone implements mu.Store.
func (s *MUStore) PruneDone(ctx context.Context, before time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM mu_tasks WHERE stage = ? AND updated < ?`, string(mu.StageDone), before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("prune done tasks: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// PutMonitor implements mu.Store.
func (s *MUStore) PutMonitor(ctx context.Context, m mu.Monitor) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO mu_monitors (process, cursor, created) VALUES (?, ?, ?) ON CONFLICT(process) DO NOTHING`,
		m.Process, m.Cursor, s.now().UnixMilli())
	if err != nil {
		return fmt.Errorf("put monitor %s: %w", m.Process, err)
	}
	return nil
}

// DeleteMonitor implements mu.Store.
func (s *MUStore) DeleteMonitor(ctx context.Context, pid string) (bool, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM mu_monitors WHERE process = ?`, pid)
	if err != nil {
		return false, fmt.Errorf("delete monitor %s: %w", pid, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// Monitors implements mu.Store.
func (s *MUStore) Monitors(ctx context.Context) ([]mu.Monitor, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT process, cursor, created FROM mu_monitors ORDER BY created, process`)
	if err != nil {
		return nil, fmt.Errorf("list monitors: %w", err)
	}
	defer rows.Close()
	return mu.ScanMonitors(rows)
}

// AdvanceMonitor implements mu.Store.
func (s *MUStore) AdvanceMonitor(ctx context.Context, pid, from, to string, children []mu.Task) (out []mu.Task, err error) {
	now := s.now()
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE mu_monitors SET cursor = ? WHERE process = ? AND cursor = ?`, to, pid, from)
		if err != nil {
			return fmt.Errorf("advance monitor %s: %w", pid, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("advance monitor %s from %q: %w", pid, from, mu.ErrStale)
		}
		out, err = s.insertChildren(ctx, tx, children, now, "", pid)
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("advance monitor %s: %w", pid, mu.ErrStale)
	}
	return out, err
}
