package hostile

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aogo/aogo/gateway"
	"github.com/aogo/aogo/internal/httpd"
	"github.com/aogo/aogo/su"
)

// graphQL posts a query and returns the status, the answer's size and its first error message.
func graphQL(t testing.TB, base, query string) (int, int, string) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"query": query})
	resp, err := http.Post(base+"/graphql", "application/json", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out struct {
		Errors []struct{ Message string } `json:"errors"`
	}
	json.Unmarshal(body, &out)
	msg := ""
	if len(out.Errors) > 0 {
		msg = out.Errors[0].Message
	}
	return resp.StatusCode, len(body), msg
}

func aliases(n int, field string) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		fmt.Fprintf(&b, " a%d: %s", i, field)
	}
	b.WriteString(" }")
	return b.String()
}

// A gateway of 200 items with 20 tags of about 190 bytes each (near the 4 KiB tag limit).
func bigTagGateway(t testing.TB) string {
	gw := openGateway(t, gateway.Config{})
	w := newWallet(t)
	val := strings.Repeat("v", 180)
	for i := range 200 {
		its := signed(t, w, "", []byte(fmt.Sprint("item ", i)), manyTags(20, val)...)
		if _, err := gw.Put(context.Background(), its); err != nil {
			t.Fatal(err)
		}
	}
	return serve(t, gw, httpd.Limits{})
}

func TestHostileGraphQLAmplification(t *testing.T) {
	base := bigTagGateway(t)

	// A legitimate full page still works: all 200 items, no next page.
	code, size, msg := graphQL(t, base, `{ transactions(first: 1000) { pageInfo { hasNextPage } edges { cursor node { id owner { address key } signature tags { name value } } } } }`)
	if code != 200 || msg != "" || size < 200*20*180 {
		t.Fatalf("full page: %d, %d bytes, %q", code, size, msg)
	}

	for _, c := range []struct {
		name, query, want string
		maxAlloc          uint64
	}{
		// The shape: aliases × transactions(first: 1000); 200 aliases here, the bound is the same.
		{"200 aliases × first:1000", aliases(200, `transactions(first: 1000) { edges { node { id tags { name value } } } }`), "more than 100000 fields", 8 * mib},
		// Aliases inside one connection re-render its page.
		{"50 edges aliases", `{ transactions(first: 1000) ` + aliases(50, `edges { node { id } }`) + ` }`, "more than 100000 fields", 8 * mib},
		// Nesting past the parser's depth.
		{"deep nesting", strings.Repeat("{ a ", 40) + strings.Repeat("}", 40), "deeper than", 4 * mib},
	} {
		var code, size int
		var msg string
		alloc := peakHeap(func() { code, size, msg = graphQL(t, base, c.query) })
		t.Logf("%s: %d, %d bytes, allocated %s: %s", c.name, code, size, mb(alloc), msg)
		if code != http.StatusBadRequest || !strings.Contains(msg, c.want) {
			t.Errorf("%s: %d %q, want 400 with %q", c.name, code, msg, c.want)
		}
		if alloc > c.maxAlloc {
			t.Errorf("%s: allocated %s, want at most %s", c.name, mb(alloc), mb(c.maxAlloc))
		}
	}

	// Within the cost limit (24 × 4,002 fields) but the tags of 24 full pages would make a 19 MB answer: the
	// pages end early (hasNextPage) and the answer stays within 8 MiB.
	var answer []byte
	peak := peakHeap(func() {
		b, _ := json.Marshal(map[string]string{"query": aliases(24, `transactions(first: 1000) { pageInfo { hasNextPage } edges { node { tags { value } } } }`)})
		resp, err := http.Post(base+"/graphql", "application/json", strings.NewReader(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		answer, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
	})
	var out struct {
		Data map[string]struct {
			PageInfo struct{ HasNextPage bool }
			Edges    []any
		}
	}
	if err := json.Unmarshal(answer, &out); err != nil || len(out.Data) != 24 {
		t.Fatalf("24 heavy pages: %v %.200s", err, answer)
	}
	cut := 0
	for _, p := range out.Data {
		if p.PageInfo.HasNextPage {
			cut++
			if len(p.Edges) == 0 || len(p.Edges) >= 200 {
				t.Errorf("a page cut short has %d edges", len(p.Edges))
			}
		}
	}
	t.Logf("24 aliases × 200 items × 3.6 KB of tags: answer %s, %d pages cut short, peak heap +%s", mb(uint64(len(answer))), cut, mb(peak))
	if len(answer) > 8*mib || cut == 0 {
		t.Errorf("answer %s with %d pages cut, want at most 8 MiB, pages cut short", mb(uint64(len(answer))), cut)
	}
	if peak > 48*mib {
		t.Errorf("peak heap +%s, want at most 48 MiB", mb(peak))
	}
}

// A page of the SU's log is bounded in bytes as well as in count, and the next page is one request away.
func TestHostileSUPaging(t *testing.T) {
	unit, base := startSU(t, su.Config{})
	user := newWallet(t)
	post := func(raw []byte) string {
		t.Helper()
		resp, err := http.Post(base+"/", "application/octet-stream", strings.NewReader(string(raw)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct{ ID string }
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
			t.Fatalf("post: %d %v", resp.StatusCode, err)
		}
		return out.ID
	}
	pid := post(signed(t, user, "", []byte("p"), tag("Data-Protocol", "ao"), tag("Variant", "ao.TN.1"), tag("Type", "Process"),
		tag("Module", strings.Repeat("m", 43)), tag("Scheduler", unit.Address())))
	const messages, dataSize = 24, mib
	data := []byte(strings.Repeat("d", dataSize))
	for range messages {
		post(signed(t, user, pid, data, tag("Data-Protocol", "ao"), tag("Variant", "ao.TN.1"), tag("Type", "Message"), tag("Action", "Eval")))
	}

	// Page through the log as aoconnect and the CU do, asking for 10,000 at a time.
	seen, pages, from := 0, 0, ""
	var largest int
	var maxAlloc uint64
	for {
		q := url.Values{"limit": {"10000"}}
		if from != "" {
			q.Set("from", from)
		}
		var body []byte
		alloc := peakHeap(func() {
			resp, err := http.Get(base + "/" + pid + "?" + q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
		})
		var page struct {
			PageInfo struct {
				HasNextPage bool `json:"has_next_page"`
			} `json:"page_info"`
			Edges []struct{ Cursor string }
		}
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		pages++
		seen += len(page.Edges)
		largest, maxAlloc = max(largest, len(body)), max(maxAlloc, alloc)
		if !page.PageInfo.HasNextPage || len(page.Edges) == 0 {
			break
		}
		from = page.Edges[len(page.Edges)-1].Cursor
	}
	t.Logf("%d slots of %s data: %d pages, largest %s, peak heap +%s per page (client and server)", messages+1, mb(dataSize), pages, mb(uint64(largest)), mb(maxAlloc))
	if seen != messages+1 {
		t.Errorf("paged %d slots, want %d", seen, messages+1)
	}
	// The bound: 8 MiB of JSON plus the slot that crosses it.
	if largest > 8*mib+dataSize+64<<10 {
		t.Errorf("largest page %s, want at most 8 MiB + one slot", mb(uint64(largest)))
	}
	if maxAlloc > 48*mib {
		t.Errorf("a page took %s of heap, want at most 48 MiB", mb(maxAlloc))
	}
}
