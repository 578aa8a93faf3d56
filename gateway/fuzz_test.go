package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aogo/aogo/dataitem"
)

var fuzzQueries = []string{
	`{ transactions { edges { node { id } } } }`,
	`query GetSchedulerLocation ($owner: String!) { transactions (owners: [$owner] tags: [{ name: "Data-Protocol", values: ["ao"] }, { name: "Type", values: ["Scheduler-Location"] }] # c
	  sort: HEIGHT_DESC first: 1) { edges { node { tags { name value } } } } }`,
	`query ($ids: [ID!]!, $s: Boolean!) { transactions(ids: $ids) { pageInfo { hasNextPage } edges { cursor node { id signature @skip(if: $s) anchor @include(if: true) recipient owner { address key } fee { winston ar } quantity { winston ar } data { size type } tags { name value } block { id timestamp height previous } parent { id } bundledIn { id } } } } }`,
	`query GetBlocks($min: Int!, $limit: Int!) { blocks(height: { min: $min }, first: $limit, sort: HEIGHT_ASC) { pageInfo { hasNextPage } edges { node { timestamp height } } } }`,
	`{ a: transaction(id: "x") { __typename id } b: block(height: 3) { id } c: blocks(ids: ["q"], sort: HEIGHT_DESC, after: "MTow") { edges { cursor } } }`,
	`{ transactions(tags: {name: "A", values: "b", op: NEQ}, block: {min: 1, max: 2}, first: 1e3, after: "") { edges { cursor } } }`,
	`query A($x: String = "d\u00e9f\"") { transactions(ids: [$x, """blk"""]) { edges { cursor } } } query B { block { id } }`,
}

// FuzzGraphQL runs arbitrary query text and variables through the parser, validator and executor: any input
// must give an answer or an error, never a panic.
func FuzzGraphQL(f *testing.F) {
	for _, q := range fuzzQueries {
		f.Add(q, `{"owner":"abc","ids":["x"],"s":true,"min":1,"limit":5}`)
	}
	f.Add(`{`, `{}`)
	f.Add(`query ($a: [[Int!]!]) { blocks(height: {min: $a}) { edges { cursor } } }`, `{"a":[[1]]}`)
	g := newTestGateway(f)
	w := testWallet(f, 0)
	for i := range 3 {
		g.Put(context.Background(), rawOf(f, signedItem(f, w, "", []byte{byte(i)}, tag("A", "b"), tag("Type", "Scheduler-Location"))))
	}
	f.Fuzz(func(t *testing.T, query, vars string) {
		req := graphQLRequest{Query: query}
		if decodeJSON(strings.NewReader(vars), &req.Variables) != nil {
			req.Variables = nil
		}
		data, err := g.execGraphQL(context.Background(), req)
		var qe *queryError
		if err != nil && !errors.As(err, &qe) {
			t.Fatalf("query %q: internal error %v", query, err)
		}
		if err == nil {
			if _, err := json.Marshal(data); err != nil {
				t.Fatalf("answer does not encode: %v", err)
			}
		}
	})
}

// FuzzUpload posts arbitrary bytes: the gateway must refuse them as invalid or store them, never panic, and
// whatever it stores must read back.
func FuzzUpload(f *testing.F) {
	w := testWallet(f, 0)
	plain := signedItem(f, w, "", []byte("hello"), tag("Content-Type", "text/plain"))
	f.Add(rawOf(f, plain))
	f.Add(rawOf(f, bundleItem(f, w, plain, signedItem(f, w, "", nil))))
	bare, _ := dataitem.EncodeBundle([]*dataitem.Item{plain})
	f.Add(bare)
	f.Add([]byte{})
	f.Add(make([]byte, 32))
	g := newTestGateway(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := g.Put(context.Background(), body)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("upload failed with a non-input error: %v", err)
			}
			return
		}
		if _, err := g.store.get(context.Background(), res.ID); err != nil {
			t.Fatalf("stored %s but cannot read it: %v", res.ID, err)
		}
	})
}

// FuzzAppendString checks the answer encoder's strings against encoding/json's.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "q\"b\\s/", "\x00\x1f\t\n\r", "<&>", "é\u2028\u2029", "\xff\xfe", "🙂"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); string(got) != string(want) {
			t.Fatalf("appendString(%q) = %s, encoding/json %s", s, got, want)
		}
	})
}
