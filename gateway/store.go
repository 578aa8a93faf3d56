package gateway

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/internal/sqlstmt"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// store keeps items in SQLite (WAL) under a data directory: one row per item with its header fields, a tags
// table indexed for the GraphQL tag filters, and the raw item bytes inline or, past inlineLimit, in a file.
type store struct {
	dir         string
	w           *sql.DB // one connection: SQLite has one writer
	r           *sql.DB // readers, concurrent under WAL
	ws          *sqlstmt.Cache
	inlineLimit int
}

// itemRow is an item as stored: its header, where its data is, and when it was posted.
type itemRow struct {
	Seq          int64
	ID           string
	SigType      dataitem.SignatureType
	Owner        []byte
	OwnerAddress string
	Target       string
	Anchor       string
	Signature    []byte
	Tags         []dataitem.Tag
	ContentType  string // the Content-Type tag, "" when none
	DataOffset   int64  // of the data within the raw item
	DataSize     int64
	RawSize      int64
	Height       uint64
	Timestamp    int64 // ms
	BundledIn    string
	inFile       bool
}

const schema = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
	seq INTEGER PRIMARY KEY AUTOINCREMENT,
	id TEXT NOT NULL UNIQUE,
	sig_type INTEGER NOT NULL,
	owner BLOB NOT NULL,
	owner_address TEXT NOT NULL,
	target TEXT NOT NULL,
	anchor TEXT NOT NULL,
	signature BLOB NOT NULL,
	tags TEXT NOT NULL,
	content_type TEXT NOT NULL,
	data_offset INTEGER NOT NULL,
	data_size INTEGER NOT NULL,
	raw_size INTEGER NOT NULL,
	raw BLOB,
	height INTEGER NOT NULL,
	timestamp INTEGER NOT NULL,
	bundled_in TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS items_height ON items(height, seq);
CREATE INDEX IF NOT EXISTS items_owner ON items(owner_address, height, seq);
CREATE INDEX IF NOT EXISTS items_target ON items(target, height, seq);
CREATE INDEX IF NOT EXISTS items_bundled_in ON items(bundled_in, height, seq);
CREATE TABLE IF NOT EXISTS tags (
	seq INTEGER NOT NULL,
	idx INTEGER NOT NULL,
	name TEXT NOT NULL,
	value TEXT NOT NULL,
	PRIMARY KEY (seq, idx)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tags_name_value ON tags(name, value, seq);
`

func openStore(dir string, inlineLimit int) (*store, error) {
	if err := os.MkdirAll(filepath.Join(dir, "blobs"), 0o755); err != nil {
		return nil, fmt.Errorf("gateway store: %w", err)
	}
	path := filepath.Join(dir, "gateway.db")
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(FULL)"
	w, err := sql.Open("sqlite", dsn+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("gateway store: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	if _, err := w.Exec(schema); err != nil {
		w.Close()
		return nil, fmt.Errorf("gateway store: create schema: %w", err)
	}
	r, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("gateway store: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(8)
	ws, err := sqlstmt.Prepare(w, insertItemSQL, insertTagSQL, itemHeightSQL)
	if err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("gateway store: %w", err)
	}
	return &store{dir: dir, w: w, r: r, ws: ws, inlineLimit: inlineLimit}, nil
}

func (s *store) close() error {
	s.ws.Close()
	return errors.Join(s.r.Close(), s.w.Close())
}

// genesis returns the stored genesis time, storing t when there is none yet, so heights survive restarts.
func (s *store) genesis(ctx context.Context, t time.Time) (time.Time, error) {
	if _, err := s.w.ExecContext(ctx, `INSERT OR IGNORE INTO meta(key, value) VALUES ('genesis_ms', ?)`,
		strconv.FormatInt(t.UnixMilli(), 10)); err != nil {
		return time.Time{}, fmt.Errorf("gateway store: save genesis: %w", err)
	}
	var v string
	if err := s.w.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'genesis_ms'`).Scan(&v); err != nil {
		return time.Time{}, fmt.Errorf("gateway store: read genesis: %w", err)
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("gateway store: genesis %q: %w", v, err)
	}
	return time.UnixMilli(ms), nil
}

func (s *store) blobPath(id string) string { return filepath.Join(s.dir, "blobs", id) }

// writeBlob streams an item's raw bytes (exactly size of them from r) to its file, through a temporary file
// in tmp that is synced and renamed: the file is whole or absent. An item already there is left as it is
// (content-addressed by id: same id, same bytes).
func (s *store) writeBlob(id, tmp string, r io.Reader, size int64) error {
	path := s.blobPath(id)
	if st, err := os.Stat(path); err == nil && st.Size() == size {
		return nil
	}
	f, err := os.CreateTemp(tmp, "blob-*")
	if err != nil {
		return fmt.Errorf("gateway store: item %s: %w", id, err)
	}
	defer os.Remove(f.Name()) // after the rename: nothing to remove
	n, err := io.CopyBuffer(f, io.LimitReader(r, size), make([]byte, copyBuf))
	if err == nil && n != size {
		err = fmt.Errorf("%d of %d bytes: %w", n, size, io.ErrUnexpectedEOF)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("gateway store: item %s: %w", id, err)
	}
	return nil
}

// adoptBlob makes a spooled upload that is exactly one item that item's file, without copying it.
func (s *store) adoptBlob(id string, f *os.File, size int64) error {
	path := s.blobPath(id)
	if st, err := os.Stat(path); err == nil && st.Size() == size {
		return nil
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("gateway store: item %s: %w", id, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("gateway store: item %s: %w", id, err)
	}
	return nil
}

// The statements of an upload, prepared once (sqlstmt).
const (
	insertItemSQL = `INSERT OR IGNORE INTO items (id, sig_type, owner, owner_address, target, anchor,
		signature, tags, content_type, data_offset, data_size, raw_size, raw, height, timestamp, bundled_in)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	insertTagSQL  = `INSERT INTO tags (seq, idx, name, value) VALUES (?, ?, ?, ?)`
	itemHeightSQL = `SELECT height FROM items WHERE id = ?`
)

// insertFunc stores one item's row (with its raw bytes when inline, nil when in its file) and returns the
// height it has: its own, or the one it was first stored at.
type insertFunc func(ctx context.Context, r itemRow, raw []byte) (uint64, error)

// put calls fill with an insert function, all in one transaction: either every row fill inserts is stored or
// none. Large items' files must be written before (writeBlob): a file without a row is harmless, a row without
// its file would not be.
func (s *store) put(ctx context.Context, fill func(insert insertFunc) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("gateway store: begin: %w", err)
	}
	defer tx.Rollback()
	ins, err := s.ws.InTx(ctx, tx, insertItemSQL)
	if err != nil {
		return fmt.Errorf("gateway store: %w", err)
	}
	insTag, err := s.ws.InTx(ctx, tx, insertTagSQL)
	if err != nil {
		return fmt.Errorf("gateway store: %w", err)
	}
	insert := func(ctx context.Context, r itemRow, raw []byte) (uint64, error) {
		tagsJSON, err := json.Marshal(r.Tags)
		if err != nil {
			return 0, fmt.Errorf("gateway store: item %s tags: %w", r.ID, err)
		}
		res, err := ins.ExecContext(ctx, r.ID, int(r.SigType), r.Owner, r.OwnerAddress, r.Target, r.Anchor, r.Signature,
			string(tagsJSON), r.ContentType, r.DataOffset, r.DataSize, r.RawSize, raw, int64(r.Height), r.Timestamp, r.BundledIn)
		if err != nil {
			return 0, fmt.Errorf("gateway store: insert %s: %w", r.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var h int64
			if err := s.ws.QueryRow(ctx, tx, itemHeightSQL, r.ID).Scan(&h); err != nil {
				return 0, fmt.Errorf("gateway store: existing %s: %w", r.ID, err)
			}
			return uint64(h), nil
		}
		seq, err := res.LastInsertId()
		if err != nil {
			return 0, fmt.Errorf("gateway store: insert %s: %w", r.ID, err)
		}
		for j, t := range r.Tags {
			if _, err := insTag.ExecContext(ctx, seq, j, t.Name, t.Value); err != nil {
				return 0, fmt.Errorf("gateway store: insert %s tag %d: %w", r.ID, j, err)
			}
		}
		return r.Height, nil
	}
	if err := fill(insert); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("gateway store: commit: %w", err)
	}
	return nil
}

const rowColumns = `seq, id, sig_type, owner, owner_address, target, anchor, signature, tags, content_type,
	data_offset, data_size, raw_size, raw IS NULL, height, timestamp, bundled_in`

func scanRow(sc interface{ Scan(...any) error }) (*itemRow, error) {
	var r itemRow
	var sigType int
	var tags string
	var h int64
	if err := sc.Scan(&r.Seq, &r.ID, &sigType, &r.Owner, &r.OwnerAddress, &r.Target, &r.Anchor, &r.Signature, &tags,
		&r.ContentType, &r.DataOffset, &r.DataSize, &r.RawSize, &r.inFile, &h, &r.Timestamp, &r.BundledIn); err != nil {
		return nil, err
	}
	r.SigType = dataitem.SignatureType(sigType)
	r.Height = uint64(h)
	if err := json.Unmarshal([]byte(tags), &r.Tags); err != nil {
		return nil, fmt.Errorf("item %s tags: %w", r.ID, err)
	}
	return &r, nil
}

// size is about what r holds in memory, and what an answer with all its fields charges, in bytes.
func (r *itemRow) size() int {
	n := 1024 + len(r.ID) + 2*len(r.Owner) + len(r.OwnerAddress) + len(r.Target) + len(r.Anchor) + 2*len(r.Signature) +
		len(r.ContentType) + len(r.BundledIn)
	for _, t := range r.Tags {
		n += 160 + len(t.Name) + len(t.Value)
	}
	return n
}

// get returns an item's row, or ErrNotFound.
func (s *store) get(ctx context.Context, id string) (*itemRow, error) {
	r, err := scanRow(s.r.QueryRowContext(ctx, `SELECT `+rowColumns+` FROM items WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("item %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("gateway store: get %s: %w", id, err)
	}
	return r, nil
}

// rawItem is an open raw item: a ReadSeeker over all of its bytes.
type rawItem interface {
	io.ReadSeeker
	io.ReaderAt
	io.Closer
}

type bytesItem struct{ *bytes.Reader }

func (bytesItem) Close() error { return nil }

// open returns the raw bytes of an item.
func (s *store) open(ctx context.Context, r *itemRow) (rawItem, error) {
	if r.inFile {
		f, err := os.Open(s.blobPath(r.ID))
		if err != nil {
			return nil, fmt.Errorf("gateway store: open %s: %w", r.ID, err)
		}
		return f, nil
	}
	var raw []byte
	if err := s.r.QueryRowContext(ctx, `SELECT raw FROM items WHERE seq = ?`, r.Seq).Scan(&raw); err != nil {
		return nil, fmt.Errorf("gateway store: read %s: %w", r.ID, err)
	}
	return bytesItem{bytes.NewReader(raw)}, nil
}

// txFilter is a resolved transactions query.
type txFilter struct {
	ids, owners, recipients, bundledIn []string
	tags                               []TagFilter
	minHeight, maxHeight               uint64 // inclusive, when maxSet
	maxSet                             bool
	asc                                bool
	limit                              int
	after                              *cursor
	// maxBytes, when positive, ends the page early (with more) once its rows hold more bytes (itemRow.size).
	maxBytes int64
}

// cursor is a position in (height, seq) order.
type cursor struct {
	height uint64
	seq    int64
}

func (c cursor) String() string {
	return dataitem.B64([]byte(strconv.FormatUint(c.height, 10) + ":" + strconv.FormatInt(c.seq, 10)))
}

func parseCursor(s string) (*cursor, error) {
	b, err := dataitem.DecodeB64(s)
	if err != nil {
		return nil, fmt.Errorf("invalid cursor %q", s)
	}
	hs, ss, ok := strings.Cut(string(b), ":")
	h, err1 := strconv.ParseUint(hs, 10, 63)
	seq, err2 := strconv.ParseInt(ss, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return nil, fmt.Errorf("invalid cursor %q", s)
	}
	return &cursor{height: h, seq: seq}, nil
}

// driveMax is the most items a tag filter may match to drive a query (see driver).
const driveMax = 5000

// driver picks the positive tag filter that matches the fewest items, when that is at most driveMax: the query
// then starts from those items. It returns -1 when none qualifies, and the filter's arguments.
func (s *store) driver(ctx context.Context, tags []TagFilter) (int, []any, error) {
	best, bestN := -1, int64(driveMax+1)
	var bestArgs []any
	for i, t := range tags {
		if t.Op == "NEQ" || len(t.Values) == 0 {
			continue
		}
		args := []any{t.Name}
		for _, v := range t.Values {
			args = append(args, v)
		}
		var n int64
		q := `SELECT count(*) FROM (SELECT 1 FROM tags WHERE name = ? AND value IN (` + placeholders(len(t.Values)) + `) LIMIT ?)`
		if err := s.r.QueryRowContext(ctx, q, append(args, driveMax+1)...).Scan(&n); err != nil {
			return -1, nil, fmt.Errorf("gateway store: query: %w", err)
		}
		if n < bestN {
			best, bestN, bestArgs = i, n, args
		}
	}
	return best, bestArgs, nil
}

// query returns up to f.limit rows matching f and whether more follow.
func (s *store) query(ctx context.Context, f txFilter) ([]*itemRow, bool, error) {
	var where []string
	var args []any
	in := func(col string, vals []string) {
		where = append(where, col+" IN ("+placeholders(len(vals))+")")
		for _, v := range vals {
			args = append(args, v)
		}
	}
	if f.ids != nil {
		in("i.id", f.ids)
	}
	if f.owners != nil {
		in("i.owner_address", f.owners)
	}
	if f.recipients != nil {
		in("i.target", f.recipients)
	}
	if f.bundledIn != nil {
		in("i.bundled_in", f.bundledIn)
	}
	drive, driveArgs, err := s.driver(ctx, f.tags)
	if err != nil {
		return nil, false, err
	}
	for i, t := range f.tags {
		if i == drive {
			continue // the rows the query starts from
		}
		if t.Op != "NEQ" {
			// As a set of rows from the tags index, not a test of every item of an owner or a height range.
			where = append(where, "i.seq IN (SELECT t.seq FROM tags t WHERE t.name = ? AND t.value IN ("+placeholders(len(t.Values))+"))")
			args = append(args, t.Name)
			for _, v := range t.Values {
				args = append(args, v)
			}
			continue
		}
		where = append(where, "EXISTS (SELECT 1 FROM tags t WHERE t.seq = i.seq AND t.name = ? AND t.value NOT IN ("+placeholders(len(t.Values))+"))")
		args = append(args, t.Name)
		for _, v := range t.Values {
			args = append(args, v)
		}
	}
	if f.minHeight > 0 {
		where = append(where, "i.height >= ?")
		args = append(args, int64(f.minHeight))
	}
	if f.maxSet && f.maxHeight < 1<<63 {
		where = append(where, "i.height <= ?")
		args = append(args, int64(f.maxHeight))
	}
	order := "DESC"
	cmp := "<"
	if f.asc {
		order, cmp = "ASC", ">"
	}
	if f.after != nil {
		// A row value, which SQLite seeks in the (…, height, seq) indexes: the OR form made every page scan
		// from the first row.
		where = append(where, "(i.height, i.seq) "+cmp+" (?, ?)")
		args = append(args, int64(f.after.height), f.after.seq)
	}
	q := `SELECT ` + prefixed(rowColumns) + ` FROM items i`
	if drive >= 0 {
		// Few items carry the driving tag: read those (CROSS JOIN makes SQLite start there) and sort them,
		// rather than walk the height index from the first row testing each (a window of a process's nonces).
		t := f.tags[drive]
		q = `SELECT ` + prefixed(rowColumns) + ` FROM (SELECT DISTINCT seq FROM tags WHERE name = ? AND value IN (` +
			placeholders(len(t.Values)) + `)) d CROSS JOIN items i ON i.seq = d.seq`
		args = append(driveArgs, args...)
	}
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY i.height " + order + ", i.seq " + order + " LIMIT ?"
	args = append(args, f.limit+1)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, false, fmt.Errorf("gateway store: query: %w", err)
	}
	defer rows.Close()
	var out []*itemRow
	size := 0
	for rows.Next() {
		r, err := scanRow(rows)
		if err != nil {
			return nil, false, fmt.Errorf("gateway store: query: %w", err)
		}
		if size += r.size(); f.maxBytes > 0 && len(out) > 0 && len(out) < f.limit && int64(size) > f.maxBytes {
			// Over the byte budget: end the page here; the row read is the next page's first.
			return out, true, nil
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("gateway store: query: %w", err)
	}
	more := len(out) > f.limit
	if more {
		out = out[:f.limit]
	}
	return out, more, nil
}

// idsAt returns the ids of the top-level items posted at height h.
func (s *store) idsAt(ctx context.Context, h uint64) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id FROM items WHERE height = ? AND bundled_in = '' ORDER BY seq`, int64(h))
	if err != nil {
		return nil, fmt.Errorf("gateway store: block %d: %w", h, err)
	}
	defer rows.Close()
	ids := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("gateway store: block %d: %w", h, err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func placeholders(n int) string {
	if n == 0 {
		return ""
	}
	return strings.Repeat("?,", n-1) + "?"
}

func prefixed(cols string) string {
	parts := strings.Split(cols, ",")
	for i, p := range parts {
		parts[i] = "i." + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}
