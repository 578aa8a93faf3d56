// Package postgres holds the PostgreSQL stores of the aogo units (pgx/v5), for operators who run units on
// separate hosts or want a managed database. Each unit's store lives in its own file and its own tables.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"sync"

	"github.com/aogo/aogo/su"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// SUStore is the Scheduler Unit's store in PostgreSQL. A commit is one transaction (slots and uploads with
// COPY), durable when COMMIT returns (synchronous_commit as the server sets it; keep it on).
//
// Several SU replicas (same wallet) may share one database: the store is Shared. Each commit takes a
// transaction-scoped advisory lock per process of its batch (per bucket of processes), in one fixed order (so two committers never
// deadlock), reads each process's durable head under it and refuses the whole batch with a *su.ConflictError
// when a head moved: a process has one writer at a time, its nonces and hash chain stay dense, and a replica
// killed mid-commit leaves nothing (the server rolls its transaction back and frees its locks when its
// connection drops). The upload queue is drained by one replica at a time (HoldUploads).
type SUStore struct {
	pool *pgxpool.Pool

	// drainer is the dedicated connection that holds (holding) or competes for the upload-drainer advisory
	// lock (session scope); nil until HoldUploads first runs or after the connection was lost.
	drainMu sync.Mutex
	drainer *pgx.Conn
	holding bool
}

var _ su.Store = (*SUStore)(nil)

const suSchema = `
CREATE TABLE IF NOT EXISTS su_slots (
	process TEXT NOT NULL,
	nonce BIGINT NOT NULL,
	timestamp BIGINT NOT NULL,
	block_height BIGINT NOT NULL,
	hash_chain TEXT NOT NULL,
	assignment_id TEXT NOT NULL,
	message_id TEXT NOT NULL,
	content_hash TEXT,
	assignment BYTEA NOT NULL,
	message BYTEA,
	PRIMARY KEY (process, nonce)
);
CREATE UNIQUE INDEX IF NOT EXISTS su_slots_timestamp ON su_slots(process, timestamp);
CREATE UNIQUE INDEX IF NOT EXISTS su_slots_message ON su_slots(message_id, process);
CREATE UNIQUE INDEX IF NOT EXISTS su_slots_assignment ON su_slots(assignment_id);
CREATE INDEX IF NOT EXISTS su_slots_content ON su_slots(process, content_hash) WHERE content_hash IS NOT NULL;
CREATE TABLE IF NOT EXISTS su_uploads (
	seq BIGSERIAL PRIMARY KEY,
	item BYTEA NOT NULL
);
-- An upload is an item as it is (item), or the message (part 0) or assignment (part 1) of a slot, by
-- reference, so that a scheduled message is written once. Earlier versions queued items only.
ALTER TABLE su_uploads ALTER COLUMN item DROP NOT NULL;
ALTER TABLE su_uploads ADD COLUMN IF NOT EXISTS process TEXT;
ALTER TABLE su_uploads ADD COLUMN IF NOT EXISTS nonce BIGINT;
ALTER TABLE su_uploads ADD COLUMN IF NOT EXISTS part SMALLINT;
`

var suColumnList = []string{"process", "nonce", "timestamp", "block_height", "hash_chain", "assignment_id", "message_id",
	"content_hash", "assignment", "message"}

var suColumns = strings.Join(suColumnList, ", ")

// OpenSU connects to dsn (a postgres:// URL or key=value string; extra parameters such as search_path are
// passed to the server) and creates the SU tables if needed.
func OpenSU(ctx context.Context, dsn string) (*SUStore, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("su store: parse dsn: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("su store: connect: %w", err)
	}
	// Several units may create their tables at once on a fresh database; serialise DDL with an advisory lock.
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(schemaLockKey)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, suSchema)
		return err
	}); err != nil {
		pool.Close()
		return nil, fmt.Errorf("su store: create schema: %w", err)
	}
	return &SUStore{pool: pool}, nil
}

// Close releases the drainer lock and closes the pool.
func (s *SUStore) Close() error {
	s.drainMu.Lock()
	if s.drainer != nil {
		s.drainer.Close(context.Background())
		s.drainer = nil
	}
	s.drainMu.Unlock()
	s.pool.Close()
	return nil
}

// Shared reports that other SU replicas may write to this store: the SU then trusts no cached view of a log's
// end (su.Config.Replicated).
func (s *SUStore) Shared() bool { return true }

// Advisory lock keys. The schema lock is a single bigint key (the drainer's is a hash of the schema's name, see
// HoldUploads); process locks use the two-int form
// (lockClass, bucket), a separate key space. A process's bucket is a hash of its id into processLockBuckets:
// sharing a bucket only makes two processes' commits wait for each other, never lets two writers into one
// process. The fixed bucket count bounds the locks a commit holds (PostgreSQL's shared lock table holds
// max_locks_per_transaction × max_connections, 6400 by default) whatever the batch size.
const (
	schemaLockKey      = 7135001
	lockClass          = 7135
	processLockBuckets = 1024
)

// processLockKeys returns the lock buckets of pids, sorted and distinct: every committer takes them in this
// order, so two commits never wait on each other in a cycle.
func processLockKeys(pids []string) []int32 {
	keys := make([]int32, len(pids))
	for i, pid := range pids {
		h := fnv.New32a()
		h.Write([]byte(pid))
		keys[i] = int32(h.Sum32() % processLockBuckets)
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// fence locks the processes of a batch for this transaction and checks that each one's first slot follows its
// durable head. The lock and the head read are pipelined in one round trip; they are separate statements, so
// under READ COMMITTED the read's snapshot is taken after the lock is granted and sees every slot committed by
// the lock's previous holder.
func fence(ctx context.Context, tx pgx.Tx, slots []su.Slot) error {
	pids, firsts, err := su.FirstNonces(slots)
	if err != nil {
		return err
	}
	b := &pgx.Batch{}
	b.Queue(`SELECT pg_advisory_xact_lock($1, k) FROM unnest($2::int4[]) WITH ORDINALITY AS t(k, i) ORDER BY i`,
		int32(lockClass), processLockKeys(pids))
	b.Queue(`SELECT (SELECT nonce FROM su_slots WHERE process = p ORDER BY nonce DESC LIMIT 1)
		FROM unnest($1::text[]) WITH ORDINALITY AS t(p, i) ORDER BY i`, pids)
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return fmt.Errorf("lock %d processes: %w", len(pids), err)
	}
	rows, err := br.Query()
	if err != nil {
		return fmt.Errorf("read heads: %w", err)
	}
	heads := make([]*int64, 0, len(pids))
	for rows.Next() {
		var n *int64
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return fmt.Errorf("read heads: %w", err)
		}
		heads = append(heads, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read heads: %w", err)
	}
	if len(heads) != len(pids) {
		return fmt.Errorf("read heads: %d rows for %d processes", len(heads), len(pids))
	}
	if err := br.Close(); err != nil {
		return fmt.Errorf("lock and read heads: %w", err)
	}
	return su.CheckHeads(pids, firsts, func(i int) (uint64, bool) {
		if heads[i] == nil {
			return 0, false
		}
		return uint64(*heads[i]), true
	})
}

// Commit writes slots and uploads in one transaction, after fencing every process of the batch (fence): a
// *su.ConflictError means nothing was written.
func (s *SUStore) Commit(ctx context.Context, slots []su.Slot, uploads [][]byte) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if len(slots) > 0 {
			if err := fence(ctx, tx, slots); err != nil {
				return err
			}
			rows := make([][]any, len(slots))
			for i := range slots {
				sl := &slots[i]
				var content, msg any
				if sl.ContentHash != "" {
					content = sl.ContentHash
				}
				if sl.Message != nil {
					msg = sl.Message
				}
				rows[i] = []any{sl.Process, int64(sl.Nonce), sl.Timestamp, int64(sl.BlockHeight), sl.HashChain,
					sl.AssignmentID, sl.MessageID, content, sl.Assignment, msg}
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"su_slots"}, suColumnList, pgx.CopyFromRows(rows)); err != nil {
				return fmt.Errorf("copy %d slots: %w", len(slots), err)
			}
		}
		// The items of slots marked Upload by reference (message, when held, then assignment), then the others.
		var rows [][]any
		for _, r := range su.SlotUploads(slots) {
			rows = append(rows, []any{nil, r.Process, int64(r.Nonce), int16(r.Part)})
		}
		for _, up := range uploads {
			rows = append(rows, []any{up, nil, nil, nil})
		}
		if len(rows) > 0 {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"su_uploads"}, []string{"item", "process", "nonce", "part"}, pgx.CopyFromRows(rows)); err != nil {
				return fmt.Errorf("queue %d uploads: %w", len(rows), err)
			}
		}
		return nil
	})
	var conflict *su.ConflictError
	if errors.As(err, &conflict) {
		return conflict
	}
	if err != nil {
		return fmt.Errorf("su commit: %w", err)
	}
	return nil
}

func scanSUSlot(row pgx.Row) (su.Slot, error) {
	var sl su.Slot
	var nonce, height int64
	var content *string
	err := row.Scan(&sl.Process, &nonce, &sl.Timestamp, &height, &sl.HashChain, &sl.AssignmentID, &sl.MessageID,
		&content, &sl.Assignment, &sl.Message)
	if errors.Is(err, pgx.ErrNoRows) {
		return sl, su.ErrNotFound
	}
	if err != nil {
		return sl, fmt.Errorf("su store: %w", err)
	}
	sl.Nonce, sl.BlockHeight = uint64(nonce), uint64(height)
	if content != nil {
		sl.ContentHash = *content
	}
	return sl, nil
}

func (s *SUStore) one(ctx context.Context, where string, args ...any) (su.Slot, error) {
	return scanSUSlot(s.pool.QueryRow(ctx, `SELECT `+suColumns+` FROM su_slots WHERE `+where+` LIMIT 1`, args...))
}

// Last returns the highest-nonce slot of pid.
func (s *SUStore) Last(ctx context.Context, pid string) (su.Slot, error) {
	return s.one(ctx, `process = $1 ORDER BY nonce DESC`, pid)
}

// Find returns the slot of pid whose message or assignment id is id.
func (s *SUStore) Find(ctx context.Context, pid, id string) (su.Slot, error) {
	return scanSUSlot(s.pool.QueryRow(ctx, `(SELECT `+suColumns+` FROM su_slots WHERE message_id = $1 AND process = $2)
		UNION ALL (SELECT `+suColumns+` FROM su_slots WHERE assignment_id = $1 AND process = $2) LIMIT 1`, id, pid))
}

// FindContent returns the slot of pid with content hash h.
func (s *SUStore) FindContent(ctx context.Context, pid, h string) (su.Slot, error) {
	return s.one(ctx, `process = $1 AND content_hash = $2`, pid, h)
}

// Item returns the raw item with id from any slot that holds it.
func (s *SUStore) Item(ctx context.Context, id string) ([]byte, error) {
	var b []byte
	err := s.pool.QueryRow(ctx, `SELECT message FROM su_slots WHERE message_id = $1 AND message IS NOT NULL LIMIT 1`, id).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
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
	where := "process = $1"
	args := []any{pid}
	if q.HasFrom {
		args = append(args, q.From)
		where += fmt.Sprintf(" AND %s > $%d", col, len(args))
	}
	if q.HasTo {
		args = append(args, q.To)
		where += fmt.Sprintf(" AND %s <= $%d", col, len(args))
	}
	args = append(args, q.Limit)
	rows, err := s.pool.Query(ctx, fmt.Sprintf(`SELECT %s FROM su_slots WHERE %s ORDER BY %s LIMIT $%d`, suColumns, where, col, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("su store: page of %s: %w", pid, err)
	}
	defer rows.Close()
	var out []su.Slot
	size := 0
	for rows.Next() {
		sl, err := scanSUSlot(rows)
		if err != nil {
			return nil, err
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
	rows, err := s.pool.Query(ctx, `SELECT u.seq, CASE WHEN u.item IS NOT NULL THEN u.item WHEN u.part = 0 THEN s.message
		ELSE s.assignment END FROM su_uploads u LEFT JOIN su_slots s ON s.process = u.process AND s.nonce = u.nonce
		ORDER BY u.seq LIMIT $1`, limit)
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
	if _, err := s.pool.Exec(ctx, `DELETE FROM su_uploads WHERE seq = ANY($1)`, seqs); err != nil {
		return fmt.Errorf("su store: dequeue uploads: %w", err)
	}
	return nil
}

// ScanIDs calls fn for every slot of pid.
func (s *SUStore) ScanIDs(ctx context.Context, pid string, fn func(messageID, contentHash string)) error {
	rows, err := s.pool.Query(ctx, `SELECT message_id, content_hash FROM su_slots WHERE process = $1`, pid)
	if err != nil {
		return fmt.Errorf("su store: ids of %s: %w", pid, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var content *string
		if err := rows.Scan(&id, &content); err != nil {
			return fmt.Errorf("su store: ids of %s: %w", pid, err)
		}
		c := ""
		if content != nil {
			c = *content
		}
		fn(id, c)
	}
	return rows.Err()
}

// HoldUploads reports whether this store holds the upload-drainer lock, taking it when it is free: of the SU
// replicas sharing the database, only the holder drains the upload queue, so an item is not sent by two of them
// at once. The lock is a session advisory lock on a dedicated connection: the server frees it the moment that
// connection ends, so a replica that dies (kill -9 included) hands the queue over on the next poll of another.
// Each call costs one round trip on that connection, which also proves the lock still held; a lost connection
// loses the lock, and the next call connects and competes again.
func (s *SUStore) HoldUploads(ctx context.Context) (bool, error) {
	s.drainMu.Lock()
	defer s.drainMu.Unlock()
	if s.drainer == nil {
		conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
		if err != nil {
			return false, fmt.Errorf("su store: connect for the upload drainer lock: %w", err)
		}
		s.drainer, s.holding = conn, false
	}
	var err error
	if s.holding {
		_, err = s.drainer.Exec(ctx, `SELECT 1`)
	} else {
		// Taking a session lock twice would stack it; only ask while not holding it.
		// Advisory locks are database-wide: the key names the schema too, so SUs of other deployments (other
		// schemas of the same database) each elect their own drainer.
		err = s.drainer.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended(current_schema() || '/aogo su upload drainer', 0))`).Scan(&s.holding)
	}
	if err != nil {
		s.drainer.Close(context.Background())
		s.drainer, s.holding = nil, false
		return false, fmt.Errorf("su store: upload drainer lock: %w", err)
	}
	return s.holding, nil
}
