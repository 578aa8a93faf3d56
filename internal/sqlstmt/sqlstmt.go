// Package sqlstmt keeps the prepared statements of a database/sql pool by their SQL text, for the SQLite
// stores (store/sqlite, the gateway's).
package sqlstmt

import (
	"context"
	"database/sql"
	"fmt"
)

// Cache holds the prepared statements of one *sql.DB by their SQL text.
//
// Why: modernc's SQLite (SQLite translated to Go) parses and plans a statement on every Exec or Query of a
// string. On a message's path in aogo dev that was a tenth of all CPU (the MU's task writes, the CU's result
// lookup), on a 2-core machine where that CPU is what a client waits for.
//
// The statements are prepared when the store opens, on the pool: database/sql then keeps one prepared copy per
// connection and reuses the connection's copy inside a transaction too (Tx.StmtContext). They are prepared up
// front, not on first use, because a single-writer store's only connection is held by the transaction that
// would want to prepare one.
type Cache struct {
	db *sql.DB
	m  map[string]*sql.Stmt // read-only once prepared
}

// Prepare prepares queries on db.
func Prepare(db *sql.DB, queries ...string) (*Cache, error) {
	c := &Cache{db: db, m: make(map[string]*sql.Stmt, len(queries))}
	for _, q := range queries {
		st, err := db.Prepare(q)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("prepare %q: %w", q, err)
		}
		c.m[q] = st
	}
	return c, nil
}

// Exec runs query in tx (nil: on the pool), prepared when it is in the cache.
func (c *Cache) Exec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	st, ok := c.m[query]
	switch {
	case ok && tx != nil:
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	case ok:
		return st.ExecContext(ctx, args...)
	case tx != nil:
		return tx.ExecContext(ctx, query, args...)
	}
	return c.db.ExecContext(ctx, query, args...)
}

// QueryRow is Exec's QueryRow.
func (c *Cache) QueryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	st, ok := c.m[query]
	switch {
	case ok && tx != nil:
		return tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	case ok:
		return st.QueryRowContext(ctx, args...)
	case tx != nil:
		return tx.QueryRowContext(ctx, query, args...)
	}
	return c.db.QueryRowContext(ctx, query, args...)
}

// InTx returns query's statement bound to tx, for a loop that runs it many times in one transaction (Exec
// binds it on every call). A query not in the cache is prepared on tx, for the transaction's life.
func (c *Cache) InTx(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	if st, ok := c.m[query]; ok {
		return tx.StmtContext(ctx, st), nil
	}
	return tx.PrepareContext(ctx, query)
}

// Close closes the statements (not the pool).
func (c *Cache) Close() {
	if c == nil {
		return
	}
	for _, st := range c.m {
		st.Close()
	}
}
