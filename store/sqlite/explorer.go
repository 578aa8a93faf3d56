package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/aogo/aogo/explorer"
)

// ExplorerIndex is the explorer's index of the SU log in one SQLite file: processes, messages by id, assignment,
// owner and tag, and per-process slot order. It is derived data (explorer.Index), rebuilt from the log if lost,
// so it is written with synchronous NORMAL.
type ExplorerIndex struct {
	db *sql.DB
}

var _ explorer.Index = (*ExplorerIndex)(nil)

// Tags beyond these bounds are not indexed (a tag search cannot find them); the message still is.
const (
	exMaxTags     = 64
	exMaxTagValue = 256
)

// exRateKeep is how many seconds of per-second message counts the index keeps (sparklines show a minute).
const exRateKeep = 3600

const explorerSchema = `
CREATE TABLE IF NOT EXISTS ex_processes (
	seq INTEGER PRIMARY KEY AUTOINCREMENT,
	pid TEXT NOT NULL UNIQUE,
	owner TEXT NOT NULL,
	module TEXT NOT NULL,
	scheduler TEXT NOT NULL,
	parent TEXT NOT NULL,
	name TEXT NOT NULL,
	timestamp INTEGER NOT NULL,
	slots INTEGER NOT NULL,
	last_timestamp INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ex_processes_owner ON ex_processes(owner, seq);
CREATE INDEX IF NOT EXISTS ex_processes_parent ON ex_processes(parent, seq);
CREATE INDEX IF NOT EXISTS ex_processes_module ON ex_processes(module);
CREATE TABLE IF NOT EXISTS ex_messages (
	seq INTEGER PRIMARY KEY AUTOINCREMENT,
	pid TEXT NOT NULL,
	nonce INTEGER NOT NULL,
	id TEXT NOT NULL,
	assignment TEXT NOT NULL,
	owner TEXT NOT NULL,
	from_process TEXT NOT NULL,
	action TEXT NOT NULL,
	timestamp INTEGER NOT NULL,
	block_height INTEGER NOT NULL,
	UNIQUE (pid, nonce)
);
CREATE INDEX IF NOT EXISTS ex_messages_id ON ex_messages(id);
CREATE INDEX IF NOT EXISTS ex_messages_assignment ON ex_messages(assignment);
CREATE INDEX IF NOT EXISTS ex_messages_owner ON ex_messages(owner, seq);
CREATE INDEX IF NOT EXISTS ex_messages_pid_ts ON ex_messages(pid, timestamp);
CREATE INDEX IF NOT EXISTS ex_messages_pid_action ON ex_messages(pid, action, seq);
CREATE INDEX IF NOT EXISTS ex_messages_action ON ex_messages(action, seq);
CREATE TABLE IF NOT EXISTS ex_rate (
	pid TEXT NOT NULL,
	second INTEGER NOT NULL,
	n INTEGER NOT NULL,
	PRIMARY KEY (pid, second)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ex_rate_second ON ex_rate(second);
CREATE TABLE IF NOT EXISTS ex_tags (
	name TEXT NOT NULL,
	value TEXT NOT NULL,
	seq INTEGER NOT NULL,
	PRIMARY KEY (name, value, seq)
) WITHOUT ROWID;
`

// OpenExplorer opens (creating if needed) the explorer index at path.
func OpenExplorer(path string) (*ExplorerIndex, error) {
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open explorer index %s: %w", path, err)
	}
	// Readers run beside the one writer (WAL); a few connections serve concurrent page loads.
	db.SetMaxOpenConns(4)
	if _, err := db.Exec(explorerSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("open explorer index %s: create schema: %w", path, err)
	}
	return &ExplorerIndex{db: db}, nil
}

// Close closes the database.
func (x *ExplorerIndex) Close() error { return x.db.Close() }

// Next implements explorer.Index.
func (x *ExplorerIndex) Next(ctx context.Context, pid string) (uint64, error) {
	var n uint64
	err := x.db.QueryRowContext(ctx, `SELECT slots FROM ex_processes WHERE pid = ?`, pid).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("explorer index: next of %s: %w", pid, err)
	}
	return n, nil
}

// Add implements explorer.Index.
func (x *ExplorerIndex) Add(ctx context.Context, procs []explorer.ProcessRow, msgs []explorer.MessageRow) error {
	tx, err := x.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("explorer index: begin: %w", err)
	}
	defer tx.Rollback()
	for _, p := range procs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO ex_processes (pid, owner, module, scheduler, parent, name, timestamp, slots, last_timestamp)
			VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?) ON CONFLICT(pid) DO NOTHING`,
			p.ID, p.Owner, p.Module, p.Scheduler, p.Parent, p.Name, p.Timestamp, p.Timestamp); err != nil {
			return fmt.Errorf("explorer index: add process %s: %w", p.ID, err)
		}
	}
	msgStmt, err := tx.PrepareContext(ctx, `INSERT INTO ex_messages (pid, nonce, id, assignment, owner, from_process, action, timestamp, block_height)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(pid, nonce) DO NOTHING`)
	if err != nil {
		return fmt.Errorf("explorer index: %w", err)
	}
	defer msgStmt.Close()
	tagStmt, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO ex_tags (name, value, seq) VALUES (?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("explorer index: %w", err)
	}
	defer tagStmt.Close()
	type head struct {
		next uint64
		last int64
	}
	type bucket struct {
		pid    string
		second int64
	}
	heads := map[string]head{}
	counts := map[bucket]int64{}
	for i := range msgs {
		m := &msgs[i]
		res, err := msgStmt.ExecContext(ctx, m.Process, m.Nonce, m.ID, m.Assignment, m.Owner, m.FromProcess, m.Action, m.Timestamp, m.BlockHeight)
		if err != nil {
			return fmt.Errorf("explorer index: add message %s: %w", m.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			m.Seq = 0
			continue
		}
		if m.Seq, err = res.LastInsertId(); err != nil {
			return fmt.Errorf("explorer index: add message %s: %w", m.ID, err)
		}
		for j, t := range m.Tags {
			if j == exMaxTags {
				break
			}
			if len(t.Name) > exMaxTagValue || len(t.Value) > exMaxTagValue {
				continue
			}
			if _, err := tagStmt.ExecContext(ctx, t.Name, t.Value, m.Seq); err != nil {
				return fmt.Errorf("explorer index: tags of %s: %w", m.ID, err)
			}
		}
		h := heads[m.Process]
		heads[m.Process] = head{next: max(h.next, m.Nonce+1), last: max(h.last, m.Timestamp)}
		counts[bucket{m.Process, m.Timestamp / 1000}]++
	}
	// Messages per second per process, for the sparklines: a lookup of at most a minute of rows whatever the
	// rate, where counting the messages themselves would read every one of them.
	var newest int64
	for b, n := range counts {
		if _, err := tx.ExecContext(ctx, `INSERT INTO ex_rate (pid, second, n) VALUES (?, ?, ?) ON CONFLICT(pid, second) DO UPDATE SET n = n + excluded.n`,
			b.pid, b.second, n); err != nil {
			return fmt.Errorf("explorer index: rate of %s: %w", b.pid, err)
		}
		newest = max(newest, b.second)
	}
	if len(counts) > 0 {
		// Only the recent seconds are ever asked for: the table stays bounded by an hour of activity.
		if _, err := tx.ExecContext(ctx, `DELETE FROM ex_rate WHERE second < ?`, newest-exRateKeep); err != nil {
			return fmt.Errorf("explorer index: prune rates: %w", err)
		}
	}
	for pid, h := range heads {
		if _, err := tx.ExecContext(ctx, `UPDATE ex_processes SET slots = max(slots, ?), last_timestamp = max(last_timestamp, ?) WHERE pid = ?`,
			h.next, h.last, pid); err != nil {
			return fmt.Errorf("explorer index: advance %s: %w", pid, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("explorer index: commit: %w", err)
	}
	return nil
}

const exProcCols = `seq, pid, owner, module, scheduler, parent, name, timestamp, slots, last_timestamp`

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(...any) error }

func scanProc(r scanner) (explorer.ProcessRow, error) {
	var p explorer.ProcessRow
	err := r.Scan(&p.Seq, &p.ID, &p.Owner, &p.Module, &p.Scheduler, &p.Parent, &p.Name, &p.Timestamp, &p.Slots, &p.LastTimestamp)
	return p, err
}

func (x *ExplorerIndex) procs(ctx context.Context, q string, args ...any) ([]explorer.ProcessRow, error) {
	rows, err := x.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("explorer index: processes: %w", err)
	}
	defer rows.Close()
	var out []explorer.ProcessRow
	for rows.Next() {
		p, err := scanProc(rows)
		if err != nil {
			return nil, fmt.Errorf("explorer index: processes: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Process implements explorer.Index.
func (x *ExplorerIndex) Process(ctx context.Context, pid string) (explorer.ProcessRow, error) {
	p, err := scanProc(x.db.QueryRowContext(ctx, `SELECT `+exProcCols+` FROM ex_processes WHERE pid = ?`, pid))
	if errors.Is(err, sql.ErrNoRows) {
		return p, explorer.ErrNotFound
	}
	if err != nil {
		return p, fmt.Errorf("explorer index: process %s: %w", pid, err)
	}
	return p, nil
}

// Processes implements explorer.Index.
func (x *ExplorerIndex) Processes(ctx context.Context, before int64, limit int) ([]explorer.ProcessRow, error) {
	if before <= 0 {
		return x.procs(ctx, `SELECT `+exProcCols+` FROM ex_processes ORDER BY seq DESC LIMIT ?`, limit)
	}
	return x.procs(ctx, `SELECT `+exProcCols+` FROM ex_processes WHERE seq < ? ORDER BY seq DESC LIMIT ?`, before, limit)
}

// ProcessesBy implements explorer.Index.
func (x *ExplorerIndex) ProcessesBy(ctx context.Context, parent, owner string, limit int) ([]explorer.ProcessRow, error) {
	if parent != "" {
		return x.procs(ctx, `SELECT `+exProcCols+` FROM ex_processes WHERE parent = ? ORDER BY seq DESC LIMIT ?`, parent, limit)
	}
	return x.procs(ctx, `SELECT `+exProcCols+` FROM ex_processes WHERE owner = ? ORDER BY seq DESC LIMIT ?`, owner, limit)
}

const exMsgCols = `seq, pid, nonce, id, assignment, owner, from_process, action, timestamp, block_height`

func (x *ExplorerIndex) msgs(ctx context.Context, q string, args ...any) ([]explorer.MessageRow, error) {
	rows, err := x.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("explorer index: messages: %w", err)
	}
	defer rows.Close()
	var out []explorer.MessageRow
	for rows.Next() {
		var m explorer.MessageRow
		if err := rows.Scan(&m.Seq, &m.Process, &m.Nonce, &m.ID, &m.Assignment, &m.Owner, &m.FromProcess, &m.Action, &m.Timestamp, &m.BlockHeight); err != nil {
			return nil, fmt.Errorf("explorer index: messages: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// Messages implements explorer.Index.
func (x *ExplorerIndex) Messages(ctx context.Context, pid string, q explorer.MessageQuery) ([]explorer.MessageRow, error) {
	switch {
	case !q.Desc:
		return x.msgs(ctx, `SELECT `+exMsgCols+` FROM ex_messages WHERE pid = ? AND nonce >= ? ORDER BY nonce LIMIT ?`, pid, q.From, q.Limit)
	case q.Before > 0:
		return x.msgs(ctx, `SELECT `+exMsgCols+` FROM ex_messages WHERE pid = ? AND nonce < ? ORDER BY nonce DESC LIMIT ?`, pid, q.Before, q.Limit)
	default:
		return x.msgs(ctx, `SELECT `+exMsgCols+` FROM ex_messages WHERE pid = ? ORDER BY nonce DESC LIMIT ?`, pid, q.Limit)
	}
}

// ByID implements explorer.Index.
func (x *ExplorerIndex) ByID(ctx context.Context, id string, limit int) ([]explorer.MessageRow, error) {
	return x.msgs(ctx, `SELECT `+exMsgCols+` FROM ex_messages WHERE id = ? UNION SELECT `+exMsgCols+` FROM ex_messages WHERE assignment = ? ORDER BY seq LIMIT ?`, id, id, limit)
}

// Search implements explorer.Index.
func (x *ExplorerIndex) Search(ctx context.Context, q explorer.SearchQuery) ([]explorer.MessageRow, error) {
	var where []string
	var args []any
	from := `ex_messages m`
	if q.TagName != "" {
		from = `ex_tags t JOIN ex_messages m ON m.seq = t.seq`
		where = append(where, `t.name = ?`, `t.value = ?`)
		args = append(args, q.TagName, q.TagValue)
	}
	if q.Owner != "" {
		where = append(where, `m.owner = ?`)
		args = append(args, q.Owner)
	}
	if q.Process != "" {
		where = append(where, `m.pid = ?`)
		args = append(args, q.Process)
	}
	if q.Action != "" {
		where = append(where, `m.action = ?`)
		args = append(args, q.Action)
	}
	if q.Before > 0 {
		col := "m.seq"
		if q.TagName != "" {
			col = "t.seq"
		}
		where = append(where, col+` < ?`)
		args = append(args, q.Before)
	}
	order := "m.seq"
	if q.TagName != "" {
		order = "t.seq" // walks the (name, value, seq) key backwards
	}
	query := `SELECT m.seq, m.pid, m.nonce, m.id, m.assignment, m.owner, m.from_process, m.action, m.timestamp, m.block_height FROM ` + from
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY ` + order + ` DESC LIMIT ?`
	args = append(args, q.Limit)
	return x.msgs(ctx, query, args...)
}

// Rate implements explorer.Index.
func (x *ExplorerIndex) Rate(ctx context.Context, pid string, from, to int64) ([]int64, error) {
	if to <= from {
		return []int64{}, nil
	}
	n := (to - from + 999) / 1000
	out := make([]int64, n)
	rows, err := x.db.QueryContext(ctx, `SELECT second * 1000, n FROM ex_rate WHERE pid = ? AND second >= ? AND second < ?`,
		pid, from/1000, (to+999)/1000)
	if err != nil {
		return nil, fmt.Errorf("explorer index: rate of %s: %w", pid, err)
	}
	defer rows.Close()
	for rows.Next() {
		var ms, c int64
		if err := rows.Scan(&ms, &c); err != nil {
			return nil, fmt.Errorf("explorer index: rate of %s: %w", pid, err)
		}
		if i := (ms - from) / 1000; ms >= from && i < n {
			out[i] = c
		}
	}
	return out, rows.Err()
}

// Modules implements explorer.Index.
func (x *ExplorerIndex) Modules(ctx context.Context, limit int) ([]explorer.ModuleCount, error) {
	rows, err := x.db.QueryContext(ctx, `SELECT module, count(*) FROM ex_processes WHERE module != '' GROUP BY module ORDER BY 2 DESC, 1 LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("explorer index: modules: %w", err)
	}
	defer rows.Close()
	var out []explorer.ModuleCount
	for rows.Next() {
		var m explorer.ModuleCount
		if err := rows.Scan(&m.ID, &m.Processes); err != nil {
			return nil, fmt.Errorf("explorer index: modules: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}
