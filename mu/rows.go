package mu

import (
	"fmt"
	"strings"
	"time"
)

// The stores' row decoding, one copy for every backend: SQLite (database/sql) and PostgreSQL (pgx) hand rows
// with the same Scan, and both drivers convert their column types (SQLite's 0/1 integers, PostgreSQL's booleans
// and int4s) into the Go types below.

// Row is one row of a query: database/sql's and pgx's rows and single rows all have it.
type Row interface {
	Scan(dest ...any) error
}

// Rows is the part of a query's rows the scanners read.
type Rows interface {
	Row
	Next() bool
	Err() error
}

// TaskColumns are the columns of a tasks query, in the order ScanTask reads them.
const TaskColumns = `id, key, kind, stage, process, item_id, item, origin, parent, base_layer, exclude, is_cast, assign_to, attempts, next_at, last_error, created, updated, depth`

// ScanTask reads one row of TaskColumns (times in Unix ms, 0 for a zero NextAt; Exclude and AssignTo
// comma-separated).
func ScanTask(r Row) (Task, error) {
	var t Task
	var kind, stage, exclude, assignTo string
	var next, created, updated int64
	err := r.Scan(&t.ID, &t.Key, &kind, &stage, &t.Process, &t.ItemID, &t.Item, &t.Origin, &t.Parent, &t.BaseLayer,
		&exclude, &t.Cast, &assignTo, &t.Attempts, &next, &t.LastError, &created, &updated, &t.Depth)
	if err != nil {
		return t, err
	}
	t.Kind, t.Stage = Kind(kind), Stage(stage)
	if exclude != "" {
		t.Exclude = strings.Split(exclude, ",")
	}
	if assignTo != "" {
		t.AssignTo = strings.Split(assignTo, ",")
	}
	if next != 0 {
		t.NextAt = time.UnixMilli(next)
	}
	t.Created, t.Updated = time.UnixMilli(created), time.UnixMilli(updated)
	return t, nil
}

// ScanTasks reads every row of a query selecting TaskColumns.
func ScanTasks(rows Rows) ([]Task, error) {
	var out []Task
	for rows.Next() {
		t, err := ScanTask(rows)
		if err != nil {
			return nil, fmt.Errorf("read tasks: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read tasks: %w", err)
	}
	return out, nil
}

// LinkColumns are the columns of a links query, in the order ScanLinks reads them.
const LinkColumns = "seq, parent, parent_process, child, child_process, kind, created"

// ScanLinks reads the rows of a query selecting LinkColumns (created in Unix ms), for every store.
func ScanLinks(rows Rows) ([]Link, error) {
	var out []Link
	for rows.Next() {
		var l Link
		var kind string
		var created int64
		if err := rows.Scan(&l.Seq, &l.Parent, &l.ParentProcess, &l.Child, &l.ChildProcess, &kind, &created); err != nil {
			return nil, fmt.Errorf("read links: %w", err)
		}
		l.Kind, l.Created = Kind(kind), time.UnixMilli(created)
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read links: %w", err)
	}
	return out, nil
}

// ScanMonitors reads the rows of a monitors query selecting the process, its cursor and created (Unix ms), in
// that order (the column names differ by store: "cursor" is reserved in PostgreSQL).
func ScanMonitors(rows Rows) ([]Monitor, error) {
	var out []Monitor
	for rows.Next() {
		var m Monitor
		var created int64
		if err := rows.Scan(&m.Process, &m.Cursor, &created); err != nil {
			return nil, fmt.Errorf("read monitors: %w", err)
		}
		m.Created = time.UnixMilli(created)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read monitors: %w", err)
	}
	return out, nil
}
