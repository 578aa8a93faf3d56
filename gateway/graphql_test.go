package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aogo/aogo/dataitem"
)

// fixture is a gateway holding 12 items over 6 blocks, with a record of each for computing expected answers.
type fixture struct {
	g       *testGateway
	items   []*dataitem.Item
	heights []uint64
	targets [2]string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{g: newTestGateway(t)}
	f.targets = [2]string{signedItem(t, testWallet(t, 3), "", []byte("a")).ID(), signedItem(t, testWallet(t, 3), "", []byte("b")).ID()}
	for i := range 12 {
		typ := "Message"
		if i%2 == 1 {
			typ = "Process"
		}
		target := ""
		if i%4 != 3 {
			target = f.targets[i%2]
		}
		it := signedItem(t, testWallet(t, i%3), target, []byte(strconv.Itoa(i)),
			tag("Data-Protocol", "ao"), tag("Type", typ), tag("Index", strconv.Itoa(i)), tag("Group", string(rune('a'+i%3))))
		res := f.g.post(t, it)
		f.items = append(f.items, it)
		f.heights = append(f.heights, res.BlockHeight)
		if i%2 == 1 {
			f.g.clock.Advance(testBlockTime)
		}
	}
	return f
}

// want returns the ids of the items keep selects, in the order sort gives.
func (f *fixture) want(keep func(i int, it *dataitem.Item) bool, asc bool) []string {
	var ids []string
	for i, it := range f.items {
		if keep(i, it) {
			ids = append(ids, it.ID())
		}
	}
	if !asc {
		slices.Reverse(ids)
	}
	return ids
}

func ids(page TxPage) []string {
	out := []string{}
	for _, e := range page.Edges {
		out = append(out, e.Node.ID)
	}
	return out
}

func TestGraphQLFilters(t *testing.T) {
	f := newFixture(t)
	addr := func(i int) string { return testWallet(t, i).Address() }
	hasTag := func(it *dataitem.Item, name string, values ...string) bool {
		v, ok := it.Tag(name)
		return ok && slices.Contains(values, v)
	}
	all := func(int, *dataitem.Item) bool { return true }
	for _, tc := range []struct {
		name string
		q    TxQuery
		keep func(i int, it *dataitem.Item) bool
	}{
		{"all desc", TxQuery{First: 100}, all},
		{"all asc", TxQuery{First: 100, Sort: SortHeightAsc}, all},
		{"default page size", TxQuery{}, all},
		{"ids", TxQuery{IDs: []string{f.items[3].ID(), f.items[7].ID(), "nope"}}, func(i int, _ *dataitem.Item) bool { return i == 3 || i == 7 }},
		{"owners", TxQuery{Owners: []string{addr(1)}, First: 100}, func(i int, _ *dataitem.Item) bool { return i%3 == 1 }},
		{"two owners", TxQuery{Owners: []string{addr(0), addr(2)}, First: 100}, func(i int, _ *dataitem.Item) bool { return i%3 != 1 }},
		{"recipients", TxQuery{Recipients: []string{f.targets[1]}, First: 100}, func(i int, _ *dataitem.Item) bool { return i%2 == 1 && i%4 != 3 }},
		{"tag one value", TxQuery{Tags: []TagFilter{{Name: "Type", Values: []string{"Process"}}}, First: 100},
			func(_ int, it *dataitem.Item) bool { return hasTag(it, "Type", "Process") }},
		{"tag two values", TxQuery{Tags: []TagFilter{{Name: "Index", Values: []string{"1", "4", "9"}}}, First: 100},
			func(i int, _ *dataitem.Item) bool { return i == 1 || i == 4 || i == 9 }},
		{"two tags and", TxQuery{Tags: []TagFilter{{Name: "Type", Values: []string{"Message"}}, {Name: "Group", Values: []string{"b"}}}, First: 100},
			func(i int, _ *dataitem.Item) bool { return i%2 == 0 && i%3 == 1 }},
		{"tag neq", TxQuery{Tags: []TagFilter{{Name: "Group", Values: []string{"a", "b"}, Op: "NEQ"}}, First: 100},
			func(i int, _ *dataitem.Item) bool { return i%3 == 2 }},
		{"tag no match", TxQuery{Tags: []TagFilter{{Name: "Type", Values: []string{"Module"}}}}, func(int, *dataitem.Item) bool { return false }},
		{"tag names are exact", TxQuery{Tags: []TagFilter{{Name: "type", Values: []string{"Process"}}}}, func(int, *dataitem.Item) bool { return false }},
		{"owner + tag + first", TxQuery{Owners: []string{addr(0)}, Tags: []TagFilter{{Name: "Data-Protocol", Values: []string{"ao"}}}, First: 2},
			func(i int, _ *dataitem.Item) bool { return i%3 == 0 }},
		{"everything asc", TxQuery{Owners: []string{addr(0), addr(1)}, Recipients: f.targets[:], Tags: []TagFilter{{Name: "Type", Values: []string{"Message"}}}, Sort: SortHeightAsc, First: 100},
			func(i int, _ *dataitem.Item) bool { return i%3 != 2 && i%4 != 3 && i%2 == 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page, err := f.g.client.Transactions(context.Background(), tc.q)
			if err != nil {
				t.Fatal(err)
			}
			want := f.want(tc.keep, tc.q.Sort == SortHeightAsc)
			limit := tc.q.First
			if limit == 0 {
				limit = defaultFirst
			}
			more := len(want) > limit
			if more {
				want = want[:limit]
			}
			if got := ids(page); !slices.Equal(got, want) || page.HasNextPage != more {
				t.Errorf("got %d %v (more %v)\nwant %d %v (more %v)", len(got), got, page.HasNextPage, len(want), want, more)
			}
		})
	}
}

func TestGraphQLBlockRangeAndNodeFields(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var out struct {
		Transactions struct {
			Edges []TxEdge `json:"edges"`
		} `json:"transactions"`
	}
	err := f.g.client.GraphQL(ctx, `{ transactions(block: {min: 2, max: 3}, sort: HEIGHT_ASC) { edges { node { id block { height } } } } }`, nil, &out)
	if err != nil {
		t.Fatal(err)
	}
	want := f.want(func(i int, _ *dataitem.Item) bool { return f.heights[i] >= 2 && f.heights[i] <= 3 }, true)
	var got []string
	for _, e := range out.Transactions.Edges {
		got = append(got, e.Node.ID)
		if e.Node.Block.Height < 2 || e.Node.Block.Height > 3 {
			t.Errorf("block filter returned height %d", e.Node.Block.Height)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("block range: got %v want %v", got, want)
	}

	it := f.items[5]
	tx, err := f.g.client.Transaction(ctx, it.ID())
	if err != nil {
		t.Fatal(err)
	}
	h := f.heights[5]
	wantTx := Transaction{
		ID: it.ID(), Anchor: dataitem.B64(it.Anchor), Signature: dataitem.B64(it.Signature), Recipient: it.TargetID(),
		Owner: Owner{Address: it.OwnerAddress(), Key: dataitem.B64(it.Owner)}, Fee: Amount{"0", "0.000000000000"}, Quantity: Amount{"0", "0.000000000000"},
		Data: MetaData{Size: "1"}, Tags: it.Tags, Block: &Block{ID: blockID(h), Height: h, Timestamp: f.g.chain.timestamp(h), Previous: blockID(h - 1)},
	}
	gotJSON, _ := json.Marshal(tx)
	wantJSON, _ := json.Marshal(wantTx)
	if !bytes.Equal(gotJSON, wantJSON) {
		t.Errorf("node\n got %s\nwant %s", gotJSON, wantJSON)
	}
}

func TestGraphQLPaging(t *testing.T) {
	f := newFixture(t)
	for _, sort := range []string{SortHeightDesc, SortHeightAsc} {
		for _, size := range []int{1, 5, 12, 13} {
			var got []string
			after := ""
			pages := 0
			for {
				page, err := f.g.client.Transactions(context.Background(), TxQuery{First: size, After: after, Sort: sort})
				if err != nil {
					t.Fatal(err)
				}
				pages++
				got = append(got, ids(page)...)
				if !page.HasNextPage {
					break
				}
				if pages > 20 {
					t.Fatal("paging does not end")
				}
				after = page.Edges[len(page.Edges)-1].Cursor
			}
			want := f.want(func(int, *dataitem.Item) bool { return true }, sort == SortHeightAsc)
			if !slices.Equal(got, want) {
				t.Errorf("%s pages of %d: got %v want %v", sort, size, got, want)
			}
			if wantPages := (12 + size - 1) / size; pages != wantPages {
				t.Errorf("%s pages of %d: %d pages, want %d", sort, size, pages, wantPages)
			}
		}
	}
}

// gqlRaw posts a GraphQL request body and returns the status and decoded answer.
func gqlRaw(t *testing.T, url string, body any) (int, map[string]any, string) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(url+"/graphql", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("answer is not JSON: %s", raw)
	}
	return resp.StatusCode, m, string(raw)
}

func TestGraphQLQueriesAoToolsSend(t *testing.T) {
	f := newFixture(t)
	su := testWallet(t, 2)
	loc := signedItem(t, su, "", []byte("1984"), tag("Data-Protocol", "ao"), tag("Variant", "ao.TN.1"),
		tag("Type", "Scheduler-Location"), tag("Url", "http://su.local"), tag("Time-To-Live", "3600000"))
	f.g.post(t, loc)
	proc := f.items[1]

	// scheduler-utils' GetSchedulerLocation, verbatim shape (comment, variable inside a list literal).
	status, ans, raw := gqlRaw(t, f.g.url, map[string]any{"query": `
    query GetSchedulerLocation ($owner: String!) {
      transactions (
        owners: [$owner]
        tags: [
          { name: "Data-Protocol", values: ["ao"] },
          { name: "Type", values: ["Scheduler-Location"] }
        ]
        # Only need the most recent Scheduler-Location
        sort: HEIGHT_DESC
        first: 1
      ) {
        edges { node { tags { name value } } }
      }
    }`, "variables": map[string]any{"owner": su.Address()}})
	wantLoc := `{"data":{"transactions":{"edges":[{"node":{"tags":[{"name":"Data-Protocol","value":"ao"},{"name":"Variant","value":"ao.TN.1"},{"name":"Type","value":"Scheduler-Location"},{"name":"Url","value":"http://su.local"},{"name":"Time-To-Live","value":"3600000"}]}}]}}}`
	if status != 200 || strings.TrimSpace(raw) != wantLoc {
		t.Errorf("GetSchedulerLocation = %d\n%s\nwant\n%s", status, raw, wantLoc)
	}

	// The CU's loadTransactionMeta, with @skip directives driven by variables.
	const cuQuery = `query GetProcesses ($processIds: [ID!]!, $skipTags: Boolean!, $skipSignature: Boolean!, $skipAnchor: Boolean!) {
      transactions(ids: $processIds) { edges { node {
        id
        signature @skip (if: $skipSignature)
        anchor @skip (if: $skipAnchor)
        owner { address key }
        tags @skip (if: $skipTags) { name value }
        recipient
      } } } }`
	status, ans, raw = gqlRaw(t, f.g.url, map[string]any{"query": cuQuery, "variables": map[string]any{
		"processIds": []string{proc.ID()}, "skipTags": true, "skipSignature": false, "skipAnchor": true}})
	node := ans["data"].(map[string]any)["transactions"].(map[string]any)["edges"].([]any)[0].(map[string]any)["node"].(map[string]any)
	if status != 200 || node["tags"] != nil || node["anchor"] != nil || node["signature"] != dataitem.B64(proc.Signature) || node["recipient"] != proc.TargetID() {
		t.Errorf("CU GetProcesses = %d %s", status, raw)
	}
	if !strings.Contains(raw, `"node":{"id":"`+proc.ID()+`","signature":`) {
		t.Errorf("fields not in selection order: %s", raw)
	}

	// scheduler-utils' loadProcess query selects block twice; the selections merge.
	status, _, raw = gqlRaw(t, f.g.url, map[string]any{"query": `query ($ids: [ID!]!) { transactions(ids: $ids) { pageInfo { hasNextPage } edges { cursor node {
        id anchor signature recipient block { timestamp } owner { address key } fee { winston ar } quantity { winston ar }
        data { size type } tags { name value } block { id timestamp height previous } parent { id } } } } }`,
		"variables": map[string]any{"ids": []string{proc.ID()}}})
	h := f.heights[1]
	wantBlock := `"block":{"timestamp":` + strconv.FormatInt(f.g.chain.timestamp(h), 10) + `,"id":"` + blockID(h) + `","height":` + strconv.FormatUint(h, 10) + `,"previous":"` + f.g.chain.block(h).Previous + `"}`
	if status != 200 || !strings.Contains(raw, wantBlock) || !strings.Contains(raw, `"parent":null`) || !strings.Contains(raw, `"hasNextPage":false`) {
		t.Errorf("loadProcess = %d %s\nwant it to hold %s", status, raw, wantBlock)
	}

	// aoconnect's loadTransactionMeta (spawn checks the module's tags with it).
	status, _, raw = gqlRaw(t, f.g.url, map[string]any{"query": `
    query GetTransactions ($transactionIds: [ID!]!) {
      transactions(ids: $transactionIds) { edges { node { owner { address } tags { name value } block { id height timestamp } } } }
    }`, "variables": map[string]any{"transactionIds": []string{proc.ID()}}})
	want := `{"data":{"transactions":{"edges":[{"node":{"owner":{"address":"` + proc.OwnerAddress() + `"},"tags":[{"name":"Data-Protocol","value":"ao"},{"name":"Type","value":"Process"},{"name":"Index","value":"1"},{"name":"Group","value":"b"}],"block":{"id":"` + blockID(h) + `","height":` + strconv.FormatUint(h, 10) + `,"timestamp":` + strconv.FormatInt(f.g.chain.timestamp(h), 10) + `}}}]}}}`
	if status != 200 || strings.TrimSpace(raw) != want {
		t.Errorf("aoconnect GetTransactions = %d\n%s\nwant\n%s", status, raw, want)
	}

	// The CU's GetBlocks (cron), aliases, __typename, transaction(id), block(height).
	status, ans, raw = gqlRaw(t, f.g.url, map[string]any{"query": `query GetBlocks($min: Int!, $limit: Int!) {
        blocks(height: { min: $min }, first: $limit, sort: HEIGHT_ASC) { pageInfo { hasNextPage } edges { node { timestamp height } } } }`,
		"variables": map[string]any{"min": 2, "limit": 3}})
	want = `{"data":{"blocks":{"pageInfo":{"hasNextPage":true},"edges":[` +
		`{"node":{"timestamp":` + strconv.FormatInt(f.g.chain.timestamp(2), 10) + `,"height":2}},` +
		`{"node":{"timestamp":` + strconv.FormatInt(f.g.chain.timestamp(3), 10) + `,"height":3}},` +
		`{"node":{"timestamp":` + strconv.FormatInt(f.g.chain.timestamp(4), 10) + `,"height":4}}]}}}`
	if status != 200 || strings.TrimSpace(raw) != want {
		t.Errorf("GetBlocks = %d\n%s\nwant\n%s", status, raw, want)
	}
	status, _, raw = gqlRaw(t, f.g.url, map[string]any{"query": `{ t: transaction(id: "` + proc.ID() + `") { __typename theId: id } missing: transaction(id: "` + loc.ID()[:42] + `x") { id } b: block(height: 2) { id } }`})
	want = `{"data":{"t":{"__typename":"Transaction","theId":"` + proc.ID() + `"},"missing":null,"b":{"id":"` + blockID(2) + `"}}}`
	if status != 200 || strings.TrimSpace(raw) != want {
		t.Errorf("aliases = %d\n%s\nwant\n%s", status, raw, want)
	}

	// GET /graphql with query parameters, and operationName picking among several operations.
	resp, err := http.Get(f.g.url + "/graphql?query=" + strings.ReplaceAll(`query A { blocks(first: 1) { edges { node { height } } } } query B { transaction(id: "`+proc.ID()+`") { id } }`, " ", "%20") + "&operationName=B")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), proc.ID()) {
		t.Errorf("GET /graphql = %d %s", resp.StatusCode, b)
	}
}

func TestGraphQLErrors(t *testing.T) {
	g := newTestGateway(t)
	for _, tc := range []struct {
		name string
		body any
		msg  string
	}{
		{"unknown field", map[string]any{"query": `{ transactions { edges { node { id colour } } } }`}, `Cannot query field "colour" on type "Transaction"`},
		{"unknown root", map[string]any{"query": `{ wallets { id } }`}, `Cannot query field "wallets" on type "Query"`},
		{"unknown argument", map[string]any{"query": `{ transactions(limit: 3) { edges { cursor } } }`}, `Unknown argument "limit"`},
		{"scalar with selection", map[string]any{"query": `{ transactions { edges { cursor { x } } } }`}, `must not have a selection`},
		{"object without selection", map[string]any{"query": `{ transactions { edges } }`}, `must have a selection of subfields`},
		{"syntax", map[string]any{"query": `{ transactions(first: ) { edges { cursor } } }`}, `Syntax Error`},
		{"unterminated", map[string]any{"query": `{ transactions { edges { cursor }`}, `Syntax Error`},
		{"mutation", map[string]any{"query": `mutation { x }`}, `only queries are supported`},
		{"fragment", map[string]any{"query": `{ transactions { ...F } } fragment F on X { id }`}, `fragments are not supported`},
		{"undefined variable", map[string]any{"query": `{ transactions(ids: $ids) { edges { cursor } } }`}, `Variable "$ids" is not defined`},
		{"missing required variable", map[string]any{"query": `query ($ids: [ID!]!) { transactions(ids: $ids) { edges { cursor } } }`}, `was not provided`},
		{"bad sort", map[string]any{"query": `{ transactions(sort: SIDEWAYS) { edges { cursor } } }`}, `HEIGHT_DESC or HEIGHT_ASC`},
		{"bad first", map[string]any{"query": `{ transactions(first: -1) { edges { cursor } } }`}, `non-negative integer`},
		{"bad cursor", map[string]any{"query": `{ transactions(after: "???") { edges { cursor } } }`}, `invalid cursor`},
		{"bad tag filter", map[string]any{"query": `{ transactions(tags: [{name: "A"}]) { edges { cursor } } }`}, `at least one value`},
		{"bad ids type", map[string]any{"query": `query ($i: [ID!]) { transactions(ids: $i) { edges { cursor } } }`, "variables": map[string]any{"i": []any{1}}}, `list of strings`},
		{"unknown directive", map[string]any{"query": `{ transactions @cached { edges { cursor } } }`}, `Unknown directive`},
		{"no query", map[string]any{"variables": map[string]any{}}, `Must provide query string`},
		{"two ops no name", map[string]any{"query": `query A { block { id } } query B { block { id } }`}, `give an operationName`},
		{"unknown op", map[string]any{"query": `query A { block { id } }`, "operationName": "Z"}, `unknown operation named "Z"`},
		{"not json", "just text", `invalid GraphQL request body`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var status int
			var ans map[string]any
			var raw string
			if s, ok := tc.body.(string); ok {
				resp, err := http.Post(g.url+"/graphql", "application/json", strings.NewReader(s))
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				status, raw = resp.StatusCode, string(b)
				json.Unmarshal(b, &ans)
			} else {
				status, ans, raw = gqlRaw(t, g.url, tc.body)
			}
			errs, _ := ans["errors"].([]any)
			if status != 400 || len(errs) != 1 || !strings.Contains(errs[0].(map[string]any)["message"].(string), tc.msg) {
				t.Errorf("= %d %s, want 400 with an error containing %q", status, raw, tc.msg)
			}
		})
	}
	// The client reports them as GraphQLError.
	err := g.client.GraphQL(context.Background(), `{ nope { id } }`, nil, nil)
	var ge *GraphQLError
	if !errors.As(err, &ge) || !strings.Contains(ge.Messages[0], "nope") {
		t.Errorf("client error = %v, want a GraphQLError", err)
	}
}

func TestClientAoLookups(t *testing.T) {
	g := newTestGateway(t)
	ctx := context.Background()
	su, other := testWallet(t, 0), testWallet(t, 1)
	location := func(w int, url, ttl string) *dataitem.Item {
		tags := []dataitem.Tag{tag("Data-Protocol", "ao"), tag("Variant", "ao.TN.1"), tag("Type", "Scheduler-Location"), tag("Url", url)}
		if ttl != "" {
			tags = append(tags, tag("Time-To-Live", ttl))
		}
		return signedItem(t, testWallet(t, w), "", []byte("1984"), tags...)
	}
	g.post(t, location(0, "http://old.su", "1000"))
	g.clock.Advance(testBlockTime)
	g.post(t, location(0, "http://new.su", "3600000"))
	// Someone else's location and a non-ao item with the same tags but no Data-Protocol do not interfere.
	g.post(t, location(1, "http://other.su", "5"))
	url, ttl, err := g.client.SchedulerLocation(ctx, su.Address())
	if err != nil || url != "http://new.su" || ttl != time.Hour {
		t.Errorf("SchedulerLocation = %q %v %v, want the newest (http://new.su, 1h)", url, ttl, err)
	}
	if _, _, err := g.client.SchedulerLocation(ctx, testWallet(t, 2).Address()); !errors.Is(err, ErrNotFound) {
		t.Errorf("SchedulerLocation of a wallet with none = %v, want ErrNotFound", err)
	}
	g.clock.Advance(testBlockTime)
	g.post(t, location(1, "http://broken.su", ""))
	if _, _, err := g.client.SchedulerLocation(ctx, other.Address()); !errors.Is(err, ErrInvalid) {
		t.Errorf("SchedulerLocation without Time-To-Live = %v, want ErrInvalid", err)
	}

	mod := signedItem(t, su, "", []byte("wasm"), tag("Data-Protocol", "ao"), tag("Type", "Module"), tag("Module-Format", "wasm64-unknown-emscripten-draft_2024_02_15"))
	g.post(t, mod)
	tags, owner, err := g.client.Tags(ctx, mod.ID())
	if err != nil || owner != su.Address() || !slices.Equal(tags, mod.Tags) {
		t.Errorf("Tags = %v %q %v", tags, owner, err)
	}
	if _, _, err := g.client.Tags(ctx, location(2, "x", "1").ID()); !errors.Is(err, ErrNotFound) {
		t.Errorf("Tags of an unknown id = %v, want ErrNotFound", err)
	}

	g.clock.Advance(250 * testBlockTime)
	blocks, err := g.client.Blocks(ctx, 5, 300)
	if err != nil {
		t.Fatal(err)
	}
	cur := g.Height()
	if len(blocks) != int(cur-5+1) || blocks[0].Height != 5 || blocks[len(blocks)-1].Height != cur {
		t.Fatalf("Blocks(5, 300) = %d blocks, want 5..%d", len(blocks), cur)
	}
	for i := 1; i < len(blocks); i++ {
		if blocks[i].Previous != blocks[i-1].ID || blocks[i].Timestamp-blocks[i-1].Timestamp != int64(testBlockTime/time.Second) {
			t.Fatalf("blocks %d and %d do not chain", i-1, i)
		}
	}
}
