package mu_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/gateway"
	"github.com/aogo/aogo/mu"
	"github.com/aogo/aogo/mu/mutest"
	"github.com/aogo/aogo/store/sqlite"
	"github.com/aogo/aogo/vm"
	"github.com/aogo/aogo/wallet"
)

// harness is an MU on a temp SQLite store, wired to a fake network.
type harness struct {
	t      testing.TB
	net    *mutest.Network
	dbPath string
	// openStore opens the MU's store; nil: SQLite at dbPath.
	openStore func() (mu.Store, error)
	store     mu.Store
	mu        *mu.MU
	srv       *httptest.Server
	cancel    context.CancelFunc
	done      chan struct{}
	user      *wallet.Wallet
	muKey     *wallet.Wallet
	gateway   *memGateway
	cfg       func(*mu.Config)
}

// memGateway stands in for the gateway: it records uploads, knows the modules the fake network has behaviours
// for, and knows no process or scheduler.
type memGateway struct {
	mu      sync.Mutex
	uploads []*dataitem.Item
	net     *mutest.Network
}

func (g *memGateway) Upload(ctx context.Context, raw []byte) error {
	it, err := dataitem.Decode(append([]byte(nil), raw...))
	if err != nil {
		return err
	}
	g.mu.Lock()
	g.uploads = append(g.uploads, it)
	g.mu.Unlock()
	return nil
}

func (g *memGateway) Tags(ctx context.Context, id string) ([]dataitem.Tag, string, error) {
	if g.net != nil && g.net.HasModule(id) {
		return aoTags("Module"), "", nil
	}
	return nil, "", fmt.Errorf("transaction %s: %w", id, gateway.ErrNotFound)
}

func (g *memGateway) SchedulerLocation(ctx context.Context, address string) (string, time.Duration, error) {
	return "", 0, fmt.Errorf("scheduler location of %s: %w", address, gateway.ErrNotFound)
}

func (g *memGateway) Uploads() []*dataitem.Item {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]*dataitem.Item(nil), g.uploads...)
}

func newHarness(t testing.TB, cfg func(*mu.Config)) *harness {
	t.Helper()
	return newHarnessStore(t, nil, cfg)
}

// newHarnessStore is newHarness on the store open opens (nil: SQLite in a temp dir).
func newHarnessStore(t testing.TB, open func() (mu.Store, error), cfg func(*mu.Config)) *harness {
	t.Helper()
	net := mutest.New()
	h := &harness{t: t, net: net, dbPath: filepath.Join(t.TempDir(), "mu.db"), gateway: &memGateway{net: net}, cfg: cfg, openStore: open}
	t.Cleanup(h.net.Close)
	var err error
	if h.user, err = wallet.Generate(wallet.ED25519); err != nil {
		t.Fatal(err)
	}
	if h.muKey, err = wallet.Generate(wallet.ED25519); err != nil {
		t.Fatal(err)
	}
	h.start()
	t.Cleanup(h.stop)
	return h
}

func (h *harness) start() {
	t := h.t
	t.Helper()
	var st mu.Store
	var err error
	if h.openStore != nil {
		st, err = h.openStore()
	} else {
		st, err = sqlite.OpenMU(h.dbPath)
	}
	if err != nil {
		t.Fatal(err)
	}
	cfg := mu.Config{
		Wallet: h.muKey, Store: st, CUs: []string{h.net.CU.URL}, Gateway: h.gateway,
		SchedulerHints: map[string]string{h.net.SchedulerAddress: h.net.SU.URL},
		RetryBase:      2 * time.Millisecond, RetryMax: 20 * time.Millisecond, MaxAttempts: 6,
		CronInterval: 10 * time.Millisecond, Workers: 8,
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		OperatorToken: testOperatorToken,
	}
	if h.cfg != nil {
		h.cfg(&cfg)
	}
	m, err := mu.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.store, h.mu, h.cancel, h.done = st, m, cancel, make(chan struct{})
	h.srv = httptest.NewServer(m.Handler())
	go func() {
		defer close(h.done)
		if err := m.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
}

func (h *harness) stop() {
	if h.srv == nil {
		return
	}
	h.srv.Close()
	h.cancel()
	<-h.done
	h.store.Close()
	h.srv = nil
}

// signed builds and signs an item with the user wallet.
func (h *harness) signed(target string, data string, tags ...dataitem.Tag) (*dataitem.Item, []byte) {
	h.t.Helper()
	// A random anchor, so equal requests are distinct items (ed25519 signatures are deterministic).
	anchor, _ := dataitem.DecodeB64(mutest.RandomID())
	it := &dataitem.Item{Tags: tags, Data: []byte(data), Anchor: anchor}
	if target != "" {
		b, _ := dataitem.DecodeB64(target)
		it.Target = b
	}
	if err := it.Sign(h.user); err != nil {
		h.t.Fatal(err)
	}
	raw, err := it.Bytes()
	if err != nil {
		h.t.Fatal(err)
	}
	return it, raw
}

func tag(name, value string) dataitem.Tag { return dataitem.Tag{Name: name, Value: value} }

func aoTags(typ string, extra ...dataitem.Tag) []dataitem.Tag {
	return append([]dataitem.Tag{tag("Data-Protocol", "ao"), tag("Variant", "ao.TN.1"), tag("Type", typ)}, extra...)
}

func (h *harness) post(raw []byte) (int, map[string]any) {
	h.t.Helper()
	return h.do(http.MethodPost, h.srv.URL+"/", raw)
}

// testOperatorToken is the harness MU's operator token; do sends it.
const testOperatorToken = "test-operator-token"

func (h *harness) do(method, url string, body []byte) (int, map[string]any) {
	h.t.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testOperatorToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if json.Unmarshal(b, &out) != nil {
		out = map[string]any{"text": string(b)}
	}
	return resp.StatusCode, out
}

// spawn posts a user Process item running module and returns its id.
func (h *harness) spawn(module string, extra ...dataitem.Tag) string {
	h.t.Helper()
	it, raw := h.signed("", "", aoTags("Process", append([]dataitem.Tag{tag("Module", module), tag("Scheduler", h.net.SchedulerAddress)}, extra...)...)...)
	if code, body := h.post(raw); code != http.StatusAccepted {
		h.t.Fatalf("spawn: %d %v", code, body)
	}
	return it.ID()
}

// send posts a user Message to pid and returns its id.
func (h *harness) send(pid, data string, extra ...dataitem.Tag) string {
	h.t.Helper()
	it, raw := h.signed(pid, data, aoTags("Message", extra...)...)
	if code, body := h.post(raw); code != http.StatusAccepted {
		h.t.Fatalf("send: %d %v", code, body)
	}
	return it.ID()
}

// waitIdle waits until no task is pending.
func (h *harness) waitIdle() {
	h.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		counts, err := h.store.Counts(context.Background())
		if err != nil {
			h.t.Fatal(err)
		}
		if counts[mu.StageWrite]+counts[mu.StagePull] == 0 {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	h.t.Fatal("MU did not become idle")
}

func (h *harness) parked() []mu.Task {
	h.t.Helper()
	p, err := h.store.Parked(context.Background(), 1000)
	if err != nil {
		h.t.Fatal(err)
	}
	return p
}

// messages returns the log of pid minus the process's own slot.
func (h *harness) messages(pid string) []mutest.Entry {
	p := h.net.Process(pid)
	if p == nil {
		h.t.Fatalf("no process %s", pid)
	}
	return p.Log[1:]
}

func tagOf(it *dataitem.Item, name string) string { v, _ := it.Tag(name); return v }

func TestPingPong(t *testing.T) {
	h := newHarness(t, nil)
	const rounds = 5
	h.net.Module("pinger", func(p *mutest.Process, m mutest.Msg) vm.Result {
		switch m.Tag("Action") {
		case "Start":
			return vm.Result{Messages: []json.RawMessage{p.Send(m.Data, "1", "Action", "Ping")}}
		case "Pong":
			n := 0
			fmt.Sscan(m.Data, &n)
			if n < rounds {
				return vm.Result{Messages: []json.RawMessage{p.Send(m.From, fmt.Sprint(n+1), "Action", "Ping")}}
			}
		}
		return vm.Result{}
	})
	h.net.Module("ponger", func(p *mutest.Process, m mutest.Msg) vm.Result {
		if m.Tag("Action") == "Ping" {
			return vm.Result{Messages: []json.RawMessage{p.Send(m.From, m.Data, "Action", "Pong")}}
		}
		return vm.Result{}
	})
	a, b := h.spawn("pinger"), h.spawn("ponger")
	start := h.send(a, b, tag("Action", "Start"))
	h.waitIdle()

	pings, pongs := h.messages(b), h.messages(a)[1:] // a's first message is Start
	if len(pings) != rounds || len(pongs) != rounds {
		t.Fatalf("got %d pings and %d pongs, want %d each", len(pings), len(pongs), rounds)
	}
	for i, e := range pings {
		it := e.Item
		checks := map[string]string{
			"Action": "Ping", "From-Process": a, "From-Module": "pinger", "Pushed-For": start, "Type": "Message",
			"Data-Protocol": "ao", "Variant": "ao.TN.1",
		}
		for name, want := range checks {
			if got := tagOf(it, name); got != want {
				t.Errorf("ping %d: tag %s = %q, want %q", i, name, got, want)
			}
		}
		if it.OwnerAddress() != h.mu.Address() {
			t.Errorf("ping %d: signed by %s, want the MU %s", i, it.OwnerAddress(), h.mu.Address())
		}
		if string(it.Data) != fmt.Sprint(i+1) || len(it.Anchor) != 32 || it.TargetID() != b {
			t.Errorf("ping %d: data %q anchor %q target %s", i, it.Data, it.Anchor, it.TargetID())
		}
		if err := it.Verify(); err != nil {
			t.Errorf("ping %d: %v", i, err)
		}
	}
	if p := h.parked(); len(p) != 0 {
		t.Fatalf("parked: %+v", p)
	}
}

func TestPushedTagsExactlyAsReference(t *testing.T) {
	h := newHarness(t, nil)
	target := ""
	h.net.Module("sender", func(p *mutest.Process, m mutest.Msg) vm.Result {
		if m.Tag("Action") != "Go" {
			return vm.Result{}
		}
		// Tags the MU must drop (Data-Protocol, Type, From-Process, From-Module, Assignments) or keep (the rest).
		raw, _ := json.Marshal(map[string]any{"Target": target, "Data": "d", "Anchor": fmt.Sprintf("%032d", 7), "Tags": []map[string]string{
			{"name": "Data-Protocol", "value": "ao"}, {"name": "Type", "value": "Spoof"}, {"name": "From-Process", "value": "?hint=x"},
			{"name": "From-Module", "value": "spoof"}, {"name": "Variant", "value": "ao.TN.1"}, {"name": "X", "value": "1"},
		}})
		return vm.Result{Messages: []json.RawMessage{raw}}
	})
	h.net.Module("sink", func(p *mutest.Process, m mutest.Msg) vm.Result { return vm.Result{} })
	a := h.spawn("sender")
	target = h.spawn("sink")
	orig := h.send(a, "", tag("Action", "Go"))
	h.waitIdle()
	got := h.messages(target)
	if len(got) != 1 {
		t.Fatalf("target has %d messages, want 1", len(got))
	}
	want := []dataitem.Tag{tag("Variant", "ao.TN.1"), tag("X", "1"), tag("Data-Protocol", "ao"), tag("Type", "Message"),
		tag("From-Process", a), tag("From-Module", "sender"), tag("Pushed-For", orig)}
	if g, _ := json.Marshal(got[0].Item.Tags); string(g) != string(mustJSON(want)) {
		t.Fatalf("tags\n got %s\nwant %s", g, mustJSON(want))
	}
	if string(got[0].Item.Anchor) != fmt.Sprintf("%032d", 7) {
		t.Fatalf("anchor %q", got[0].Item.Anchor)
	}
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

func TestTokenTransferNotices(t *testing.T) {
	h := newHarness(t, nil)
	h.net.Module("token", func(p *mutest.Process, m mutest.Msg) vm.Result {
		bal, _ := p.State["bal"].(map[string]int)
		if bal == nil {
			bal = map[string]int{}
			p.State["bal"] = bal
		}
		switch m.Tag("Action") {
		case "Mint":
			bal[m.From] += 100
		case "Transfer":
			qty := 0
			fmt.Sscan(m.Tag("Quantity"), &qty)
			to := m.Tag("Recipient")
			if bal[m.From] < qty {
				return vm.Result{Messages: []json.RawMessage{p.Send(m.From, "", "Action", "Transfer-Error")}}
			}
			bal[m.From] -= qty
			bal[to] += qty
			if m.Tag("Cast") != "" {
				return vm.Result{}
			}
			return vm.Result{Messages: []json.RawMessage{
				p.Send(m.From, "", "Action", "Debit-Notice", "Recipient", to, "Quantity", m.Tag("Quantity")),
				p.Send(to, "", "Action", "Credit-Notice", "Sender", m.From, "Quantity", m.Tag("Quantity")),
			}}
		}
		return vm.Result{}
	})
	var credits sync.Map
	h.net.Module("wallet-proc", func(p *mutest.Process, m mutest.Msg) vm.Result {
		if m.Tag("Action") == "Credit-Notice" {
			credits.Store(p.ID, m.Tag("Quantity"))
		}
		return vm.Result{}
	})
	tok, alice := h.spawn("token"), h.spawn("wallet-proc")
	h.send(tok, "", tag("Action", "Mint"))
	h.send(tok, "", tag("Action", "Transfer"), tag("Recipient", alice), tag("Quantity", "40"))
	h.waitIdle()
	if v, _ := credits.Load(alice); v != "40" {
		t.Fatalf("alice credit = %v, want 40", v)
	}
	// The user (a wallet) gets its Debit-Notice through the gateway only.
	up := h.gateway.Uploads()
	if len(up) != 1 || tagOf(up[0], "Action") != "Debit-Notice" || up[0].TargetID() != h.user.Address() {
		t.Fatalf("uploads = %d, want the Debit-Notice to the user", len(up))
	}
}

func TestSpawnFromProcess(t *testing.T) {
	h := newHarness(t, nil)
	h.net.Module("parent", func(p *mutest.Process, m mutest.Msg) vm.Result {
		switch m.Tag("Action") {
		case "Spawn":
			return vm.Result{Spawns: []json.RawMessage{p.Spawn("child", "Name", "kid")}}
		case "Spawned":
			p.State["child"] = m.Tag("Process")
			p.State["from"] = m.From
		}
		return vm.Result{}
	})
	booted := make(chan string, 1)
	h.net.Module("child", func(p *mutest.Process, m mutest.Msg) vm.Result {
		if m.ID == p.ID {
			booted <- p.ID
			return vm.Result{Messages: []json.RawMessage{p.Send(p.Item.OwnerAddress(), "hello from boot")}}
		}
		return vm.Result{}
	})
	parent := h.spawn("parent")
	orig := h.send(parent, "", tag("Action", "Spawn"))
	h.waitIdle()
	pp := h.net.Process(parent)
	child, _ := pp.State["child"].(string)
	if child == "" {
		t.Fatal("parent got no Spawned notice")
	}
	if pp.State["from"] != parent {
		t.Errorf("Spawned notice From = %v, want the parent %s (aos matches From = ao.id)", pp.State["from"], parent)
	}
	cp := h.net.Process(child)
	if cp == nil {
		t.Fatal("child not on the SU")
	}
	for name, want := range map[string]string{"Type": "Process", "Module": "child", "From-Process": parent, "From-Module": "parent",
		"Pushed-For": orig, "Scheduler": h.net.SchedulerAddress, "Name": "kid", "Variant": "ao.TN.1"} {
		if got := tagOf(cp.Item, name); got != want {
			t.Errorf("child tag %s = %q, want %q", name, got, want)
		}
	}
	if n := strings.Count(string(mustJSON(cp.Item.Tags)), `"From-Process"`); n != 1 {
		t.Errorf("child has %d From-Process tags, want 1", n)
	}
	select {
	case <-booted:
	default:
		t.Error("the child's boot result was not pulled")
	}
	notice := h.messages(parent)[1].Item
	if tagOf(notice, "Action") != "Spawned" || tagOf(notice, "Process") != child || tagOf(notice, "Reference") == "" {
		t.Errorf("notice tags %v", notice.Tags)
	}
	// The boot outbox went to the MU wallet... which is the child's owner, a wallet: uploaded.
	if len(h.gateway.Uploads()) != 1 {
		t.Errorf("uploads = %d, want the boot message", len(h.gateway.Uploads()))
	}
}

func TestAssign(t *testing.T) {
	h := newHarness(t, nil)
	seen := make(chan string, 4)
	h.net.Module("recorder", func(p *mutest.Process, m mutest.Msg) vm.Result {
		if m.Nonce > 0 {
			seen <- p.ID + ":" + m.ID
		}
		return vm.Result{}
	})
	h.net.Module("assigner", func(p *mutest.Process, m mutest.Msg) vm.Result {
		if m.Tag("Action") == "Share" {
			a, _ := json.Marshal(map[string]any{"Processes": []string{m.Data}, "Message": m.ID})
			// and an outbox message with an Assignments tag
			msg := p.Send(m.Data, "x", "Assignments", m.Tag("Also"))
			return vm.Result{Assignments: []json.RawMessage{a}, Messages: []json.RawMessage{msg}}
		}
		return vm.Result{}
	})
	r1, r2, asg := h.spawn("recorder"), h.spawn("recorder"), h.spawn("assigner")

	// User assign through the MU.
	first := h.send(asg, "", tag("Action", "Nothing"))
	h.waitIdle()
	code, body := h.do(http.MethodPost, fmt.Sprintf("%s/?process-id=%s&assign=%s", h.srv.URL, r1, first), nil)
	if code != http.StatusAccepted || body["message"] != "Processing Assignment" || body["id"] == "" {
		t.Fatalf("assign: %d %v", code, body)
	}
	aid := body["id"]
	// Idempotent: the same assign again answers the same assignment.
	code, body = h.do(http.MethodPost, fmt.Sprintf("%s/?process-id=%s&assign=%s", h.srv.URL, r1, first), nil)
	if code != http.StatusAccepted || body["id"] != aid {
		t.Fatalf("assign again: %d %v, want id %v", code, body, aid)
	}
	if code, _ := h.do(http.MethodPost, h.srv.URL+"/?process-id="+r1, nil); code != http.StatusBadRequest {
		t.Fatalf("assign without assign=: %d, want 400", code)
	}
	// Outbox assignment + Assignments tag.
	share := h.send(asg, r1, tag("Action", "Share"), tag("Also", r2))
	h.waitIdle()
	r1log, r2log := h.messages(r1), h.messages(r2)
	// r1: the user's assign, then (in either order) the outbox assignment of share and the pushed message.
	if len(r1log) != 3 || r1log[0].MessageID != first || !r1log[0].Assigned {
		t.Fatalf("r1 log %+v", r1log)
	}
	var pushed *mutest.Entry
	for i := 1; i < 3; i++ {
		switch e := r1log[i]; {
		case e.Assigned && e.MessageID == share:
		case !e.Assigned && tagOf(e.Item, "From-Process") == asg:
			pushed = &r1log[i]
		default:
			t.Fatalf("r1 slot %d: %+v", i, e)
		}
	}
	if pushed == nil {
		t.Fatal("the outbox message did not reach r1")
	}
	if len(r2log) != 1 || r2log[0].MessageID != pushed.MessageID || !r2log[0].Assigned {
		t.Fatalf("r2 log %+v, want the pushed message %s assigned", r2log, pushed.MessageID)
	}
	if tagOf(pushed.Item, "Assignments") != "" {
		t.Error("the Assignments tag must not be forwarded")
	}
	if len(seen) != 4 {
		t.Fatalf("results cranked in recorders: %d, want 4", len(seen))
	}
}

func TestCastIsNotCranked(t *testing.T) {
	h := newHarness(t, nil)
	h.net.Module("echo", func(p *mutest.Process, m mutest.Msg) vm.Result {
		if m.Nonce == 0 {
			return vm.Result{}
		}
		return vm.Result{Messages: []json.RawMessage{p.Send(m.Tag("Reply-To"), "echo")}}
	})
	h.net.Module("sink", func(p *mutest.Process, m mutest.Msg) vm.Result { return vm.Result{} })
	echo, sink := h.spawn("echo"), h.spawn("sink")
	h.send(echo, "", tag("Cast", "true"), tag("Reply-To", sink))
	h.waitIdle()
	if n := len(h.messages(echo)); n != 1 {
		t.Fatalf("echo has %d messages, want the cast one", n)
	}
	if n := len(h.messages(sink)); n != 0 {
		t.Fatalf("sink got %d messages: a cast message's result was cranked", n)
	}
	h.send(echo, "", tag("Reply-To", sink))
	h.waitIdle()
	if n := len(h.messages(sink)); n != 1 {
		t.Fatalf("sink got %d messages, want 1 from the normal message", n)
	}
}

func TestInvalidOutboxIsParkedVisibly(t *testing.T) {
	h := newHarness(t, nil)
	sinkID := ""
	h.net.Module("bad", func(p *mutest.Process, m mutest.Msg) vm.Result {
		if m.Nonce == 0 {
			return vm.Result{}
		}
		numeric, _ := json.Marshal(map[string]any{"Target": sinkID, "Tags": []map[string]any{{"name": "Quantity", "value": 5}}})
		empty, _ := json.Marshal(map[string]any{"Target": sinkID, "Tags": []map[string]any{{"name": "", "value": "x"}}})
		var many []map[string]string
		for i := range 130 {
			many = append(many, map[string]string{"name": fmt.Sprint("T", i), "value": "v"})
		}
		tooMany, _ := json.Marshal(map[string]any{"Target": sinkID, "Tags": many})
		big, _ := json.Marshal(map[string]any{"Target": sinkID, "Data": strings.Repeat("x", 5000)})
		return vm.Result{Messages: []json.RawMessage{numeric, empty, tooMany, big, p.Send(sinkID, "fine")}}
	})
	h.net.Module("sink", func(p *mutest.Process, m mutest.Msg) vm.Result { return vm.Result{} })
	h.stop()
	h.cfg = func(c *mu.Config) { c.MaxItemSize = 4096 }
	h.start()
	bad := h.spawn("bad")
	sinkID = h.spawn("sink")
	h.send(bad, "")
	h.waitIdle()
	if n := len(h.messages(sinkID)); n != 1 {
		t.Fatalf("sink got %d messages, want only the valid one", n)
	}
	parked := h.parked()
	if len(parked) != 4 {
		t.Fatalf("parked %d tasks, want 4", len(parked))
	}
	reasons := ""
	for _, p := range parked {
		reasons += p.LastError + "\n"
	}
	for _, want := range []string{`"Quantity"): value is a number`, "empty name", "limit 128", "over the 4096-byte limit"} {
		if !strings.Contains(reasons, want) {
			t.Errorf("no parked reason mentions %q:\n%s", want, reasons)
		}
	}
	// Visible on GET / and /metrics.
	code, status := h.do(http.MethodGet, h.srv.URL+"/", nil)
	if code != 200 || len(status["parked"].([]any)) != 4 || status["failures"].(float64) != 0 {
		t.Fatalf("status %d %v", code, status)
	}
	req, _ := http.NewRequest(http.MethodGet, h.srv.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+testOperatorToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	mb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"aogo_mu_invalid_outbox_total 4", `aogo_mu_tasks{stage="parked"} 4`} {
		if !strings.Contains(string(mb), want) {
			t.Errorf("metrics lack %q:\n%s", want, mb)
		}
	}
}

func TestRetriesThenDelivers(t *testing.T) {
	h := newHarness(t, nil)
	h.net.Module("fan", func(p *mutest.Process, m mutest.Msg) vm.Result {
		if m.Nonce == 0 {
			return vm.Result{}
		}
		return vm.Result{Messages: []json.RawMessage{p.Send(m.Data, "a"), p.Send(m.Data, "b")}}
	})
	h.net.Module("sink", func(p *mutest.Process, m mutest.Msg) vm.Result { return vm.Result{} })
	fan, sink := h.spawn("fan"), h.spawn("sink")
	h.net.FailResults.Store(3)
	h.net.FailPosts.Store(2) // the user's post fails first: accepted anyway, retried from the queue
	h.net.RejectDuplicates.Store(true)
	h.send(fan, sink)
	h.waitIdle()
	if n := len(h.messages(sink)); n != 2 {
		t.Fatalf("sink got %d, want 2", n)
	}
	_, status := h.do(http.MethodGet, h.srv.URL+"/", nil)
	if status["retries"].(float64) < 4 {
		t.Fatalf("retries = %v, want at least 4", status["retries"])
	}
}

func TestFailingTaskIsParkedAndCanBeRetried(t *testing.T) {
	h := newHarness(t, nil)
	h.net.Module("sink", func(p *mutest.Process, m mutest.Msg) vm.Result { return vm.Result{} })
	sink := h.spawn("sink")
	h.waitIdle()
	h.net.FailResults.Store(100)
	h.send(sink, "x")
	h.waitIdle()
	parked := h.parked()
	if len(parked) != 1 || !strings.HasPrefix(parked[0].LastError, "pull:") {
		t.Fatalf("parked %+v", parked)
	}
	h.net.FailResults.Store(0)
	code, body := h.do(http.MethodPost, fmt.Sprintf("%s/parked/%d/retry", h.srv.URL, parked[0].ID), nil)
	if code != http.StatusAccepted {
		t.Fatalf("unpark: %d %v", code, body)
	}
	h.waitIdle()
	if p := h.parked(); len(p) != 0 {
		t.Fatalf("still parked: %+v", p)
	}
	if n := len(h.messages(sink)); n != 1 {
		t.Fatalf("sink has %d messages, want 1 (no second write)", n)
	}
}

func TestRequestErrors(t *testing.T) {
	h := newHarness(t, nil)
	if code, _ := h.post([]byte("garbage")); code != http.StatusBadRequest {
		t.Errorf("garbage: %d", code)
	}
	_, raw := h.signed(mutest.RandomID(), "x", aoTags("Message")...)
	raw[len(raw)-1] ^= 1 // break the signature
	if code, body := h.post(raw); code != http.StatusBadRequest || !strings.Contains(fmt.Sprint(body["error"]), "verify") {
		t.Errorf("bad signature: %d %v", code, body)
	}
	_, raw = h.signed("", "x", tag("Data-Protocol", "ao"), tag("Type", "Checkpoint"))
	if code, _ := h.post(raw); code != http.StatusBadRequest {
		t.Errorf("wrong type: %d", code)
	}
	_, raw = h.signed(mutest.RandomID(), "x", aoTags("Message")...)
	if code, body := h.post(raw); code != http.StatusBadRequest || !strings.Contains(fmt.Sprint(body["error"]), "not a process") {
		t.Errorf("unknown target: %d %v", code, body)
	}
	if code, _ := h.do(http.MethodPost, h.srv.URL+"/monitor/nope", nil); code != http.StatusBadRequest {
		t.Errorf("monitor bad id: %d", code)
	}
	counts, _ := h.store.Counts(context.Background())
	if len(counts) != 0 {
		t.Errorf("refused requests left tasks: %v", counts)
	}
}

func TestSamePostTwiceIsOneMessage(t *testing.T) {
	h := newHarness(t, nil)
	h.net.Module("sink", func(p *mutest.Process, m mutest.Msg) vm.Result { return vm.Result{} })
	sink := h.spawn("sink")
	_, raw := h.signed(sink, "x", aoTags("Message")...)
	for range 3 {
		if code, body := h.post(raw); code != http.StatusAccepted {
			t.Fatalf("post: %d %v", code, body)
		}
	}
	h.waitIdle()
	if n := len(h.messages(sink)); n != 1 {
		t.Fatalf("sink has %d messages, want 1", n)
	}
}

func TestCronMonitor(t *testing.T) {
	h := newHarness(t, nil)
	h.net.Module("ticker", func(p *mutest.Process, m mutest.Msg) vm.Result { return vm.Result{} })
	h.net.Module("sink", func(p *mutest.Process, m mutest.Msg) vm.Result { return vm.Result{} })
	tk, sink := h.spawn("ticker"), h.spawn("sink")
	h.waitIdle()
	tick := func(i int) {
		h.net.AddCron(tk, func(p *mutest.Process) vm.Result {
			return vm.Result{Messages: []json.RawMessage{p.Send(sink, fmt.Sprint("tick", i))}}
		})
	}
	tick(0) // before the monitor: not pushed
	_, sub := h.signed(tk, "", aoTags("Message")...)
	if code, body := h.do(http.MethodPost, h.srv.URL+"/monitor/"+tk, sub); code != 200 || body["text"] != "Monitoring process" {
		t.Fatalf("monitor: %d %v", code, body)
	}
	for i := 1; i <= 3; i++ {
		tick(i)
	}
	waitFor(t, func() bool { return len(h.net.Process(sink).Log) == 4 })
	// Restart: the cursor is durable, nothing is pushed twice, later ticks are.
	h.stop()
	tick(4)
	h.start()
	waitFor(t, func() bool { return len(h.net.Process(sink).Log) == 5 })
	time.Sleep(50 * time.Millisecond)
	var got []string
	for _, e := range h.messages(sink) {
		got = append(got, string(e.Item.Data))
	}
	if strings.Join(got, ",") != "tick1,tick2,tick3,tick4" {
		t.Fatalf("sink got %v", got)
	}
	if code, body := h.do(http.MethodDelete, h.srv.URL+"/monitor/"+tk, sub); code != 200 || body["text"] != "Process deleted" {
		t.Fatalf("unmonitor: %d %v", code, body)
	}
	tick(5)
	time.Sleep(50 * time.Millisecond)
	if n := len(h.messages(sink)); n != 4 {
		t.Fatalf("sink got %d after unmonitor, want 4", n)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestResumeAfterRestart: a CU that is down while the MU stops leaves tasks in the store; a new MU on the same
// store finishes them, once.
func TestResumeAfterRestart(t *testing.T) {
	h := newHarness(t, func(c *mu.Config) { c.RetryBase = 50 * time.Millisecond; c.MaxAttempts = 100 })
	h.net.Module("fan", func(p *mutest.Process, m mutest.Msg) vm.Result {
		if m.Nonce == 0 {
			return vm.Result{}
		}
		return vm.Result{Messages: []json.RawMessage{p.Send(m.Data, "a"), p.Send(m.Data, "b"), p.Send(m.Data, "c")}}
	})
	h.net.Module("sink", func(p *mutest.Process, m mutest.Msg) vm.Result { return vm.Result{} })
	fan, sink := h.spawn("fan"), h.spawn("sink")
	h.waitIdle()
	h.net.FailResults.Store(1 << 20)
	for i := range 5 {
		h.send(fan, sink, tag("N", fmt.Sprint(i)))
	}
	time.Sleep(20 * time.Millisecond)
	h.stop()
	h.net.FailResults.Store(0)
	h.start()
	h.waitIdle()
	if n := len(h.messages(sink)); n != 15 {
		t.Fatalf("sink got %d, want 15", n)
	}
	_ = ao.TypeMessage
}
