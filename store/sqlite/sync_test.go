package sqlite

import (
	"database/sql"
	"path/filepath"
	"testing"
)

// TestSyncOption: the SU and MU stores run with the SQLite synchronous level WithSync asks for, FULL (2) by
// default and NORMAL (1) for SyncNormal, on the writing connection.
func TestSyncOption(t *testing.T) {
	level := func(t *testing.T, db *sql.DB) int {
		t.Helper()
		var n int
		if err := db.QueryRow(`PRAGMA synchronous`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, c := range []struct {
		name string
		opts []Option
		want int
	}{{"default", nil, 2}, {"full", []Option{WithSync(SyncFull)}, 2}, {"normal", []Option{WithSync(SyncNormal)}, 1}} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := OpenSU(filepath.Join(dir, "su.db"), c.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			m, err := OpenMU(filepath.Join(dir, "mu.db"), c.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if got := level(t, s.w); got != c.want {
				t.Errorf("su: synchronous %d, want %d", got, c.want)
			}
			if got := level(t, m.db); got != c.want {
				t.Errorf("mu: synchronous %d, want %d", got, c.want)
			}
		})
	}
}
