package mu

import (
	"fmt"
	"time"
)

// Link is one crank link: the result of message Parent, computed by ParentProcess, made the MU send, spawn or
// assign Child. The store records one for every child task with an item id that an Advance or AdvanceMonitor
// inserts (a parked child whose outbox entry was invalid has no item, hence no link), so "which message caused
// which" outlives the tasks themselves, which PruneDone removes. Explorers read them to draw message graphs.
type Link struct {
	Seq           int64  // insertion order, unique
	Parent        string // item id of the message whose result was cranked; "" for a cron result
	ParentProcess string // the process that computed that result
	Child         string // id of the child item (for an assignment: the assigned message)
	ChildProcess  string // the process the child is written to (for a spawn: the new process itself)
	Kind          Kind   // KindPush, KindSpawn or KindAssign
	Created       time.Time
}

// LinkColumns are the columns of a links query, in the order ScanLinks reads them.
const LinkColumns = "seq, parent, parent_process, child, child_process, kind, created"

// LinkRows is the part of a query's rows ScanLinks reads: database/sql's and pgx's rows both have it.
type LinkRows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// ScanLinks reads the rows of a query selecting LinkColumns (created in Unix ms), for every store.
func ScanLinks(rows LinkRows) ([]Link, error) {
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
