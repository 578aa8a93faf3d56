package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
)

// TestSUQueriesUseIDIndexes makes sure the id lookups (and the trigger's duplicate check, which runs the same
// WHERE clause) are served by the prefix indexes, not by a scan of the log.
func TestSUQueriesUseIDIndexes(t *testing.T) {
	s, err := OpenSU(filepath.Join(t.TempDir(), "su.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, c := range []struct {
		sql   string
		want  []string
		nargs int
	}{
		{suFindSQL, []string{"su_slots_mkey", "su_slots_akey"}, 2},
		{suItemSQL, []string{"su_slots_mkey"}, 1},
		{suDupSQL, []string{"su_slots_mkey"}, 2},
	} {
		args := []any{"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "pid"}[:c.nargs]
		rows, err := s.r.Query("EXPLAIN QUERY PLAN "+c.sql, args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		all := strings.Join(plan, "\n")
		for _, idx := range c.want {
			if !strings.Contains(all, "USING INDEX "+idx) {
				t.Errorf("plan of %q does not use %s:\n%s", c.sql, idx, all)
			}
		}
		if strings.Contains(all, "SCAN su_slots") {
			t.Errorf("plan of %q scans the log:\n%s", c.sql, all)
		}
	}
}

// TestSUOpensOldSchema opens a store made with the first schema (full-id unique indexes): the prefix indexes are
// built over its rows, the old indexes dropped, and its slots found by id.
func TestSUOpensOldSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "su.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	const mid, aid, pid = "m234567890abcdefghijklmnopqrstuvwxyzABCDEFG", "a234567890abcdefghijklmnopqrstuvwxyzABCDEFG", "p234567890abcdefghijklmnopqrstuvwxyzABCDEFG"
	for _, q := range []string{
		`CREATE TABLE su_slots (id INTEGER PRIMARY KEY, process TEXT NOT NULL, nonce INTEGER NOT NULL, timestamp INTEGER NOT NULL,
			block_height INTEGER NOT NULL, hash_chain TEXT NOT NULL, assignment_id TEXT NOT NULL, message_id TEXT NOT NULL,
			content_hash TEXT, assignment BLOB NOT NULL, message BLOB)`,
		`CREATE UNIQUE INDEX su_slots_message ON su_slots(message_id, process)`,
		`CREATE UNIQUE INDEX su_slots_assignment ON su_slots(assignment_id)`,
		`INSERT INTO su_slots (` + suColumns + `) VALUES ('` + pid + `', 1, 5, 7, 'hc', '` + aid + `', '` + mid + `', NULL, x'01', x'02')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	s, err := OpenSU(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, id := range []string{mid, aid} {
		if sl, err := s.Find(context.Background(), pid, id); err != nil || sl.MessageID != mid {
			t.Fatalf("Find %s: %+v, %v", id, sl, err)
		}
	}
	var n int
	s.r.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name IN ('su_slots_message', 'su_slots_assignment')`).Scan(&n)
	if n != 0 {
		t.Fatalf("%d old indexes left", n)
	}
}
