package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/aogo/aogo/store/sqlite"
	"github.com/aogo/aogo/store/storetest"
	"github.com/aogo/aogo/su"
)

func TestSUStore(t *testing.T) {
	storetest.SU(t, func(t *testing.T) func() (su.Store, error) {
		path := filepath.Join(t.TempDir(), "su.db")
		return func() (su.Store, error) { return sqlite.OpenSU(path) }
	})
}

// A store written by an earlier version (an upload queue of whole items, su_uploads) opens with its queue
// intact, in order, in the new queue.
func TestSUUploadQueueMigrates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "su.db")
	old, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Exec(`CREATE TABLE su_uploads (seq INTEGER PRIMARY KEY AUTOINCREMENT, item BLOB NOT NULL);
		INSERT INTO su_uploads (item) VALUES (x'01'), (x'0202'), (x'030303');`); err != nil {
		t.Fatal(err)
	}
	old.Close()
	s, err := sqlite.OpenSU(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ups, err := s.PendingUploads(context.Background(), 10)
	if err != nil || len(ups) != 3 || len(ups[0].Item) != 1 || len(ups[1].Item) != 2 || len(ups[2].Item) != 3 {
		t.Fatalf("migrated queue: %+v, %v", ups, err)
	}
}
