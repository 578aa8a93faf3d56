package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aogo/aogo/cu"
	"github.com/aogo/aogo/internal/sqlstmt"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// CUStore is the Compute Unit's store in one SQLite file (WAL): every evaluation, scheduled and cron, keyed
// by process and evaluation sequence, with the scheduled ones also found by message id; and the checkpoint
// rows that name memory snapshot files. One connection writes, a small pool reads.
type CUStore struct {
	w, r   *sql.DB
	ws, rs *sqlstmt.Cache // the writer's and the readers' prepared statements
}

const (
	cuInsertEvalSQL = `INSERT INTO cu_evals (` + cuEvalColumns + `) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING`
	cuEvalByMsgSQL  = `SELECT ` + cuEvalColumns + ` FROM cu_evals WHERE process = ? AND message = ? AND message != ''`
)

var (
	_ cu.Store     = (*CUStore)(nil)
	_ cu.PageStore = (*CUStore)(nil)
)

// Evaluations are re-derivable from the log, so synchronous NORMAL (durable at checkpoints of the WAL, never
// corrupt) is enough: a lost tail is evaluated again, with identical results.
const cuSchema = `
CREATE TABLE IF NOT EXISTS cu_evals (
	process TEXT NOT NULL,
	seq INTEGER NOT NULL,
	message TEXT NOT NULL,
	nonce INTEGER NOT NULL,
	cron TEXT NOT NULL,
	timestamp INTEGER NOT NULL,
	block_height INTEGER NOT NULL,
	hash_chain TEXT NOT NULL,
	is_error INTEGER NOT NULL,
	result BLOB NOT NULL,
	memory_hash BLOB,
	attestation BLOB,
	PRIMARY KEY (process, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS cu_evals_message ON cu_evals(process, message) WHERE message != '';
CREATE INDEX IF NOT EXISTS cu_evals_cron ON cu_evals(process, seq) WHERE cron != '';
CREATE INDEX IF NOT EXISTS cu_evals_timestamp ON cu_evals(process, timestamp);
CREATE TABLE IF NOT EXISTS cu_checkpoints (
	process TEXT NOT NULL,
	seq INTEGER NOT NULL,
	module TEXT NOT NULL,
	nonce INTEGER NOT NULL,
	timestamp INTEGER NOT NULL,
	block_height INTEGER NOT NULL,
	hash_chain TEXT NOT NULL,
	assignment_id TEXT NOT NULL,
	cron BLOB,
	memory_hash BLOB NOT NULL,
	file TEXT NOT NULL,
	PRIMARY KEY (process, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS cu_pages (
	key BLOB PRIMARY KEY,
	data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS cu_checkpoint_pages (
	process TEXT NOT NULL,
	seq INTEGER NOT NULL,
	key BLOB NOT NULL,
	PRIMARY KEY (process, seq, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS cu_checkpoint_pages_key ON cu_checkpoint_pages(key);
`

const cuEvalColumns = `process, seq, message, nonce, cron, timestamp, block_height, hash_chain, is_error, result, memory_hash, attestation`

// OpenCU opens (creating if needed) the CU store at path.
func OpenCU(path string) (*CUStore, error) {
	base := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	w, err := sql.Open("sqlite", base+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open cu store %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	if _, err := w.Exec(cuSchema); err != nil {
		w.Close()
		return nil, fmt.Errorf("open cu store %s: schema: %w", path, err)
	}
	r, err := sql.Open("sqlite", base+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open cu store %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4) // an idle connection keeps its prepared statements
	s := &CUStore{w: w, r: r}
	if s.ws, err = sqlstmt.Prepare(w, cuInsertEvalSQL); err == nil {
		s.rs, err = sqlstmt.Prepare(r, cuEvalByMsgSQL)
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("open cu store %s: %w", path, err)
	}
	return s, nil
}

// Close closes the database.
func (s *CUStore) Close() error {
	s.ws.Close()
	s.rs.Close()
	return errors.Join(s.r.Close(), s.w.Close())
}

// SaveEvals stores evaluations in one transaction. An evaluation already stored (same process and seq, or
// same message) is kept as it is: evaluation is deterministic, so a replay after a restart produces the same
// rows, and the first one may already carry an attestation.
func (s *CUStore) SaveEvals(ctx context.Context, evals []cu.Eval) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("save evals: %w", err)
	}
	defer tx.Rollback()
	ins, err := s.ws.InTx(ctx, tx, cuInsertEvalSQL)
	if err != nil {
		return fmt.Errorf("save evals: %w", err)
	}
	for i := range evals {
		e := &evals[i]
		isErr := 0
		if e.IsError {
			isErr = 1
		}
		if _, err := ins.ExecContext(ctx, e.Process, e.Seq, e.Message, e.Nonce, e.Cron, e.Timestamp, e.BlockHeight,
			e.HashChain, isErr, e.Result, nullBytes(e.MemoryHash), nullBytes(e.Attestation)); err != nil {
			return fmt.Errorf("save eval %s/%d: %w", e.Process, e.Seq, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("save evals: commit: %w", err)
	}
	return nil
}

func nullBytes(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

func scanCUEval(row interface{ Scan(...any) error }) (cu.Eval, error) {
	var e cu.Eval
	var isErr int
	err := row.Scan(&e.Process, &e.Seq, &e.Message, &e.Nonce, &e.Cron, &e.Timestamp, &e.BlockHeight, &e.HashChain,
		&isErr, &e.Result, &e.MemoryHash, &e.Attestation)
	e.IsError = isErr != 0
	return e, err
}

// EvalByMessage returns the evaluation of scheduled message mid in pid.
func (s *CUStore) EvalByMessage(ctx context.Context, pid, mid string) (*cu.Eval, error) {
	e, err := scanCUEval(s.rs.QueryRow(ctx, nil, cuEvalByMsgSQL, pid, mid))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("result of %s in %s: %w", mid, pid, cu.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("result of %s in %s: %w", mid, pid, err)
	}
	return &e, nil
}

// Evals lists evaluations of pid in q's range, by seq.
func (s *CUStore) Evals(ctx context.Context, pid string, q cu.EvalQuery) ([]cu.Eval, bool, error) {
	where := []string{"process = ?"}
	args := []any{pid}
	if q.FromSeq != nil {
		where, args = append(where, "seq > ?"), append(args, *q.FromSeq)
	} else if q.FromTimestamp != nil {
		where, args = append(where, "timestamp > ?"), append(args, *q.FromTimestamp)
	}
	if q.ToSeq != nil {
		where, args = append(where, "seq <= ?"), append(args, *q.ToSeq)
	} else if q.ToTimestamp != nil {
		where, args = append(where, "timestamp <= ?"), append(args, *q.ToTimestamp)
	}
	if q.CronOnly {
		where = append(where, "cron != ''")
	}
	if q.SkipErrors {
		where = append(where, "is_error = 0")
	}
	order := "ASC"
	if q.Desc {
		order = "DESC"
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 1000
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+cuEvalColumns+` FROM cu_evals WHERE `+strings.Join(where, " AND ")+
		` ORDER BY seq `+order+` LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return nil, false, fmt.Errorf("results of %s: %w", pid, err)
	}
	defer rows.Close()
	var out []cu.Eval
	for rows.Next() {
		e, err := scanCUEval(rows)
		if err != nil {
			return nil, false, fmt.Errorf("results of %s: %w", pid, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("results of %s: %w", pid, err)
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, nil
}

// SetAttestation records the attestation of evaluation seq of pid.
func (s *CUStore) SetAttestation(ctx context.Context, pid string, seq int64, att []byte) error {
	res, err := s.w.ExecContext(ctx, `UPDATE cu_evals SET attestation = ? WHERE process = ? AND seq = ?`, att, pid, seq)
	if err != nil {
		return fmt.Errorf("set attestation %s/%d: %w", pid, seq, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("set attestation %s/%d: %w", pid, seq, cu.ErrNotFound)
	}
	return nil
}

// SaveCheckpoint records a checkpoint and the pages it lists, in one transaction (replacing one at the same
// seq).
func (s *CUStore) SaveCheckpoint(ctx context.Context, cp cu.Checkpoint) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("save checkpoint %s/%d: %w", cp.Process, cp.Seq, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO cu_checkpoints
		(process, seq, module, nonce, timestamp, block_height, hash_chain, assignment_id, cron, memory_hash, file)
		VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
		cp.Process, cp.Seq, cp.ModuleID, cp.Nonce, cp.Timestamp, cp.BlockHeight, cp.HashChain, cp.AssignmentID,
		nullBytes(cp.Cron), cp.MemoryHash, cp.File); err != nil {
		return fmt.Errorf("save checkpoint %s/%d: %w", cp.Process, cp.Seq, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM cu_checkpoint_pages WHERE process = ? AND seq = ?`, cp.Process, cp.Seq); err != nil {
		return fmt.Errorf("save checkpoint %s/%d: %w", cp.Process, cp.Seq, err)
	}
	if len(cp.Pages) > 0 {
		st, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO cu_checkpoint_pages (process, seq, key) VALUES (?,?,?)`)
		if err != nil {
			return fmt.Errorf("save checkpoint %s/%d: %w", cp.Process, cp.Seq, err)
		}
		defer st.Close()
		for _, k := range cp.Pages {
			if _, err := st.ExecContext(ctx, cp.Process, cp.Seq, k[:]); err != nil {
				return fmt.Errorf("save checkpoint %s/%d pages: %w", cp.Process, cp.Seq, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("save checkpoint %s/%d: commit: %w", cp.Process, cp.Seq, err)
	}
	return nil
}

// HasPage implements cu.PageStore.
func (s *CUStore) HasPage(ctx context.Context, key [32]byte) (bool, error) {
	var one int
	err := s.r.QueryRowContext(ctx, `SELECT 1 FROM cu_pages WHERE key = ?`, key[:]).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("page %x: %w", key, err)
	}
	return true, nil
}

// PutPages implements cu.PageStore, in one transaction.
func (s *CUStore) PutPages(ctx context.Context, pages []cu.Page) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("put pages: %w", err)
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO cu_pages (key, data) VALUES (?,?)`)
	if err != nil {
		return fmt.Errorf("put pages: %w", err)
	}
	defer st.Close()
	for _, p := range pages {
		if _, err := st.ExecContext(ctx, p.Key[:], p.Data); err != nil {
			return fmt.Errorf("put page %x: %w", p.Key, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("put pages: commit: %w", err)
	}
	return nil
}

// Page implements cu.PageStore.
func (s *CUStore) Page(ctx context.Context, key [32]byte) ([]byte, error) {
	var data []byte
	err := s.r.QueryRowContext(ctx, `SELECT data FROM cu_pages WHERE key = ?`, key[:]).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("page %x: %w", key, cu.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("page %x: %w", key, err)
	}
	return data, nil
}

// PruneCheckpoints implements cu.PageStore, in one transaction.
func (s *CUStore) PruneCheckpoints(ctx context.Context, keep int) ([]string, error) {
	keep = max(keep, 1)
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("prune checkpoints: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT process, seq, file FROM (SELECT process, seq, file,
		ROW_NUMBER() OVER (PARTITION BY process ORDER BY seq DESC) AS n FROM cu_checkpoints) WHERE n > ?`, keep)
	if err != nil {
		return nil, fmt.Errorf("prune checkpoints: %w", err)
	}
	type old struct {
		pid  string
		seq  int64
		file string
	}
	var olds []old
	for rows.Next() {
		var o old
		if err := rows.Scan(&o.pid, &o.seq, &o.file); err != nil {
			rows.Close()
			return nil, fmt.Errorf("prune checkpoints: %w", err)
		}
		olds = append(olds, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("prune checkpoints: %w", err)
	}
	files := map[string]bool{}
	for _, o := range olds {
		for _, q := range []string{`DELETE FROM cu_checkpoints WHERE process = ? AND seq = ?`, `DELETE FROM cu_checkpoint_pages WHERE process = ? AND seq = ?`} {
			if _, err := tx.ExecContext(ctx, q, o.pid, o.seq); err != nil {
				return nil, fmt.Errorf("prune checkpoint %s/%d: %w", o.pid, o.seq, err)
			}
		}
		files[o.file] = true
	}
	var unnamed []string
	for f := range files {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM cu_checkpoints WHERE file = ? LIMIT 1`, f).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			unnamed = append(unnamed, f)
		} else if err != nil {
			return nil, fmt.Errorf("prune checkpoints: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("prune checkpoints: commit: %w", err)
	}
	sort.Strings(unnamed)
	return unnamed, nil
}

// UnusedPages implements cu.PageStore.
func (s *CUStore) UnusedPages(ctx context.Context, limit int) ([][32]byte, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT key FROM cu_pages p
		WHERE NOT EXISTS (SELECT 1 FROM cu_checkpoint_pages c WHERE c.key = p.key) LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("unused pages: %w", err)
	}
	defer rows.Close()
	var keys [][32]byte
	for rows.Next() {
		var k []byte
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("unused pages: %w", err)
		}
		if len(k) == 32 {
			keys = append(keys, [32]byte(k))
		}
	}
	return keys, rows.Err()
}

// DeleteUnusedPages implements cu.PageStore, in one transaction.
func (s *CUStore) DeleteUnusedPages(ctx context.Context, keys [][32]byte) (int, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("delete pages: %w", err)
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, `DELETE FROM cu_pages WHERE key = ?1
		AND NOT EXISTS (SELECT 1 FROM cu_checkpoint_pages WHERE key = ?1)`)
	if err != nil {
		return 0, fmt.Errorf("delete pages: %w", err)
	}
	defer st.Close()
	n := 0
	for _, k := range keys {
		res, err := st.ExecContext(ctx, k[:])
		if err != nil {
			return 0, fmt.Errorf("delete page %x: %w", k, err)
		}
		d, _ := res.RowsAffected()
		n += int(d)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("delete pages: commit: %w", err)
	}
	return n, nil
}

// LatestCheckpoint returns pid's checkpoint with the highest seq.
func (s *CUStore) LatestCheckpoint(ctx context.Context, pid string) (*cu.Checkpoint, error) {
	var cp cu.Checkpoint
	err := s.r.QueryRowContext(ctx, `SELECT process, seq, module, nonce, timestamp, block_height, hash_chain,
		assignment_id, cron, memory_hash, file FROM cu_checkpoints WHERE process = ? ORDER BY seq DESC LIMIT 1`, pid).
		Scan(&cp.Process, &cp.Seq, &cp.ModuleID, &cp.Nonce, &cp.Timestamp, &cp.BlockHeight, &cp.HashChain,
			&cp.AssignmentID, &cp.Cron, &cp.MemoryHash, &cp.File)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("checkpoint of %s: %w", pid, cu.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoint of %s: %w", pid, err)
	}
	return &cp, nil
}
