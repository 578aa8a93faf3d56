package sqlite_test

import (
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
