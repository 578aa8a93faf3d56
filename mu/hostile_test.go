package mu_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/mu"
	"github.com/aogo/aogo/mu/mutest"
	"github.com/aogo/aogo/vm"
	"github.com/aogo/aogo/wallet"
)

// The hostile-client suite (MU): each test is an attack, driven the way an attacker would drive it.

// signedBy signs an item with w (not the harness's user).
func signedBy(t testing.TB, w dataitem.Signer, target string, tags ...dataitem.Tag) []byte {
	t.Helper()
	anchor, _ := dataitem.DecodeB64(mutest.RandomID())
	it := &dataitem.Item{Tags: tags, Anchor: anchor}
	if target != "" {
		it.Target, _ = dataitem.DecodeB64(target)
	}
	if err := it.Sign(w); err != nil {
		t.Fatal(err)
	}
	raw, err := it.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestHostileUnmonitorByStranger: anyone could stop anyone's cron with DELETE /monitor/{pid} and any signed
// item. A stranger now gets 403 with a JSON error and the cron keeps running; the owner, and the process itself
// (an item this MU pushed for it), may stop it.
func TestHostileUnmonitorByStranger(t *testing.T) {
	h := newHarness(t, nil)
	h.net.Module("ticker", func(p *mutest.Process, m mutest.Msg) vm.Result { return vm.Result{} })
	h.net.Module("sink", func(p *mutest.Process, m mutest.Msg) vm.Result { return vm.Result{} })
	sink := h.spawn("sink")
	ticks := 0
	tick := func(tk string) {
		ticks++
		i := ticks
		h.net.AddCron(tk, func(p *mutest.Process) vm.Result {
			return vm.Result{Messages: []json.RawMessage{p.Send(sink, fmt.Sprint("tick", i))}}
		})
	}
	monitor := func(tk string) {
		_, sub := h.signed(tk, "", aoTags("Message")...)
		if code, body := h.do(http.MethodPost, h.srv.URL+"/monitor/"+tk, sub); code != 200 {
			t.Fatalf("monitor: %d %v", code, body)
		}
	}
	unmonitor := func(tk string, raw []byte) (int, map[string]any) {
		return h.do(http.MethodDelete, h.srv.URL+"/monitor/"+tk, raw)
	}
	delivered := func() int { return len(h.messages(sink)) }

	stranger, _ := wallet.Generate(wallet.ED25519)
	tk := h.spawn("ticker")
	h.waitIdle()
	monitor(tk)
	tick(tk)
	waitFor(t, func() bool { return delivered() == 1 })

	// The attack: a stranger's signed item, and the stranger claiming to be the process.
	for name, raw := range map[string][]byte{
		"stranger":              signedBy(t, stranger, tk, aoTags("Message")...),
		"stranger as a process": signedBy(t, stranger, tk, aoTags("Message", tag("From-Process", tk))...),
	} {
		code, body := unmonitor(tk, raw)
		if code != http.StatusForbidden || !strings.Contains(fmt.Sprint(body["error"]), "owner") {
			t.Fatalf("%s: DELETE /monitor = %d %v, want 403 with a JSON error", name, code, body)
		}
	}
	tick(tk)
	waitFor(t, func() bool { return delivered() == 2 }) // the cron still runs

	// The owner may stop it.
	_, own := h.signed(tk, "", aoTags("Message")...)
	if code, body := unmonitor(tk, own); code != 200 || body["text"] != "Process deleted" {
		t.Fatalf("owner's unmonitor: %d %v", code, body)
	}
	tick(tk)
	time.Sleep(50 * time.Millisecond)
	if n := delivered(); n != 2 {
		t.Fatalf("sink got %d after the owner's unmonitor, want 2", n)
	}

	// So may the process itself: its messages leave only as items this MU signs, with From-Process.
	tk2 := h.spawn("ticker")
	h.waitIdle()
	monitor(tk2)
	self := signedBy(t, h.muKey, tk2, aoTags("Message", tag("From-Process", tk2))...)
	if code, body := unmonitor(tk2, self); code != 200 || body["text"] != "Process deleted" {
		t.Fatalf("the process's own unmonitor: %d %v", code, body)
	}
}

// TestHostileForgedPushSuppression is the attack of issue 12 end to end, on a real network running our aos:
// process A relays a credit to B on Action=Relay. The attacker dry-runs A (free, anonymous) to learn the exact
// message A will send B (anchor included), signs the same content with their own key with From-Process: A, and
// posts it to B's SU first. Then A's owner sends Relay. Before the fix the SU took the MU's genuine push for a
// duplicate of the forgery: B's log held only the forgery, aos dropped it as untrusted, B never got its credit,
// and the MU's task said done. Now B's log has the MU-signed copy and B's state has the credit.
func TestHostileForgedPushSuppression(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real aos processes")
	}
	n := newAOSNet(t)
	ctx := context.Background()
	a, b := n.spawn(tag("Name", "a")), n.spawn(tag("Name", "b"))
	n.idle()
	n.eval(b, `Credits = 0; Handlers.add("credit", "Credit", function(msg) Credits = Credits + tonumber(msg.Quantity) end)`)
	n.eval(a, fmt.Sprintf(`Handlers.add("relay", "Relay", function(msg) ao.send({Target = %q, Action = "Credit", Quantity = "1"}) end)`, b))
	n.idle()

	// The attacker's dry-run shows A's next outbox message.
	attacker, _ := wallet.Generate(wallet.ED25519)
	dry, err := n.cu.DryRun(ctx, a, client.DryRunMessage{Owner: dataitem.Address(attacker.Owner()), Target: a,
		Tags: []dataitem.Tag{tag("Action", "Relay")}})
	if err != nil {
		t.Fatalf("dry-run: %v", err)
	}
	if len(dry.Messages) != 1 {
		t.Fatalf("dry-run outbox has %d messages, want 1", len(dry.Messages))
	}
	var out struct {
		Target string
		Anchor string
		Tags   []dataitem.Tag
		Data   string
	}
	if err := json.Unmarshal(dry.Messages[0], &out); err != nil {
		t.Fatalf("outbox message: %v", err)
	}
	// The item the MU will build from it, signed by the attacker (Pushed-For is not part of the content).
	tags := []dataitem.Tag{}
	for _, tg := range out.Tags {
		switch tg.Name {
		case ao.TagDataProtocol, ao.TagType, ao.TagFromProcess, ao.TagFromModule, "Assignments":
		default:
			tags = append(tags, tg)
		}
	}
	tags = append(tags, tag(ao.TagDataProtocol, ao.DataProtocol), tag(ao.TagType, ao.TypeMessage),
		tag(ao.TagFromProcess, a), tag(ao.TagFromModule, n.module))
	forged := &dataitem.Item{Anchor: []byte(out.Anchor), Tags: tags, Data: []byte(out.Data)}
	forged.Target, _ = dataitem.DecodeB64(out.Target)
	if err := forged.Sign(attacker); err != nil {
		t.Fatal(err)
	}
	raw, err := forged.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.NewSU(n.suURL, nil).Post(ctx, raw); err != nil {
		t.Fatalf("the attacker's post to B's SU: %v", err)
	}

	// The genuine flow.
	n.send(a, "", tag("Action", "Relay"))
	n.idle()

	// B's log holds the MU's own push from A next to the forgery.
	page, err := client.NewSU(n.suURL, nil).Page(ctx, b, client.SUQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var genuine, forgeries int
	for _, e := range page.Edges {
		m := e.Node.Message
		if m == nil || m.Tag(ao.TagFromProcess) != a {
			continue
		}
		switch m.Owner.Address {
		case n.mu.Address():
			genuine++
		case dataitem.Address(attacker.Owner()):
			forgeries++
		}
	}
	if genuine != 1 || forgeries != 1 {
		t.Fatalf("B's log has %d MU-signed and %d forged messages from A, want 1 and 1", genuine, forgeries)
	}
	if got := n.value(b, "Credits"); got != "1" {
		t.Fatalf("B's Credits = %s, want 1: the genuine push was suppressed", got)
	}
	if p := n.parked(); len(p) != 0 {
		t.Fatalf("parked: %+v", p)
	}
}

// TestHostileFromProcessNamesMU: a stranger signs a message to B with From-Process set to the MU's address
// (an Authority of B). aos's trust rule accepted it, because ao.isTrusted also looked at From, which for a
// pushed message is the From-Process tag anyone can write. Now only what an Authority signed is trusted.
func TestHostileFromProcessNamesMU(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real aos processes")
	}
	n := newAOSNet(t)
	ctx := context.Background()
	b := n.spawn(tag("Name", "b"))
	n.idle()
	n.eval(b, `Credits = 0; Handlers.add("credit", "Credit", function(msg) Credits = Credits + tonumber(msg.Quantity) end)`)
	n.idle()
	attacker, _ := wallet.Generate(wallet.ED25519)
	for _, from := range []string{n.mu.Address(), b} {
		raw := signedBy(t, attacker, b, tag(ao.TagDataProtocol, ao.DataProtocol), tag(ao.TagType, ao.TypeMessage),
			tag("Variant", "ao.TN.1"), tag(ao.TagFromProcess, from), tag("Action", "Credit"), tag("Quantity", "1000"))
		if _, err := client.NewSU(n.suURL, nil).Post(ctx, raw); err != nil {
			t.Fatalf("the attacker's post: %v", err)
		}
	}
	if got := n.value(b, "Credits"); got != "0" {
		t.Fatalf("B's Credits = %s after forged From-Process messages, want 0", got)
	}
}

// TestHostileUnknownRoutesJSON: every unit answers a route it does not have, or a method a route does not
// take, with a JSON {"error": …} like any other error (the mux's plain text before).
func TestHostileUnknownRoutesJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a whole network")
	}
	n := newAOSNet(t)
	for unit, base := range map[string]string{"su": n.suURL, "cu": n.cu.URL(), "mu": n.muURL, "gateway": n.gwURL} {
		for _, c := range []struct {
			method, path string
			status       int
		}{
			{http.MethodGet, "/no/such/route/here", http.StatusNotFound},
			{http.MethodPut, "/", http.StatusMethodNotAllowed},
		} {
			req, _ := http.NewRequest(c.method, base+c.path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body map[string]any
			err = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			msg, _ := body["error"].(string)
			if resp.StatusCode != c.status || err != nil || msg == "" || resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("%s: %s %s = %d %q (%v), want %d with a JSON error", unit, c.method, c.path, resp.StatusCode,
					resp.Header.Get("Content-Type"), err, c.status)
			}
		}
	}
}

// TestHostileNonUTF8OutboxTag: Lua strings are bytes, so a process can put non-UTF-8 bytes in an outbox tag.
// The MU's JSON decoding used to turn them into U+FFFD silently and push a tag the process never wrote; the
// entry is now parked with the reason, visibly.
func TestHostileNonUTF8OutboxTag(t *testing.T) {
	h := newHarness(t, nil)
	sinkID := ""
	h.net.Module("binary", func(p *mutest.Process, m mutest.Msg) vm.Result {
		if m.Nonce == 0 {
			return vm.Result{}
		}
		// The raw bytes the CU's JSON carries when a Lua string is not UTF-8 (json.Marshal would clean them).
		bad := json.RawMessage(`{"Target":"` + sinkID + `","Tags":[{"name":"Note","value":"a` + "\xff\xfe" + `b"}]}`)
		return vm.Result{Messages: []json.RawMessage{bad, p.Send(sinkID, "fine")}}
	})
	h.net.Module("sink", func(p *mutest.Process, m mutest.Msg) vm.Result { return vm.Result{} })
	src := h.spawn("binary")
	sinkID = h.spawn("sink")
	h.send(src, "")
	h.waitIdle()
	for _, e := range h.messages(sinkID) {
		if v := tagOf(e.Item, "Note"); v != "" {
			t.Fatalf("pushed a Note tag %q the process never wrote", v)
		}
	}
	parked := h.parked()
	if len(parked) != 1 || !strings.Contains(parked[0].LastError, "UTF-8") {
		t.Fatalf("parked %+v, want the non-UTF-8 entry with its reason", parked)
	}
}

// TestHostileUnknownModule: a Process naming a module that does not exist used to be accepted, then cost a CU
// 500 per result request and ten MU retries. The MU now refuses it when it is posted (400, a JSON error naming
// the module), and parks a spawn of such a process before it is written, with that reason.
func TestHostileUnknownModule(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real aos processes")
	}
	n := newAOSNet(t)
	missing := mutest.RandomID()
	it := &dataitem.Item{Data: []byte("1984"), Tags: []dataitem.Tag{
		tag("Data-Protocol", "ao"), tag("Variant", "ao.TN.1"), tag("Type", "Process"), tag("Module", missing),
		tag("Scheduler", n.suAddr), tag("Authority", n.mu.Address()),
	}}
	resp, err := httpPost(n.muURL+"/", n.sign(it))
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]string
	if resp.code != http.StatusBadRequest || json.Unmarshal([]byte(resp.body), &body) != nil || !strings.Contains(body["error"], missing) {
		t.Fatalf("POST of a Process with an unknown module: %d %s, want 400 with a JSON error naming %s", resp.code, resp.body, missing)
	}
	su := client.NewSU(n.suURL, nil)
	if _, err := su.Process(context.Background(), it.ID()); err == nil {
		t.Fatal("the refused process was scheduled anyway")
	}

	// A spawn from a process's outbox naming the same module is parked before it is written, with the reason.
	a := n.spawn(tag("Name", "a"))
	n.idle()
	n.eval(a, fmt.Sprintf(`Spawn(%q, { Name = "orphan" })`, missing))
	n.idle()
	var spawn *mu.Task
	for _, p := range n.parked() {
		if p.Kind == mu.KindSpawn {
			spawn = &p
		}
	}
	if spawn == nil || !strings.Contains(spawn.LastError, "write:") || !strings.Contains(spawn.LastError, missing) {
		t.Fatalf("parked spawn %+v, want one parked at its write naming module %s", spawn, missing)
	}
	if _, err := su.Process(context.Background(), spawn.ItemID); err == nil {
		t.Fatal("the spawn of a process with an unknown module was scheduled anyway")
	}
}

// TestHostileEndlessPingPong: two processes that answer each other forever used to crank without end. With
// MaxDepth the loop stops at the limit: the hop beyond it is parked (not lost: signed, listed on GET /, counted
// in the metrics) and the MU goes idle; retrying it delivers that hop and parks the next one.
func TestHostileEndlessPingPong(t *testing.T) {
	const limit = 6
	h := newHarness(t, func(c *mu.Config) { c.MaxDepth = limit })
	h.net.Module("echo", func(p *mutest.Process, m mutest.Msg) vm.Result {
		switch m.Tag("Action") {
		case "Start":
			return vm.Result{Messages: []json.RawMessage{p.Send(m.Data, "", "Action", "Ball")}}
		case "Ball":
			return vm.Result{Messages: []json.RawMessage{p.Send(m.From, "", "Action", "Ball")}}
		}
		return vm.Result{}
	})
	a, b := h.spawn("echo"), h.spawn("echo")
	h.waitIdle()
	h.send(a, b, tag("Action", "Start"))
	h.waitIdle()                                                               // before the brake: never (the loop does not end), and waitIdle fails after its deadline
	balls := func() int { return len(h.messages(a)) - 1 + len(h.messages(b)) } // a's first message is Start
	if got := balls(); got != limit {
		t.Fatalf("%d balls delivered, want %d (hops 1..%d)", got, limit, limit)
	}
	parked := h.parked()
	if len(parked) != 1 || parked[0].Depth != limit+1 || !strings.Contains(parked[0].LastError, "over the limit") || len(parked[0].Item) == 0 {
		t.Fatalf("parked %+v, want the hop beyond the limit with its item and the reason", parked)
	}
	code, status := h.do(http.MethodGet, h.srv.URL+"/", nil)
	if code != 200 || len(status["parked"].([]any)) != 1 {
		t.Fatalf("GET / %d %v: the braked hop is not listed", code, status)
	}
	req, _ := http.NewRequest(http.MethodGet, h.srv.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+testOperatorToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	mb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(mb), "aogo_mu_depth_limited_total 1\n") {
		t.Fatalf("metrics lack the brake:\n%s", mb)
	}

	// The operator lets it go one hop further.
	if code, body := h.do(http.MethodPost, fmt.Sprintf("%s/parked/%d/retry", h.srv.URL, parked[0].ID), nil); code != http.StatusAccepted {
		t.Fatalf("retry: %d %v", code, body)
	}
	h.waitIdle()
	if got := balls(); got != limit+1 {
		t.Fatalf("%d balls after the retry, want %d", got, limit+1)
	}
	if p := h.parked(); len(p) != 1 || p[0].Depth != limit+2 {
		t.Fatalf("parked after the retry: %+v, want only the next hop", p)
	}
}
