package su_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aogo/aogo/su"
)

// TestTailPagesMatchTheStore: every page query a CU can make, answered by a unit that holds the process's
// newest slots in memory, equals the answer of a unit that must read the store; the in-memory answers
// were actually used.
func TestTailPagesMatchTheStore(t *testing.T) {
	e := start(t, "", su.Config{})
	ctx := ctxT(t)
	pid := e.spawn(t, tag("Name", "tail"))
	other := e.spawn(t, tag("Name", "other")) // a second log in the store, interleaved
	var ts []int64
	for i := range 30 {
		res, err := e.c.Post(ctx, messageItem(t, e.user, pid, fmt.Sprintf("m%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, res.Timestamp)
		if _, err := e.c.Post(ctx, messageItem(t, e.user, other, fmt.Sprintf("o%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	// A unit over the same store with no heads: every page comes from the store.
	cold, err := su.New(su.Config{Wallet: suWallet, Store: e.store})
	if err != nil {
		t.Fatal(err)
	}
	page := func(u *su.Unit, q su.PageQuery, anchor bool) string {
		p, err := u.Page(ctx, pid, q, anchor)
		if err != nil {
			return "error: " + err.Error()
		}
		b, _ := json.Marshal(p)
		return string(b)
	}
	compare := func(n int) {
		t.Helper()
		var queries []su.PageQuery
		for _, limit := range []int{1, 2, 3, 100} {
			for from := int64(-1); from <= int64(n)+1; from++ {
				for _, to := range []int64{-1, 25, int64(n) - 1, 40} {
					queries = append(queries, su.PageQuery{ByNonce: true, From: from, HasFrom: from >= 0, To: to, HasTo: to >= 0, Limit: limit})
				}
			}
			for i := -1; i < len(ts); i++ {
				q := su.PageQuery{Limit: limit}
				if i >= 0 {
					q.From, q.HasFrom = ts[i], true
					q.To, q.HasTo = ts[len(ts)-1]-1, i%2 == 0
				}
				queries = append(queries, q, su.PageQuery{From: ts[max(i, 0)] + 1, HasFrom: true, Limit: limit})
			}
		}
		for _, q := range queries {
			for _, anchor := range []bool{false, true} {
				if hot, want := page(e.unit, q, anchor), page(cold, q, anchor); hot != want {
					t.Fatalf("query %+v (anchor %v):\n hot:   %s\n store: %s", q, anchor, hot, want)
				}
			}
		}
	}
	before := metric(t, e.srv.URL, "aogo_su_tail_pages_total")
	compare(30)
	if metric(t, e.srv.URL, "aogo_su_tail_pages_total") == before {
		t.Fatal("no page was answered from the tail")
	}
	// A message too large for a tail breaks it; the slots after it start a new one.
	for i, data := range []string{strings.Repeat("x", 300<<10), "a", "b", "c"} {
		res, err := e.c.Post(ctx, messageItem(t, e.user, pid, fmt.Sprintf("%d%s", i, data)))
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, res.Timestamp)
	}
	compare(34)
}
