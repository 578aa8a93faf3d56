package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/aogo/aogo/su"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// SUStore is the Scheduler Unit's store in one SQLite file: WAL, synchronous FULL, so a committed slot survives
// a crash of the process or the machine. One connection writes (SQLite has one writer; the SU commits in
// groups anyway); a small pool reads beside it.
type SUStore struct {
	w, r   *sql.DB
	insert *sql.Stmt
	queue  *sql.Stmt
	// Prepared reads: parsing SQL per call costs as much as running it.
	last, find, content, item *sql.Stmt
}

var _ su.Store = (*SUStore)(nil)

const suSchema = `
CREATE TABLE IF NOT EXISTS su_slots (
	id INTEGER PRIMARY KEY,
	process TEXT NOT NULL,
	nonce INTEGER NOT NULL,
	timestamp INTEGER NOT NULL,
	block_height INTEGER NOT NULL,
	hash_chain TEXT NOT NULL,
	assignment_id TEXT NOT NULL,
	message_id TEXT NOT NULL,
	content_hash TEXT,
	assignment BLOB NOT NULL,
	message BLOB
);
CREATE UNIQUE INDEX IF NOT EXISTS su_slots_nonce ON su_slots(process, nonce);
CREATE UNIQUE INDEX IF NOT EXISTS su_slots_timestamp ON su_slots(process, timestamp);
CREATE UNIQUE INDEX IF NOT EXISTS su_slots_message ON su_slots(message_id, process);
CREATE UNIQUE INDEX IF NOT EXISTS su_slots_assignment ON su_slots(assignment_id);
CREATE INDEX IF NOT EXISTS su_slots_content ON su_slots(process, content_hash) WHERE content_hash IS NOT NULL;
CREATE TABLE IF NOT EXISTS su_uploads (
	seq INTEGER PRIMARY KEY AUTOINCREMENT,
	item BLOB NOT NULL
);
`

const suColumns = `process, nonce, timestamp, block_height, hash_chain, assignment_id, message_id, content_hash, assignment, message`

// OpenSU opens (creating if needed) the SU store at path.
func OpenSU(path string) (*SUStore, error) {
	// Rows live in insertion (rowid) order, so an insert appends; the indexes carry the lookups. mmap spares the
	// readers a pread per page.
	base := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=mmap_size(1073741824)&_pragma=cache_size(-32000)"
	w, err := sql.Open("sqlite", base+"&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open su store %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if _, err := w.Exec(suSchema); err != nil {
		w.Close()
		return nil, fmt.Errorf("su store %s: create schema: %w", path, err)
	}
	r, err := sql.Open("sqlite", base+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open su store %s for reading: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	s := &SUStore{w: w, r: r}
	for _, p := range []struct {
		db  *sql.DB
		dst **sql.Stmt
		sql string
	}{
		{w, &s.insert, `INSERT INTO su_slots (` + suColumns + `) VALUES (?,?,?,?,?,?,?,?,?,?)`},
		{w, &s.queue, `INSERT INTO su_uploads (item) VALUES (?)`},
		{r, &s.last, `SELECT ` + suColumns + ` FROM su_slots WHERE process = ?1 ORDER BY nonce DESC LIMIT 1`},
		{r, &s.find, `SELECT ` + suColumns + ` FROM su_slots WHERE message_id = ?1 AND process = ?2 UNION ALL
			SELECT ` + suColumns + ` FROM su_slots WHERE assignment_id = ?1 AND process = ?2 LIMIT 1`},
		{r, &s.content, `SELECT ` + suColumns + ` FROM su_slots WHERE process = ?1 AND content_hash = ?2 LIMIT 1`},
		{r, &s.item, `SELECT message FROM su_slots WHERE message_id = ?1 AND message IS NOT NULL LIMIT 1`},
	} {
		if *p.dst, err = p.db.Prepare(p.sql); err != nil {
			break
		}
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("su store %s: prepare: %w", path, err)
	}
	return s, nil
}

// Close closes the database.
func (s *SUStore) Close() error {
	return errors.Join(s.r.Close(), s.w.Close())
}

// Commit writes slots and uploads in one transaction.
func (s *SUStore) Commit(ctx context.Context, slots []su.Slot, uploads [][]byte) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("su commit: begin: %w", err)
	}
	defer tx.Rollback()
	ins := tx.StmtContext(ctx, s.insert)
	for i := range slots {
		sl := &slots[i]
		var content any
		if sl.ContentHash != "" {
			content = sl.ContentHash
		}
		var msg any
		if sl.Message != nil {
			msg = sl.Message
		}
		if _, err := ins.ExecContext(ctx, sl.Process, int64(sl.Nonce), sl.Timestamp, int64(sl.BlockHeight), sl.HashChain,
			sl.AssignmentID, sl.MessageID, content, sl.Assignment, msg); err != nil {
			return fmt.Errorf("su commit: slot %d of %s: %w", sl.Nonce, sl.Process, err)
		}
	}
	q := tx.StmtContext(ctx, s.queue)
	for _, up := range uploads {
		if _, err := q.ExecContext(ctx, up); err != nil {
			return fmt.Errorf("su commit: queue upload: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("su commit: %w", err)
	}
	return nil
}

func scanSUSlot(row interface{ Scan(...any) error }) (su.Slot, error) {
	var sl su.Slot
	var nonce, height int64
	var content sql.NullString
	err := row.Scan(&sl.Process, &nonce, &sl.Timestamp, &height, &sl.HashChain, &sl.AssignmentID, &sl.MessageID,
		&content, &sl.Assignment, &sl.Message)
	if errors.Is(err, sql.ErrNoRows) {
		return sl, su.ErrNotFound
	}
	sl.Nonce, sl.BlockHeight, sl.ContentHash = uint64(nonce), uint64(height), content.String
	return sl, err
}

func (s *SUStore) one(ctx context.Context, stmt *sql.Stmt, args ...any) (su.Slot, error) {
	sl, err := scanSUSlot(stmt.QueryRowContext(ctx, args...))
	if err != nil && !errors.Is(err, su.ErrNotFound) {
		return sl, fmt.Errorf("su store: %w", err)
	}
	return sl, err
}

// Last returns the highest-nonce slot of pid.
func (s *SUStore) Last(ctx context.Context, pid string) (su.Slot, error) {
	return s.one(ctx, s.last, pid)
}

// Find returns the slot of pid whose message or assignment id is id.
func (s *SUStore) Find(ctx context.Context, pid, id string) (su.Slot, error) {
	return s.one(ctx, s.find, id, pid)
}

// FindContent returns the slot of pid with content hash h.
func (s *SUStore) FindContent(ctx context.Context, pid, h string) (su.Slot, error) {
	return s.one(ctx, s.content, pid, h)
}

// Item returns the raw item with id from any slot that holds it.
func (s *SUStore) Item(ctx context.Context, id string) ([]byte, error) {
	var b []byte
	err := s.item.QueryRowContext(ctx, id).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, su.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("su store: item %s: %w", id, err)
	}
	return b, nil
}

// Page returns the slots of pid that q selects, ascending.
func (s *SUStore) Page(ctx context.Context, pid string, q su.PageQuery) ([]su.Slot, error) {
	col := "timestamp"
	if q.ByNonce {
		col = "nonce"
	}
	var where strings.Builder
	where.WriteString("process = ?")
	args := []any{pid}
	if q.HasFrom {
		where.WriteString(" AND " + col + " > ?")
		args = append(args, q.From)
	}
	if q.HasTo {
		where.WriteString(" AND " + col + " <= ?")
		args = append(args, q.To)
	}
	args = append(args, q.Limit)
	rows, err := s.r.QueryContext(ctx, `SELECT `+suColumns+` FROM su_slots WHERE `+where.String()+` ORDER BY `+col+` LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("su store: page of %s: %w", pid, err)
	}
	defer rows.Close()
	var out []su.Slot
	for rows.Next() {
		sl, err := scanSUSlot(rows)
		if err != nil {
			return nil, fmt.Errorf("su store: page of %s: %w", pid, err)
		}
		out = append(out, sl)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("su store: page of %s: %w", pid, err)
	}
	return out, nil
}

// PendingUploads returns up to limit queued uploads, oldest first.
func (s *SUStore) PendingUploads(ctx context.Context, limit int) ([]su.Upload, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT seq, item FROM su_uploads ORDER BY seq LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("su store: upload queue: %w", err)
	}
	defer rows.Close()
	var out []su.Upload
	for rows.Next() {
		var up su.Upload
		if err := rows.Scan(&up.Seq, &up.Item); err != nil {
			return nil, fmt.Errorf("su store: upload queue: %w", err)
		}
		out = append(out, up)
	}
	return out, rows.Err()
}

// DeleteUploads removes delivered uploads.
func (s *SUStore) DeleteUploads(ctx context.Context, seqs []int64) error {
	if len(seqs) == 0 {
		return nil
	}
	args := make([]any, len(seqs))
	for i, v := range seqs {
		args[i] = v
	}
	q := `DELETE FROM su_uploads WHERE seq IN (?` + strings.Repeat(",?", len(seqs)-1) + `)`
	if _, err := s.w.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("su store: dequeue uploads: %w", err)
	}
	return nil
}

// ScanIDs calls fn for every slot of pid.
func (s *SUStore) ScanIDs(ctx context.Context, pid string, fn func(messageID, contentHash string)) error {
	rows, err := s.r.QueryContext(ctx, `SELECT message_id, content_hash FROM su_slots WHERE process = ?`, pid)
	if err != nil {
		return fmt.Errorf("su store: ids of %s: %w", pid, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var content sql.NullString
		if err := rows.Scan(&id, &content); err != nil {
			return fmt.Errorf("su store: ids of %s: %w", pid, err)
		}
		fn(id, content.String)
	}
	return rows.Err()
}
