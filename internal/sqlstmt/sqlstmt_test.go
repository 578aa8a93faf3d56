package sqlstmt_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/aogo/aogo/internal/sqlstmt"
	_ "modernc.org/sqlite"
)

// TestCache runs prepared and unprepared statements in and out of a transaction on a one-connection pool (a
// single-writer store's shape: preparing on the pool inside the transaction would wait for ever), and checks
// that inside the transaction the prepared statement sees the transaction's own writes.
func TestCache(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "t.db")+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER)`); err != nil {
		t.Fatal(err)
	}
	const ins, get = `INSERT INTO kv (k, v) VALUES (?, ?)`, `SELECT v FROM kv WHERE k = ?`
	c, err := sqlstmt.Prepare(db, ins, get)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := sqlstmt.Prepare(db, `SELECT nope FROM nowhere`); err == nil {
		t.Fatal("a bad statement prepared")
	}

	if _, err := c.Exec(ctx, nil, ins, "a", 1); err != nil {
		t.Fatal(err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 { // the connection's prepared copy, reused in the transaction
		if _, err := c.Exec(ctx, tx, ins, string(rune('b'+i)), 2+i); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{ins, `INSERT INTO kv (k, v) VALUES (?, ? * 10)`} { // cached, and not
		st, err := c.InTx(ctx, tx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"x" + q[len(q)-3:], "y" + q[len(q)-3:]} {
			if _, err := st.ExecContext(ctx, k, 7); err != nil {
				t.Fatal(err)
			}
		}
	}
	var v int
	if err := c.QueryRow(ctx, tx, `SELECT count(*) FROM kv`).Scan(&v); err != nil || v != 8 {
		t.Fatalf("rows in the transaction: %d, %v", v, err)
	}
	if err := c.QueryRow(ctx, tx, get, "d").Scan(&v); err != nil || v != 4 {
		t.Fatalf("in the transaction: %d, %v", v, err)
	}
	if _, err := c.Exec(ctx, tx, `UPDATE kv SET v = v + 10 WHERE k = ?`, "a"); err != nil { // not prepared
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := c.QueryRow(ctx, nil, get, "d").Scan(&v); err != sql.ErrNoRows {
		t.Fatalf("after the rollback: %d, %v", v, err)
	}
	if err := c.QueryRow(ctx, nil, `SELECT v FROM kv WHERE k = ?`, "a").Scan(&v); err != nil || v != 1 {
		t.Fatalf("outside: %d, %v", v, err)
	}
}
