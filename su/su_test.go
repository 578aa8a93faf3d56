package su_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/su"
)

// readLog reads a whole log in nonce mode, with anchors, through the client's page iterator.
func readLog(t *testing.T, c *client.SU, pid string, pageSize int) []*client.SUMessage {
	t.Helper()
	var out []*client.SUMessage
	for m, err := range c.Messages(ctxT(t), pid, client.SUQuery{FromNonce: new(int64(-1)), Limit: pageSize, ShowAnchor: true}) {
		if err != nil {
			t.Fatalf("read log of %s: %v", pid, err)
		}
		out = append(out, m)
	}
	return out
}

func TestInfoTimestampHealthMetrics(t *testing.T) {
	e := start(t, "", su.Config{})
	ctx := ctxT(t)
	info, err := e.c.Info(ctx)
	if err != nil || info.Address != suWallet.Address() || info.Timestamp <= 0 {
		t.Fatalf("Info = %+v, %v", info, err)
	}
	ts, err := e.c.Timestamp(ctx)
	if err != nil || ts.Timestamp <= 0 {
		t.Fatalf("Timestamp = %+v, %v", ts, err)
	}
	if err := e.c.Health(ctx); err != nil {
		t.Fatal(err)
	}
	// GET / answers timestamp as a string, as the reference does.
	body := get(t, e.srv.URL+"/", 200)
	if !strings.Contains(body, `"timestamp":"`) {
		t.Fatalf("GET / timestamp is not a string: %s", body)
	}
	body = get(t, e.srv.URL+"/timestamp", 200)
	if !strings.Contains(body, `"block_height":"000000000000"`) {
		t.Fatalf("GET /timestamp block_height not 12 digits: %s", body)
	}
	e.spawn(t)
	m := get(t, e.srv.URL+"/metrics", 200)
	for _, want := range []string{"aogo_su_slots_committed_total 1", "aogo_su_commits_total 1"} {
		if !strings.Contains(m, want) {
			t.Fatalf("metrics lack %q:\n%s", want, m)
		}
	}
	resp, err := http.DefaultClient.Do(must(http.NewRequest(http.MethodOptions, e.srv.URL+"/", nil)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("CORS preflight: %d %v", resp.StatusCode, resp.Header)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func get(t *testing.T, url string, status int) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+testOperatorToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("GET %s: %d %s, want %d", url, resp.StatusCode, b, status)
	}
	// Protocol routes allow any origin; the operator route /metrics none.
	if cors, operator := resp.Header.Get("Access-Control-Allow-Origin"), strings.HasSuffix(url, "/metrics"); operator != (cors == "") {
		t.Fatalf("GET %s: CORS header %q", url, cors)
	}
	return string(b)
}

func TestLogPagingAndChain(t *testing.T) {
	e := start(t, "", su.Config{})
	ctx := ctxT(t)
	pid := e.spawn(t, tag("Name", "paging"))
	ids := []string{pid}
	for i := range 9 {
		raw := messageItem(t, e.user, pid, fmt.Sprint("msg ", i))
		res, err := e.c.Post(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		if res.ID != idOf(t, raw) {
			t.Fatalf("posted id %s, want %s", res.ID, idOf(t, raw))
		}
		ids = append(ids, res.ID)
	}
	log := readLog(t, e.c, pid, 3)
	if len(log) != 10 {
		t.Fatalf("log has %d slots, want 10", len(log))
	}
	for i, m := range log {
		if m.MessageID() != ids[i] {
			t.Fatalf("slot %d holds %s, want %s", i, m.MessageID(), ids[i])
		}
	}
	if err := client.VerifySULog(pid, log); err != nil {
		t.Fatal(err)
	}
	// Assignment tags in the reference order, message tag only on messages.
	var names []string
	for _, tg := range log[1].Assignment.Tags {
		names = append(names, tg.Name)
	}
	if got := strings.Join(names, ","); got != "Process,Epoch,Nonce,Hash-Chain,Block-Height,Timestamp,Data-Protocol,Type,Variant,Message" {
		t.Fatalf("assignment tags %s", got)
	}
	if log[0].Assignment.Tag("Message") != "" {
		t.Fatal("the Process's own assignment has a Message tag")
	}
	if *log[1].Message.Data != "msg 0" || log[1].Message.Owner.Address != userWallet.Address() || *log[1].Message.Target != pid {
		t.Fatalf("message JSON: %+v", log[1].Message)
	}

	// Timestamp mode, the way aoconnect and the CU page: first page has the Process as first edge.
	p1, err := e.c.Page(ctx, pid, client.SUQuery{Limit: 4})
	if err != nil {
		t.Fatal(err)
	}
	if len(p1.Edges) != 4 || !p1.PageInfo.HasNextPage || p1.Edges[0].Node.MessageID() != pid {
		t.Fatalf("first page: %d edges, next=%v, first=%s", len(p1.Edges), p1.PageInfo.HasNextPage, p1.Edges[0].Node.MessageID())
	}
	if p1.Edges[0].Node.Message.Target != nil {
		t.Fatal("the process edge shows a target")
	}
	if p1.Edges[3].Cursor != fmt.Sprint(p1.Edges[3].Node.Timestamp()) {
		t.Fatalf("timestamp cursor %s", p1.Edges[3].Cursor)
	}
	var all []*client.SUMessage
	for m, err := range e.c.Messages(ctx, pid, client.SUQuery{Limit: 4}) {
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, m)
	}
	if len(all) != 10 {
		t.Fatalf("timestamp paging saw %d slots, want 10", len(all))
	}
	last, err := e.c.Page(ctx, pid, client.SUQuery{From: log[6].Timestamp(), Limit: 3})
	if err != nil || len(last.Edges) != 3 || last.PageInfo.HasNextPage {
		t.Fatalf("last page: %+v, %v", last, err)
	}
	bounded, err := e.c.Page(ctx, pid, client.SUQuery{From: log[2].Timestamp(), To: log[4].Timestamp()})
	if err != nil || len(bounded.Edges) != 2 || bounded.Edges[0].Node.Nonce() != 3 || bounded.PageInfo.HasNextPage {
		t.Fatalf("from/to page: %+v, %v", bounded, err)
	}
	// Nonce mode: from-nonce exclusive, to-nonce inclusive, cursor = nonce.
	np, err := e.c.Page(ctx, pid, client.SUQuery{FromNonce: new(int64(0)), ToNonce: new(int64(2))})
	if err != nil || len(np.Edges) != 2 || np.Edges[0].Cursor != "1" || np.Edges[1].Cursor != "2" {
		t.Fatalf("nonce page: %+v, %v", np, err)
	}
	// aoconnect pages without process-id: it defaults to the path id.
	body := get(t, e.srv.URL+"/"+pid+"?limit=2", 200)
	var raw struct {
		PageInfo struct {
			HasNextPage bool `json:"has_next_page"`
		} `json:"page_info"`
		Edges []json.RawMessage `json:"edges"`
	}
	if err := json.Unmarshal([]byte(body), &raw); err != nil || len(raw.Edges) != 2 || !raw.PageInfo.HasNextPage {
		t.Fatalf("page without process-id: %s", body)
	}
}

func TestSingleMessageLatestProcess(t *testing.T) {
	e := start(t, "", su.Config{})
	ctx := ctxT(t)
	pid := e.spawn(t, tag("Name", "one"))
	latest, err := e.c.Latest(ctx, pid)
	if err != nil || latest.MessageID() != pid || latest.Nonce() != 0 {
		t.Fatalf("latest of a new process: %+v, %v", latest, err)
	}
	anchor := []byte("00000000000000000000000000000042")
	raw := signed(t, e.user, pid, anchor, "hello", tag("Data-Protocol", "ao"), tag("Type", "Message"), tag("Variant", "ao.TN.1"))
	res, err := e.c.Post(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.c.Message(ctx, res.ID, pid)
	if err != nil {
		t.Fatal(err)
	}
	if m.Message.ID != res.ID || *m.Message.Anchor != string(anchor) || m.Nonce() != 1 || m.Timestamp() != res.Timestamp {
		t.Fatalf("single message: %+v", m)
	}
	if m.Assignment.Anchor != nil {
		t.Fatal("assignment anchor shown without show-anchor")
	}
	// By assignment id too.
	byA, err := e.c.Message(ctx, m.Assignment.ID, pid)
	if err != nil || byA.MessageID() != res.ID {
		t.Fatalf("by assignment id: %+v, %v", byA, err)
	}
	latest, err = e.c.Latest(ctx, pid)
	if err != nil || latest.MessageID() != res.ID {
		t.Fatalf("latest: %+v, %v", latest, err)
	}
	p, err := e.c.Process(ctx, pid)
	if err != nil {
		t.Fatal(err)
	}
	if p.ProcessID != pid || p.Owner.Address != userWallet.Address() || len(p.Block) != 12 || p.Timestamp <= 0 ||
		*p.Data != "process data" || p.Target != nil || p.Signature == nil {
		t.Fatalf("process: %+v", p)
	}
	if v, _ := dataitem.Get(p.Tags, "Name"); v != "one" {
		t.Fatalf("process tags %v", p.Tags)
	}
	if _, err := e.c.Message(ctx, randID(), pid); !client.IsSUStatus(err, 404) {
		t.Fatalf("unknown message: %v, want 404", err)
	}
	if _, err := e.c.Process(ctx, randID()); !client.IsSUStatus(err, 404) {
		t.Fatalf("unknown process: %v, want 404", err)
	}
	if _, err := e.c.Latest(ctx, randID()); !client.IsSUStatus(err, 404) {
		t.Fatalf("latest of unknown process: %v, want 404", err)
	}
	if _, err := e.c.Message(ctx, res.ID, randID()); !client.IsSUStatus(err, 404) {
		t.Fatalf("message under the wrong process: %v, want 404", err)
	}
}

func TestDedupSameID(t *testing.T) {
	e := start(t, "", su.Config{})
	ctx := ctxT(t)
	praw := processItem(t, e.user, e.unit.Address())
	first, err := e.c.Post(ctx, praw)
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.c.Post(ctx, praw)
	if err != nil || again != first {
		t.Fatalf("re-posted process: %+v, %v; first %+v", again, err, first)
	}
	raw := messageItem(t, e.user, first.ID, "once")
	// Concurrent re-posts of one item share one slot.
	var wg sync.WaitGroup
	results := make([]client.SUPosted, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := e.c.Post(ctx, raw)
			if err != nil {
				t.Error(err)
			}
			results[i] = r
		}()
	}
	wg.Wait()
	for _, r := range results[1:] {
		if r != results[0] {
			t.Fatalf("re-posts answered differently: %+v vs %+v", r, results[0])
		}
	}
	if log := readLog(t, e.c, first.ID, 100); len(log) != 2 {
		t.Fatalf("log has %d slots after re-posts, want 2", len(log))
	}
}

func TestDedupPushedContent(t *testing.T) {
	e := start(t, "", su.Config{})
	ctx := ctxT(t)
	pid := e.spawn(t)
	mu1, mu2 := mustWallet(), mustWallet()
	from := randID()
	anchor := []byte("00000000000000000000000000000007")
	push := func(w dataitem.Signer, pushedFor string, tags ...dataitem.Tag) []byte {
		base := []dataitem.Tag{tag("Data-Protocol", "ao"), tag("Type", "Message"), tag("Variant", "ao.TN.1"),
			tag("From-Process", from), tag("Pushed-For", pushedFor)}
		return signed(t, w, pid, anchor, "transfer", append(base, tags...)...)
	}
	a := push(mu1, randID(), tag("Action", "Credit"), tag("Quantity", "5"))
	// The same outbox message pushed again by the same MU (new id: other Pushed-For, tags reordered).
	b := push(mu1, randID(), tag("Quantity", "5"), tag("Action", "Credit"))
	// A different message (other quantity) from the same process.
	c := push(mu1, randID(), tag("Action", "Credit"), tag("Quantity", "6"))
	// The same content signed by someone else is never a duplicate of the first signer's push.
	d := push(mu2, randID(), tag("Action", "Credit"), tag("Quantity", "5"))
	ra, err := e.c.Post(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := e.c.Post(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if rb != ra {
		t.Fatalf("pushed duplicate got its own slot: %+v vs %+v", rb, ra)
	}
	rc, err := e.c.Post(ctx, c)
	if err != nil || rc.ID != idOf(t, c) {
		t.Fatalf("distinct pushed message: %+v, %v", rc, err)
	}
	rd, err := e.c.Post(ctx, d)
	if err != nil || rd.ID != idOf(t, d) {
		t.Fatalf("same content from another signer: %+v, %v; want its own slot %s", rd, err, idOf(t, d))
	}
	// A user message with the same content is not a push: no content de-duplication.
	u1 := messageItem(t, e.user, pid, "same")
	u2 := messageItem(t, mustWallet(), pid, "same")
	r1, _ := e.c.Post(ctx, u1)
	r2, _ := e.c.Post(ctx, u2)
	if r1.ID == r2.ID {
		t.Fatal("two user messages with equal content were merged")
	}
	if log := readLog(t, e.c, pid, 100); len(log) != 6 {
		t.Fatalf("log has %d slots, want 6", len(log))
	}
}

func TestAssign(t *testing.T) {
	gw := newFakeGateway(t)
	e := start(t, "", su.Config{Messages: gw, Uploader: gw, Heights: gw})
	ctx := ctxT(t)
	a, b := e.spawn(t), e.spawn(t, tag("Settlement-Depth", "3"))
	raw := messageItem(t, e.user, a, "for a, assigned to b")
	res, err := e.c.Post(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	as, err := e.c.Assign(ctx, b, res.ID, false, []string{"Data", "Anchor"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.c.Message(ctx, res.ID, b)
	if err != nil {
		t.Fatal(err)
	}
	if m.Assignment.ID != as.ID || m.Message != nil || m.Assignment.Tag("Message") != res.ID || m.Nonce() != 1 {
		t.Fatalf("assigned slot: %+v", m)
	}
	var excl []string
	for _, tg := range m.Assignment.Tags {
		if tg.Name == "Exclude" {
			excl = append(excl, tg.Value)
		}
	}
	if strings.Join(excl, ",") != "Data,Anchor" {
		t.Fatalf("Exclude tags %v", excl)
	}
	again, err := e.c.Assign(ctx, b, res.ID, false, nil)
	if err != nil || again != as {
		t.Fatalf("re-assign: %+v, %v; want %+v", again, err, as)
	}
	// A message only the gateway holds.
	onGW := randID()
	gw.addItem(onGW)
	if _, err := e.c.Assign(ctx, b, onGW, false, nil); err != nil {
		t.Fatalf("assign of a gateway item: %v", err)
	}
	// Base layer: needs the process's Settlement-Depth (3) confirmations.
	tx := randID()
	gw.setConfirmations(tx, 2)
	if _, err := e.c.Assign(ctx, b, tx, true, nil); !client.IsSUStatus(err, 400) {
		t.Fatalf("base-layer assign with too few confirmations: %v", err)
	}
	gw.setConfirmations(tx, 3)
	if _, err := e.c.Assign(ctx, b, tx, true, nil); err != nil {
		t.Fatalf("base-layer assign: %v", err)
	}
	log := readLog(t, e.c, b, 100)
	if len(log) != 4 {
		t.Fatalf("log of b has %d slots, want 4", len(log))
	}
	if err := client.VerifySULog(b, log); err != nil {
		t.Fatal(err)
	}
}

func TestRejections(t *testing.T) {
	e := start(t, "", su.Config{MaxBody: 4096})
	ctx := ctxT(t)
	pid := e.spawn(t)
	other := mustWallet()
	aoTags := func(typ string, extra ...dataitem.Tag) []dataitem.Tag {
		return append([]dataitem.Tag{tag("Data-Protocol", "ao"), tag("Variant", "ao.TN.1"), tag("Type", typ)}, extra...)
	}
	tampered := messageItem(t, e.user, pid, "tamper")
	tampered[len(tampered)-1] ^= 1
	cases := []struct {
		name   string
		body   []byte
		status int
		want   string
	}{
		{"garbage", []byte("not an item"), 400, "invalid"},
		{"bad signature", tampered, 400, "signature"},
		{"not ao", signed(t, e.user, pid, nil, "x", tag("Type", "Message")), 400, "not an ao item"},
		{"wrong type", signed(t, e.user, "", nil, "x", aoTags("Module")...), 400, "Module"},
		{"process without Module", signed(t, e.user, "", nil, "x", aoTags("Process", tag("Scheduler", e.unit.Address()))...), 400, "Module"},
		{"process without Scheduler", signed(t, e.user, "", nil, "x", aoTags("Process", tag("Module", randID()))...), 400, "Scheduler"},
		{"process for another scheduler", processItem(t, e.user, other.Address()), 400, "not this one"},
		{"+link tag", signed(t, e.user, pid, nil, "x", aoTags("Message", tag("Data+link", "v"))...), 400, "+link"},
		{"+link value", processItem(t, e.user, e.unit.Address(), tag("Ref", "x+link")), 400, "+link"},
		{"message without target", signed(t, e.user, "", nil, "x", aoTags("Message")...), 400, "target"},
		{"message to unknown process", messageItem(t, e.user, randID(), "x"), 400, "not found"},
		{"too large", messageItem(t, e.user, pid, strings.Repeat("x", 5000)), 413, "4096-byte limit"},
		{"empty body", nil, 400, "empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := post(t, e.srv.URL+"/", c.body)
			if status != c.status || !strings.Contains(body, c.want) || !strings.HasPrefix(body, `{"error":`) {
				t.Fatalf("status %d body %s; want %d containing %q", status, body, c.status, c.want)
			}
		})
	}
	assigns := []struct {
		name, query string
		status      int
	}{
		{"unknown message", "process-id=" + pid + "&assign=" + randID(), 400},
		{"unknown process", "process-id=" + randID() + "&assign=" + pid, 400},
		{"bad id", "process-id=" + pid + "&assign=short", 400},
		{"missing assign", "process-id=" + pid, 400},
		{"base layer without gateway", "process-id=" + pid + "&assign=" + randID() + "&base-layer", 400},
	}
	for _, c := range assigns {
		t.Run("assign "+c.name, func(t *testing.T) {
			status, body := post(t, e.srv.URL+"/?"+c.query, nil)
			if status != c.status || !strings.HasPrefix(body, `{"error":`) {
				t.Fatalf("status %d body %s; want %d", status, body, c.status)
			}
		})
	}
	gets := []struct {
		path   string
		status int
	}{
		{"/" + pid + "?limit=0", 400},
		{"/" + pid + "?from=abc", 400},
		{"/" + pid + "?from-nonce=x", 400},
		{"/" + randID(), 404},
		{"/" + randID() + "?process-id=" + pid, 404},
		{"/a/b", 404},
	}
	for _, g := range gets {
		get(t, e.srv.URL+g.path, g.status)
	}
	// Nothing above took a slot.
	if log := readLog(t, e.c, pid, 100); len(log) != 1 {
		t.Fatalf("rejected items took slots: log has %d", len(log))
	}
	_ = ctx
}

func post(t *testing.T, url string, body []byte) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/octet-stream", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestConcurrentWritersKeepOrder(t *testing.T) {
	e := start(t, "", su.Config{})
	ctx := ctxT(t)
	pids := []string{e.spawn(t), e.spawn(t), e.spawn(t)}
	const per = 40
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				pid := pids[(w+i)%len(pids)]
				if _, err := e.c.Post(ctx, messageItem(t, e.user, pid, fmt.Sprint(w, "/", i))); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	total := 0
	for _, pid := range pids {
		log := readLog(t, e.c, pid, 50)
		if err := client.VerifySULog(pid, log); err != nil {
			t.Fatal(err)
		}
		total += len(log) - 1
	}
	if total != 6*per {
		t.Fatalf("%d messages in the logs, want %d", total, 6*per)
	}
}

func TestRestartResumesChain(t *testing.T) {
	dir := t.TempDir()
	e := start(t, dir, su.Config{})
	ctx := ctxT(t)
	pid := e.spawn(t)
	for i := range 3 {
		if _, err := e.c.Post(ctx, messageItem(t, e.user, pid, fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	e.stop()
	// Writes after Run ended are refused, not hung.
	if _, err := e.unit.PostItem(ctx, messageItem(t, e.user, pid, "late")); err == nil {
		t.Fatal("write after stop succeeded")
	}
	e2 := start(t, dir, su.Config{})
	for i := range 3 {
		if _, err := e2.c.Post(ctx, messageItem(t, e2.user, pid, fmt.Sprint("after ", i))); err != nil {
			t.Fatal(err)
		}
	}
	log := readLog(t, e2.c, pid, 100)
	if len(log) != 7 {
		t.Fatalf("log has %d slots, want 7", len(log))
	}
	if err := client.VerifySULog(pid, log); err != nil {
		t.Fatal(err)
	}
}

func TestRSAWallet(t *testing.T) {
	if testing.Short() {
		t.Skip("RSA-4096 key generation")
	}
	w, err := walletRSA()
	if err != nil {
		t.Fatal(err)
	}
	e := start(t, "", su.Config{Wallet: w})
	ctx := ctxT(t)
	raw := processItem(t, w, e.unit.Address()) // an RSA-signed (type 1) process too
	res, err := e.c.Post(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.Post(ctx, messageItem(t, e.user, res.ID, "rsa")); err != nil {
		t.Fatal(err)
	}
	log := readLog(t, e.c, res.ID, 10)
	if len(log) != 2 || len(log[1].Assignment.Owner.Key) != 683 {
		t.Fatalf("RSA log: %d slots, owner key %d chars", len(log), len(log[1].Assignment.Owner.Key))
	}
	if err := client.VerifySULog(res.ID, log); err != nil {
		t.Fatal(err)
	}
}

var _ = context.Background
