package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"

	"github.com/aogo/aogo/internal/testenv"
	"github.com/aogo/aogo/store/postgres"
	"github.com/aogo/aogo/store/storetest"
	"github.com/aogo/aogo/su"
	"github.com/jackc/pgx/v5"
)

// suSchemaDSN creates a private schema for one test (dropped at cleanup) and returns a DSN whose search_path
// points at it, so tests of every unit can share the test cluster.
func suSchemaDSN(t *testing.T) string {
	t.Helper()
	dsn := testenv.PostgresDSN(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to test PostgreSQL: %v", err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 6)
	rand.Read(b)
	schema := "su_test_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), dsn)
		if err == nil {
			c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			c.Close(context.Background())
		}
	})
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "search_path=" + url.QueryEscape(schema)
}

func TestSUStore(t *testing.T) {
	storetest.SU(t, func(t *testing.T) func() (su.Store, error) {
		dsn := suSchemaDSN(t)
		return func() (su.Store, error) { return postgres.OpenSU(context.Background(), dsn) }
	})
}
