package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aogo/aogo/mu"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// MUStore is the Messenger Unit's task queue, monitors and crank links in PostgreSQL, shared by any number of MU
// replicas (mu.SharedStore). Each MUStore is one replica: it has its own owner id, made at open, and every
// pending task and every monitor belongs to one replica at a time (its owner column). The lease is the
// replica's, one row in mu_replicas: it lasts MUOptions.Lease unless the replica renews it (Heartbeat), so
// renewing costs one row update whatever the replica holds. A replica that dies stops renewing, and once its
// lease has run out the others claim its tasks (Claim, FOR UPDATE SKIP LOCKED) and monitors (LeaseMonitors).
// Leases are timed by the database server's clock, so replicas on hosts whose clocks disagree still agree. A
// replica closed cleanly ends its lease at once, so its work moves without waiting.
//
// Every stage change (Advance, Retry, AdvanceMonitor) is fenced: it applies only while the row is still leased
// to this replica, so a replica that lost a lease while paused or cut off cannot advance a task another one has
// taken over (it gets mu.ErrStale). Its write to an SU may still happen once more, which the SU absorbs: the
// item is the same signed bytes with the same id.
type MUStore struct {
	pool     *pgxpool.Pool
	owner    string
	lease    time.Duration
	maxLinks int64
	now      func() time.Time
}

// MUOptions configures OpenMU.
type MUOptions struct {
	// Lease is how long a replica holds a task or monitor without renewing it: the time a dead replica's work
	// waits before another takes it. Default 10 s. The MU renews at a third of it.
	Lease time.Duration
	// MaxLinks bounds the crank links kept (the oldest go first); default DefaultMaxLinks.
	MaxLinks int
}

// DefaultMaxLinks is how many crank links (mu.Link) the store keeps, as store/sqlite's.
const DefaultMaxLinks = 1_000_000

var _ mu.SharedStore = (*MUStore)(nil)

const muSchema = `
CREATE TABLE IF NOT EXISTS mu_tasks (
	id BIGSERIAL PRIMARY KEY,
	key TEXT NOT NULL UNIQUE,
	kind TEXT NOT NULL,
	stage TEXT NOT NULL,
	process TEXT NOT NULL,
	item_id TEXT NOT NULL,
	item BYTEA,
	origin TEXT NOT NULL,
	parent BIGINT NOT NULL,
	base_layer BOOLEAN NOT NULL,
	exclude TEXT NOT NULL,
	is_cast BOOLEAN NOT NULL,
	assign_to TEXT NOT NULL,
	attempts INTEGER NOT NULL,
	next_at BIGINT NOT NULL,
	last_error TEXT NOT NULL,
	created BIGINT NOT NULL,
	updated BIGINT NOT NULL,
	depth INTEGER NOT NULL,
	owner TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS mu_tasks_stage ON mu_tasks(stage, id);
CREATE INDEX IF NOT EXISTS mu_tasks_owner ON mu_tasks(owner, id) WHERE stage IN ('write', 'pull');
CREATE TABLE IF NOT EXISTS mu_links (
	seq BIGSERIAL PRIMARY KEY,
	parent TEXT NOT NULL,
	parent_process TEXT NOT NULL,
	child TEXT NOT NULL,
	child_process TEXT NOT NULL,
	kind TEXT NOT NULL,
	created BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS mu_links_parent ON mu_links(parent, seq);
CREATE INDEX IF NOT EXISTS mu_links_child ON mu_links(child, seq);
CREATE TABLE IF NOT EXISTS mu_monitors (
	process TEXT PRIMARY KEY,
	cur TEXT NOT NULL,
	created BIGINT NOT NULL,
	owner TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS mu_replicas (
	owner TEXT PRIMARY KEY,
	lease_until TIMESTAMPTZ NOT NULL
);
`

// OpenMU connects to dsn and creates the MU tables if needed. The store is one replica of the MU: open one per
// process.
func OpenMU(ctx context.Context, dsn string, opts MUOptions) (*MUStore, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("mu store: parse dsn: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("mu store: connect: %w", err)
	}
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		// Replicas starting together on a fresh database: one creates the tables, the others wait.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(7135002)`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, muSchema)
		return err
	}); err != nil {
		pool.Close()
		return nil, fmt.Errorf("mu store: create schema: %w", err)
	}
	if opts.Lease <= 0 {
		opts.Lease = 10 * time.Second
	}
	if opts.MaxLinks <= 0 {
		opts.MaxLinks = DefaultMaxLinks
	}
	// A fresh owner id per open: a restarted replica does not inherit the leases of its former self, which may
	// still be running (a paused process, not a dead one).
	b := make([]byte, 6)
	rand.Read(b)
	host, _ := os.Hostname()
	owner := fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
	s := &MUStore{pool: pool, owner: owner, lease: opts.Lease, maxLinks: int64(opts.MaxLinks), now: time.Now}
	if err := s.Heartbeat(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	// The rows of replicas long gone that hold nothing any more (each restart adds one).
	if _, err := pool.Exec(ctx, `DELETE FROM mu_replicas r WHERE lease_until < clock_timestamp() - interval '1 day'
		AND NOT EXISTS (SELECT 1 FROM mu_tasks t WHERE t.owner = r.owner AND t.stage IN ('write', 'pull'))
		AND NOT EXISTS (SELECT 1 FROM mu_monitors m WHERE m.owner = r.owner)`); err != nil {
		pool.Close()
		return nil, fmt.Errorf("mu store: forget old replicas: %w", err)
	}
	return s, nil
}

// Heartbeat implements mu.SharedStore: this replica's lease, renewed (or taken again, if it ran out: the tasks
// no one claimed meanwhile are still its own, and the others are fenced off).
func (s *MUStore) Heartbeat(ctx context.Context) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO mu_replicas (owner, lease_until) VALUES ($1, `+leaseExpr+`)
		ON CONFLICT (owner) DO UPDATE SET lease_until = excluded.lease_until`, s.owner, s.leaseMS()); err != nil {
		return fmt.Errorf("mu store: renew the lease of %s: %w", s.owner, err)
	}
	return nil
}

// deadOwners selects the owners whose lease ran out (their tasks and monitors are free to take).
const deadOwners = `SELECT owner FROM mu_replicas WHERE lease_until < clock_timestamp()`

// Owner is this replica's id, as stored in the owner column of the rows it leases.
func (s *MUStore) Owner() string { return s.owner }

// Lease implements mu.SharedStore.
func (s *MUStore) Lease() time.Duration { return s.lease }

// Close ends this replica's lease, so the others take its tasks and monitors over at once, and closes the pool.
// Call it once the MU is stopped.
func (s *MUStore) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.pool.Exec(ctx, `UPDATE mu_replicas SET lease_until = '-infinity' WHERE owner = $1`, s.owner) // else it runs out
	s.pool.Close()
	return nil
}

// leaseExpr is the end of a lease taken now; $2 is the lease in milliseconds.
const leaseExpr = `clock_timestamp() + $2::float8 * interval '1 millisecond'`

func (s *MUStore) leaseMS() float64 { return float64(s.lease.Milliseconds()) }

func msOf(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// insertTaskSQL inserts a task owned by this replica unless its key exists.
const insertTaskSQL = `INSERT INTO mu_tasks (key, kind, stage, process, item_id, item, origin, parent, base_layer,
	exclude, is_cast, assign_to, attempts, next_at, last_error, created, updated, depth, owner)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16, $17, $18)
	ON CONFLICT (key) DO NOTHING RETURNING id`

func (s *MUStore) insertArgs(t mu.Task, now time.Time) []any {
	if t.Stage == "" {
		t.Stage = mu.StageWrite
	}
	return []any{t.Key, string(t.Kind), string(t.Stage), t.Process, t.ItemID, t.Item, t.Origin,
		t.Parent, t.BaseLayer, strings.Join(t.Exclude, ","), t.Cast, strings.Join(t.AssignTo, ","), int32(t.Attempts),
		msOf(t.NextAt), t.LastError, now.UnixMilli(), int32(t.Depth), s.owner}
}

func stamped(t mu.Task, id int64, now time.Time) mu.Task {
	if t.Stage == "" {
		t.Stage = mu.StageWrite
	}
	t.ID = id
	t.Created, t.Updated = time.UnixMilli(now.UnixMilli()), time.UnixMilli(now.UnixMilli())
	return t
}

// Insert implements mu.Store. The new task is leased to this replica.
func (s *MUStore) Insert(ctx context.Context, t mu.Task) (mu.Task, bool, error) {
	now := s.now()
	var id int64
	err := s.pool.QueryRow(ctx, insertTaskSQL, s.insertArgs(t, now)...).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		old, err := mu.ScanTask(s.pool.QueryRow(ctx, `SELECT `+mu.TaskColumns+` FROM mu_tasks WHERE key = $1`, t.Key))
		if err != nil {
			return t, false, fmt.Errorf("mu store: read existing task %s: %w", t.Key, err)
		}
		return old, false, nil
	}
	if err != nil {
		return t, false, fmt.Errorf("mu store: insert task %s: %w", t.Key, err)
	}
	return stamped(t, id, now), true, nil
}

// insertChildren inserts the children of a crank of parentItem's result in parentProcess (one round trip for
// all of them), leased to this replica, and their links (COPY).
func (s *MUStore) insertChildren(ctx context.Context, tx pgx.Tx, children []mu.Task, now time.Time, parentItem, parentProcess string) ([]mu.Task, error) {
	b := &pgx.Batch{}
	for _, c := range children {
		b.Queue(insertTaskSQL, s.insertArgs(c, now)...)
	}
	br := tx.SendBatch(ctx, b)
	out := make([]mu.Task, 0, len(children))
	var links [][]any
	for _, c := range children {
		var id int64
		err := br.QueryRow().Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			continue // the key exists: inserted before
		}
		if err != nil {
			br.Close()
			return nil, fmt.Errorf("insert task %s: %w", c.Key, err)
		}
		st := stamped(c, id, now)
		out = append(out, st)
		if st.ItemID != "" {
			links = append(links, []any{parentItem, parentProcess, st.ItemID, st.Process, string(st.Kind), now.UnixMilli()})
		}
	}
	if err := br.Close(); err != nil {
		return nil, fmt.Errorf("insert children: %w", err)
	}
	if len(links) == 0 {
		return out, nil
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"mu_links"}, []string{"parent", "parent_process", "child", "child_process", "kind", "created"}, pgx.CopyFromRows(links)); err != nil {
		return nil, fmt.Errorf("insert %d links: %w", len(links), err)
	}
	// The bound: the newest maxLinks rows stay. One replica prunes at a time (two deleting the same rows could
	// deadlock); one that finds the lock taken leaves it to the holder or to the next crank.
	if _, err := tx.Exec(ctx, `DELETE FROM mu_links WHERE pg_try_advisory_xact_lock(7135003)
		AND seq <= (SELECT max(seq) FROM mu_links) - $1`, s.maxLinks); err != nil {
		return nil, fmt.Errorf("prune links: %w", err)
	}
	return out, nil
}

// Advance implements mu.Store. It applies only while this replica holds the task's lease (else ErrStale). An
// advance to done without children commits without waiting for the WAL flush (synchronous_commit off, for that
// transaction only): losing it in a crash of the database means the stage is done again, which is safe.
func (s *MUStore) Advance(ctx context.Context, a mu.Advance) (children []mu.Task, err error) {
	now := s.now()
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		lazy := a.To == mu.StageDone && len(a.Children) == 0
		if lazy {
			if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
				return err
			}
		}
		q := `UPDATE mu_tasks SET stage = $1, updated = $2, attempts = 0, next_at = 0, last_error = $3,
			item_id = CASE WHEN $4 = '' THEN item_id ELSE $4 END`
		if a.To == mu.StageDone {
			q += `, item = NULL` // not needed once written and cranked
		}
		q += ` WHERE id = $5 AND stage = $6 AND owner = $7 RETURNING item_id, process`
		var item, process string
		err := tx.QueryRow(ctx, q, string(a.To), now.UnixMilli(), a.Error, a.ItemID, a.ID, string(a.From), s.owner).Scan(&item, &process)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("advance task %d from %s: %w", a.ID, a.From, mu.ErrStale)
		}
		if err != nil {
			return fmt.Errorf("advance task %d: %w", a.ID, err)
		}
		if len(a.Children) == 0 {
			return nil
		}
		children, err = s.insertChildren(ctx, tx, a.Children, now, item, process)
		return err
	})
	if err != nil && !errors.Is(err, mu.ErrStale) {
		err = fmt.Errorf("mu store: %w", err)
	}
	return children, err
}

// Retry implements mu.Store; ErrStale if this replica no longer holds the task.
func (s *MUStore) Retry(ctx context.Context, id int64, attempts int, next time.Time, lastError string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE mu_tasks SET attempts = $1, next_at = $2, last_error = $3, updated = $4
		WHERE id = $5 AND owner = $6`, int32(attempts), msOf(next), lastError, s.now().UnixMilli(), id, s.owner)
	if err != nil {
		return fmt.Errorf("mu store: retry task %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("mu store: retry task %d: %w", id, mu.ErrStale)
	}
	return nil
}

// Delete implements mu.Store.
func (s *MUStore) Delete(ctx context.Context, id int64) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM mu_tasks WHERE id = $1`, id); err != nil {
		return fmt.Errorf("mu store: delete task %d: %w", id, err)
	}
	return nil
}

// Unpark implements mu.Store; the task is leased to this replica, which queues it.
func (s *MUStore) Unpark(ctx context.Context, id int64, to mu.Stage) error {
	tag, err := s.pool.Exec(ctx, `UPDATE mu_tasks SET stage = $1, attempts = 0, next_at = 0, updated = $2, owner = $3
		WHERE id = $4 AND stage = $5`, string(to), s.now().UnixMilli(), s.owner, id, string(mu.StageParked))
	if err != nil {
		return fmt.Errorf("mu store: unpark task %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("mu store: unpark task %d: %w", id, mu.ErrStale)
	}
	return nil
}

// Get implements mu.Store.
func (s *MUStore) Get(ctx context.Context, id int64) (mu.Task, error) {
	t, err := mu.ScanTask(s.pool.QueryRow(ctx, `SELECT `+mu.TaskColumns+` FROM mu_tasks WHERE id = $1`, id))
	if err != nil {
		return t, fmt.Errorf("mu store: get task %d: %w", id, err)
	}
	return t, nil
}

func (s *MUStore) list(ctx context.Context, q string, args ...any) ([]mu.Task, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("mu store: list tasks: %w", err)
	}
	defer rows.Close()
	tasks, err := mu.ScanTasks(rows)
	if err != nil {
		return nil, fmt.Errorf("mu store: %w", err)
	}
	return tasks, nil
}

// Pending implements mu.Store: every replica's pending tasks. A replicated MU claims instead (Claim).
func (s *MUStore) Pending(ctx context.Context) ([]mu.Task, error) {
	return s.list(ctx, `SELECT `+mu.TaskColumns+` FROM mu_tasks WHERE stage IN ('write', 'pull') ORDER BY id`)
}

// Claim implements mu.SharedStore: up to n due tasks of replicas whose lease has run out, oldest first, taken by
// this one. Rows another replica is claiming at the same moment are skipped, not waited for. Only dead owners'
// rows are read (mu_tasks_owner), so a claim that finds nothing costs next to nothing however long the queue.
func (s *MUStore) Claim(ctx context.Context, now time.Time, n int) ([]mu.Task, error) {
	return s.list(ctx, `UPDATE mu_tasks SET owner = $1 WHERE id IN (
		SELECT id FROM mu_tasks WHERE owner IN (`+deadOwners+`) AND owner <> $1 AND stage IN ('write', 'pull')
		AND next_at <= $2 ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING `+mu.TaskColumns, s.owner, now.UnixMilli(), n)
}

// Parked implements mu.Store.
func (s *MUStore) Parked(ctx context.Context, limit int) ([]mu.Task, error) {
	return s.list(ctx, `SELECT `+mu.TaskColumns+` FROM mu_tasks WHERE stage = 'parked' ORDER BY id DESC LIMIT $1`, limit)
}

// Counts implements mu.Store.
func (s *MUStore) Counts(ctx context.Context) (map[mu.Stage]int, error) {
	rows, err := s.pool.Query(ctx, `SELECT stage, COUNT(*) FROM mu_tasks GROUP BY stage`)
	if err != nil {
		return nil, fmt.Errorf("mu store: count tasks: %w", err)
	}
	defer rows.Close()
	out := map[mu.Stage]int{}
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("mu store: count tasks: %w", err)
		}
		out[mu.Stage(st)] = int(n)
	}
	return out, rows.Err()
}

// PruneDone implements mu.Store.
func (s *MUStore) PruneDone(ctx context.Context, before time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM mu_tasks WHERE stage = 'done' AND updated < $1`, before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("mu store: prune done tasks: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// PutMonitor implements mu.Store. A new monitor is leased to this replica.
func (s *MUStore) PutMonitor(ctx context.Context, m mu.Monitor) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO mu_monitors (process, cur, created, owner)
		VALUES ($1, $2, $3, $4) ON CONFLICT (process) DO NOTHING`, m.Process, m.Cursor, s.now().UnixMilli(), s.owner)
	if err != nil {
		return fmt.Errorf("mu store: put monitor %s: %w", m.Process, err)
	}
	return nil
}

// DeleteMonitor implements mu.Store.
func (s *MUStore) DeleteMonitor(ctx context.Context, pid string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM mu_monitors WHERE process = $1`, pid)
	if err != nil {
		return false, fmt.Errorf("mu store: delete monitor %s: %w", pid, err)
	}
	return tag.RowsAffected() > 0, nil
}

func (s *MUStore) monitors(ctx context.Context, q string, args ...any) ([]mu.Monitor, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("mu store: list monitors: %w", err)
	}
	defer rows.Close()
	out, err := mu.ScanMonitors(rows)
	if err != nil {
		return nil, fmt.Errorf("mu store: %w", err)
	}
	return out, nil
}

// Monitors implements mu.Store: every replica's.
func (s *MUStore) Monitors(ctx context.Context) ([]mu.Monitor, error) {
	return s.monitors(ctx, `SELECT process, cur, created FROM mu_monitors ORDER BY created, process`)
}

// LeaseMonitors implements mu.SharedStore: it takes the monitors of replicas whose lease ran out and returns this
// replica's. Of two replicas racing for a dead one's monitor, the one that locks its row first takes it; the
// other skips the row, and finds it owned by a live replica next time.
func (s *MUStore) LeaseMonitors(ctx context.Context) ([]mu.Monitor, error) {
	// SKIP LOCKED, as in Claim: racing replicas neither wait for each other nor deadlock over the rows.
	if _, err := s.pool.Exec(ctx, `UPDATE mu_monitors SET owner = $1 WHERE process IN (SELECT process FROM mu_monitors
		WHERE owner IN (`+deadOwners+`) AND owner <> $1 FOR UPDATE SKIP LOCKED)`, s.owner); err != nil {
		return nil, fmt.Errorf("mu store: take monitors over: %w", err)
	}
	return s.monitors(ctx, `SELECT process, cur, created FROM mu_monitors WHERE owner = $1 ORDER BY created, process`, s.owner)
}

// AdvanceMonitor implements mu.Store; fenced like Advance.
func (s *MUStore) AdvanceMonitor(ctx context.Context, pid, from, to string, children []mu.Task) (out []mu.Task, err error) {
	now := s.now()
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE mu_monitors SET cur = $1 WHERE process = $2 AND cur = $3 AND owner = $4`, to, pid, from, s.owner)
		if err != nil {
			return fmt.Errorf("advance monitor %s: %w", pid, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("advance monitor %s from %q: %w", pid, from, mu.ErrStale)
		}
		out, err = s.insertChildren(ctx, tx, children, now, "", pid)
		return err
	})
	if err != nil && !errors.Is(err, mu.ErrStale) {
		err = fmt.Errorf("mu store: %w", err)
	}
	return out, err
}

// LinksFrom returns up to limit links whose Parent is id, oldest first.
func (s *MUStore) LinksFrom(ctx context.Context, id string, limit int) ([]mu.Link, error) {
	return s.links(ctx, `SELECT `+mu.LinkColumns+` FROM mu_links WHERE parent = $1 ORDER BY seq LIMIT $2`, id, limit)
}

// LinksTo returns up to limit links whose Child is id, oldest first.
func (s *MUStore) LinksTo(ctx context.Context, id string, limit int) ([]mu.Link, error) {
	return s.links(ctx, `SELECT `+mu.LinkColumns+` FROM mu_links WHERE child = $1 ORDER BY seq LIMIT $2`, id, limit)
}

func (s *MUStore) links(ctx context.Context, q string, args ...any) ([]mu.Link, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("mu store: read links: %w", err)
	}
	defer rows.Close()
	out, err := mu.ScanLinks(rows)
	if err != nil {
		return nil, fmt.Errorf("mu store: %w", err)
	}
	return out, nil
}
