package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aogo/aogo/su"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// SUStore is the Scheduler Unit's store in one SQLite file: WAL, synchronous FULL by default, so a committed
// slot survives a crash of the process or the machine (WithSync(SyncNormal): of the process only). One
// connection writes (SQLite has one writer; the SU commits in groups anyway); a small pool reads beside it, and
// one more connection checkpoints the WAL into the database in the background, so a commit rarely waits for a
// checkpoint.
type SUStore struct {
	w, r, ckpt *sql.DB
	// Multi-row inserts, by rows per statement (insertSizes): one statement per 32 slots costs far less than
	// 32 statements.
	insert, queue, queueRef map[int]*sql.Stmt
	// Prepared reads: parsing SQL per call costs as much as running it.
	last, find, content, item *sql.Stmt
	// head reads a process's durable head inside the write transaction (the commit's fence).
	head *sql.Stmt

	ckptMu      sync.Mutex
	ckptRunning bool
	ckptLast    time.Time
	ckptWG      sync.WaitGroup
}

// insertSizes are the row counts of the prepared multi-row inserts, largest first: a batch is written in
// chunks of these sizes.
var insertSizes = []int{32, 8, 1}

// ckptInterval spaces background checkpoints. The writer still checkpoints by itself once the WAL reaches
// walAutoCheckpoint pages; the background checkpoints keep that tail short.
const (
	ckptInterval      = 100 * time.Millisecond
	walAutoCheckpoint = 8192
)

var _ su.Store = (*SUStore)(nil)

// Ids are random, so every new slot lands on a random leaf page of an id index: a commit writes about one page
// per slot per id index. Indexing the first 11 characters (66 bits) of each id instead of the whole id (and its
// process) makes those indexes a sixth of the size, so a group commit touches (and the WAL carries) far fewer
// pages; a lookup matches the prefix in the index and the full id in the row.
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
CREATE INDEX IF NOT EXISTS su_slots_mkey ON su_slots(substr(message_id, 1, 11));
CREATE INDEX IF NOT EXISTS su_slots_akey ON su_slots(substr(assignment_id, 1, 11));
DROP INDEX IF EXISTS su_slots_message;
DROP INDEX IF EXISTS su_slots_assignment;
-- A message id holds one slot per process; the trigger checks it through the prefix index. It (and the inserts,
-- OR ROLLBACK) fail the whole transaction, which the caller rolls back anyway: that spares SQLite a statement
-- journal for every multi-row insert.
CREATE TRIGGER IF NOT EXISTS su_slots_message_unique BEFORE INSERT ON su_slots
WHEN EXISTS (SELECT 1 FROM su_slots WHERE substr(message_id, 1, 11) = substr(NEW.message_id, 1, 11)
	AND message_id = NEW.message_id AND process = NEW.process)
BEGIN SELECT RAISE(ROLLBACK, 'message id already scheduled in this process'); END;
CREATE INDEX IF NOT EXISTS su_slots_content ON su_slots(process, content_hash) WHERE content_hash IS NOT NULL;
-- The upload queue: an item as it is (item), or the message (part 0) or assignment (part 1) of a slot, by
-- reference, so that a scheduled message is written once. su_uploads, the queue of earlier versions (items
-- only), is moved in and dropped.
CREATE TABLE IF NOT EXISTS su_upload_queue (
	seq INTEGER PRIMARY KEY AUTOINCREMENT,
	item BLOB,
	process TEXT,
	nonce INTEGER,
	part INTEGER
);
CREATE TABLE IF NOT EXISTS su_uploads (seq INTEGER PRIMARY KEY AUTOINCREMENT, item BLOB NOT NULL);
INSERT INTO su_upload_queue (item) SELECT item FROM su_uploads ORDER BY seq;
DROP TABLE su_uploads;
`

const suColumns = `process, nonce, timestamp, block_height, hash_chain, assignment_id, message_id, content_hash, assignment, message`

// The id lookups name the prefix expression of their index, so SQLite can use it.
const (
	suFindSQL = `SELECT ` + suColumns + ` FROM su_slots WHERE substr(message_id, 1, 11) = substr(?1, 1, 11) AND message_id = ?1 AND process = ?2
		UNION ALL SELECT ` + suColumns + ` FROM su_slots WHERE substr(assignment_id, 1, 11) = substr(?1, 1, 11) AND assignment_id = ?1 AND process = ?2
		LIMIT 1`
	suItemSQL = `SELECT message FROM su_slots WHERE substr(message_id, 1, 11) = substr(?1, 1, 11) AND message_id = ?1
		AND message IS NOT NULL LIMIT 1`
	suDupSQL = `SELECT 1 FROM su_slots WHERE substr(message_id, 1, 11) = substr(?1, 1, 11) AND message_id = ?1 AND process = ?2`
)

// OpenSU opens (creating if needed) the SU store at path.
func OpenSU(path string, opts ...Option) (*SUStore, error) {
	sync := applyOptions(opts).sync.pragma()
	// Rows live in insertion (rowid) order, so an insert appends; the indexes carry the lookups. mmap spares the
	// readers a pread per page.
	base := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=mmap_size(1073741824)&_pragma=cache_size(-32000)"
	w, err := sql.Open("sqlite", base+"&_pragma=journal_mode(WAL)&_pragma=synchronous("+sync+")&_pragma=temp_store(MEMORY)&_txlock=immediate"+
		fmt.Sprintf("&_pragma=wal_autocheckpoint(%d)", walAutoCheckpoint))
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
	s := &SUStore{w: w, insert: map[int]*sql.Stmt{}, queue: map[int]*sql.Stmt{}, queueRef: map[int]*sql.Stmt{}}
	if s.r, err = sql.Open("sqlite", base+"&_pragma=query_only(1)"); err == nil {
		s.ckpt, err = sql.Open("sqlite", base+"&_pragma=synchronous("+sync+")")
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("open su store %s: %w", path, err)
	}
	s.r.SetMaxOpenConns(4)
	s.r.SetMaxIdleConns(4)
	s.ckpt.SetMaxOpenConns(1)
	type prep struct {
		db  *sql.DB
		dst **sql.Stmt
		sql string
	}
	preps := []prep{
		{s.r, &s.last, `SELECT ` + suColumns + ` FROM su_slots WHERE process = ?1 ORDER BY nonce DESC LIMIT 1`},
		{s.r, &s.find, suFindSQL},
		{s.r, &s.content, `SELECT ` + suColumns + ` FROM su_slots WHERE process = ?1 AND content_hash = ?2 LIMIT 1`},
		{s.r, &s.item, suItemSQL},
		{s.w, &s.head, `SELECT nonce FROM su_slots WHERE process = ?1 ORDER BY nonce DESC LIMIT 1`},
	}
	for _, p := range preps {
		if *p.dst, err = p.db.Prepare(p.sql); err != nil {
			s.Close()
			return nil, fmt.Errorf("su store %s: prepare: %w", path, err)
		}
	}
	for _, n := range insertSizes {
		if s.insert[n], err = w.Prepare(`INSERT OR ROLLBACK INTO su_slots (` + suColumns + `) VALUES ` + valuesList(n, 10)); err == nil {
			s.queue[n], err = w.Prepare(`INSERT INTO su_upload_queue (item) VALUES ` + valuesList(n, 1))
		}
		if err == nil {
			s.queueRef[n], err = w.Prepare(`INSERT INTO su_upload_queue (process, nonce, part) VALUES ` + valuesList(n, 3))
		}
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("su store %s: prepare: %w", path, err)
		}
	}
	return s, nil
}

// valuesList is "(?,…,?),…" for rows rows of cols columns.
func valuesList(rows, cols int) string {
	row := "(?" + strings.Repeat(",?", cols-1) + ")"
	return row + strings.Repeat(","+row, rows-1)
}

// Close waits for a running checkpoint and closes the database.
func (s *SUStore) Close() error {
	s.ckptMu.Lock()
	s.ckptLast = time.Now().Add(100 * 365 * 24 * time.Hour) // no new checkpoints
	s.ckptMu.Unlock()
	s.ckptWG.Wait()
	var errs []error
	for _, db := range []*sql.DB{s.r, s.ckpt, s.w} {
		if db != nil {
			errs = append(errs, db.Close())
		}
	}
	return errors.Join(errs...)
}

// Commit writes slots and uploads in one transaction, in multi-row inserts.
func (s *SUStore) Commit(ctx context.Context, slots []su.Slot, uploads [][]byte) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("su commit: begin: %w", err)
	}
	defer tx.Rollback()
	// The fence: each process's first slot must follow its durable head, read inside this (IMMEDIATE, so
	// exclusive) transaction. One SU owns a SQLite file, so this holds unless its head cache is wrong; checking
	// costs one indexed read per process and turns such a bug into a refused batch instead of a broken log.
	if len(slots) > 0 {
		pids, firsts, err := su.FirstNonces(slots)
		if err != nil {
			return err
		}
		head := tx.StmtContext(ctx, s.head)
		heads := make([]sql.NullInt64, len(pids))
		for i, pid := range pids {
			if err := head.QueryRowContext(ctx, pid).Scan(&heads[i]); err != nil && !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("su commit: head of %s: %w", pid, err)
			}
		}
		if err := su.CheckHeads(pids, firsts, func(i int) (uint64, bool) {
			return uint64(heads[i].Int64), heads[i].Valid
		}); err != nil {
			return err
		}
	}
	var refs []any
	for _, r := range su.SlotUploads(slots) {
		refs = append(refs, r.Process, int64(r.Nonce), r.Part)
	}
	args := make([]any, 0, 10*insertSizes[0])
	for len(slots) > 0 {
		n := chunk(len(slots))
		args = args[:0]
		for i := range slots[:n] {
			sl := &slots[i]
			var content, msg any
			if sl.ContentHash != "" {
				content = sl.ContentHash
			}
			if sl.Message != nil {
				msg = sl.Message
			}
			args = append(args, sl.Process, int64(sl.Nonce), sl.Timestamp, int64(sl.BlockHeight), sl.HashChain,
				sl.AssignmentID, sl.MessageID, content, sl.Assignment, msg)
		}
		if _, err := tx.StmtContext(ctx, s.insert[n]).ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("su commit: slots %d..%d of %s: %w", slots[0].Nonce, slots[n-1].Nonce, slots[0].Process, err)
		}
		slots = slots[n:]
	}
	for len(refs) > 0 {
		n := chunk(len(refs) / 3)
		if _, err := tx.StmtContext(ctx, s.queueRef[n]).ExecContext(ctx, refs[:3*n]...); err != nil {
			return fmt.Errorf("su commit: queue slot uploads: %w", err)
		}
		refs = refs[3*n:]
	}
	for len(uploads) > 0 {
		n := chunk(len(uploads))
		args = args[:0]
		for _, up := range uploads[:n] {
			args = append(args, up)
		}
		if _, err := tx.StmtContext(ctx, s.queue[n]).ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("su commit: queue uploads: %w", err)
		}
		uploads = uploads[n:]
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("su commit: %w", err)
	}
	s.maybeCheckpoint()
	return nil
}

// chunk is the largest prepared insert size that fits n rows.
func chunk(n int) int {
	for _, c := range insertSizes {
		if c <= n {
			return c
		}
	}
	return 1
}

// maybeCheckpoint starts a background PASSIVE checkpoint when none runs and the last one is ckptInterval old.
// A passive checkpoint never blocks the writer; it copies committed WAL frames into the database, so that the
// writer's own checkpoint (at walAutoCheckpoint pages, when the WAL is also reset) has little left to copy.
func (s *SUStore) maybeCheckpoint() {
	s.ckptMu.Lock()
	defer s.ckptMu.Unlock()
	if s.ckptRunning || time.Since(s.ckptLast) < ckptInterval {
		return
	}
	s.ckptRunning = true
	s.ckptWG.Add(1)
	go func() {
		defer s.ckptWG.Done()
		// Best effort: a failed or busy checkpoint is retried after the next commit, and the writer's own
		// checkpoint remains the backstop.
		s.ckpt.Exec(`PRAGMA wal_checkpoint(PASSIVE)`)
		s.ckptMu.Lock()
		s.ckptRunning = false
		if now := time.Now(); now.After(s.ckptLast) {
			s.ckptLast = now
		}
		s.ckptMu.Unlock()
	}()
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
	size := 0
	for rows.Next() {
		sl, err := scanSUSlot(rows)
		if err != nil {
			return nil, fmt.Errorf("su store: page of %s: %w", pid, err)
		}
		out = append(out, sl)
		if size += su.SlotBytes(&sl); q.MaxBytes > 0 && size > q.MaxBytes {
			break // the caller's bound on the page's memory
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("su store: page of %s: %w", pid, err)
	}
	return out, nil
}

// PendingUploads returns up to limit queued uploads, oldest first.
func (s *SUStore) PendingUploads(ctx context.Context, limit int) ([]su.Upload, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT q.seq, CASE WHEN q.item IS NOT NULL THEN q.item WHEN q.part = 0 THEN s.message
		ELSE s.assignment END FROM su_upload_queue q LEFT JOIN su_slots s ON s.process = q.process AND s.nonce = q.nonce
		ORDER BY q.seq LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("su store: upload queue: %w", err)
	}
	defer rows.Close()
	return su.ScanUploads(rows)
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
	q := `DELETE FROM su_upload_queue WHERE seq IN (?` + strings.Repeat(",?", len(seqs)-1) + `)`
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
