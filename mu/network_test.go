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
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/aos"
	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/cu"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/gateway"
	"github.com/aogo/aogo/internal/testenv"
	"github.com/aogo/aogo/mu"
	"github.com/aogo/aogo/store/sqlite"
	"github.com/aogo/aogo/su"
	"github.com/aogo/aogo/wallet"

	_ "github.com/aogo/aogo/vm/emscripten"
)

// realNet is a whole ao network in process on 127.0.0.1: the embedded gateway, an SU, a CU running real aos,
// and the MU under test.
type realNet struct {
	t      *testing.T
	gw     *gateway.Client
	suAddr string
	suURL  string
	gwURL  string
	cu     *client.CU // the first CU
	cuURLs []string
	muURL  string
	mu     *mu.MU
	store  *sqlite.MUStore
	suDB   *sqlite.SUStore // its upload queue: idle also waits for the SU's uploads to the gateway
	user   *wallet.Wallet
	module string
	seq    atomic.Int64
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func newRealNet(t *testing.T) *realNet {
	t.Helper()
	wasm, err := os.ReadFile(testenv.WaoModule(t, "aos2_0_4_32"))
	if err != nil {
		t.Fatal(err)
	}
	return newRealNetModule(t, wasm, []dataitem.Tag{
		{Name: "Data-Protocol", Value: "ao"}, {Name: "Variant", Value: "ao.TN.1"}, {Name: "Type", Value: "Module"},
		{Name: "Module-Format", Value: "wasm32-unknown-emscripten4"}, {Name: "Input-Encoding", Value: "JSON-1"},
		{Name: "Output-Encoding", Value: "JSON-1"}, {Name: "Memory-Limit", Value: "1-gb"}, {Name: "Compute-Limit", Value: "9000000000000"},
	})
}

// newAOSNet is a realNet whose processes run our own aos module (package aos): no npm package needed.
func newAOSNet(t *testing.T) *realNet {
	t.Helper()
	return newAOSNetWith(t, netOptions{})
}

// newAOSNetWith is newAOSNet with options.
func newAOSNetWith(t *testing.T, o netOptions) *realNet {
	t.Helper()
	tags := make([]dataitem.Tag, len(aos.ModuleTags))
	for i, tg := range aos.ModuleTags {
		tags[i] = dataitem.Tag{Name: tg.Name, Value: tg.Value}
	}
	return newRealNetModule(t, aos.Module, tags, o)
}

// netOptions change a realNet: more CUs, some behind a test double, and the MU's configuration.
type netOptions struct {
	cus  int                                      // CUs to start; default 1
	wrap func(i int, h http.Handler) http.Handler // puts something in front of the i-th CU (nil: nothing)
	mu   func(*mu.Config)                         // edits the MU's configuration
}

// newRealNetModule starts a realNet and publishes wasm with moduleTags as its processes' module.
func newRealNetModule(t *testing.T, wasm []byte, moduleTags []dataitem.Tag, opts ...netOptions) *realNet {
	t.Helper()
	var o netOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	o.cus = max(o.cus, 1)
	ctx, cancel := context.WithCancel(context.Background())
	var running []chan struct{}
	t.Cleanup(func() {
		cancel()
		for _, c := range running {
			<-c
		}
	})
	goRun := func(run func(context.Context) error) {
		done := make(chan struct{})
		running = append(running, done)
		go func() { defer close(done); run(ctx) }()
	}
	n := &realNet{t: t}

	gws, err := gateway.Open(ctx, gateway.Config{Dir: t.TempDir(), BlockTime: time.Second, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gws.Close() })
	gwHTTP := httptest.NewServer(gws)
	t.Cleanup(gwHTTP.Close)
	n.gw, n.gwURL = gateway.NewClient(gwHTTP.URL, nil), gwHTTP.URL

	suW, _ := wallet.Generate(wallet.ED25519)
	suStore, err := sqlite.OpenSU(filepath.Join(t.TempDir(), "su.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { suStore.Close() })
	sug := gateway.NewClient(gwHTTP.URL, nil)
	sunit, err := su.New(su.Config{Wallet: suW, Store: suStore, Uploader: sug, Heights: sug, Messages: sug, Logger: quiet(), UploadBackoffMin: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	goRun(sunit.Run)
	suHTTP := httptest.NewServer(sunit.Handler())
	t.Cleanup(suHTTP.Close)
	n.suAddr, n.suURL = sunit.Address(), suHTTP.URL
	n.suDB = suStore

	for i := range o.cus {
		cuW, _ := wallet.Generate(wallet.ED25519)
		cuDir := t.TempDir()
		cuStore, err := sqlite.OpenCU(filepath.Join(cuDir, "cu.db"))
		if err != nil {
			t.Fatal(err)
		}
		cunit, err := cu.New(cu.Config{Wallet: cuW, Scheduler: cu.FixedScheduler(client.NewSU(suHTTP.URL, nil)), Modules: n.gw,
			Store: cuStore, DataDir: cuDir, Logger: quiet()})
		if err != nil {
			t.Fatal(err)
		}
		goRun(cunit.Run)
		h := cunit.Handler()
		if o.wrap != nil {
			h = o.wrap(i, h)
		}
		cuHTTP := httptest.NewServer(h)
		t.Cleanup(func() { cuHTTP.Close(); cunit.Close(); cuStore.Close() })
		n.cuURLs = append(n.cuURLs, cuHTTP.URL)
	}
	n.cu = client.NewCU(n.cuURLs[0], nil)

	muW, _ := wallet.Generate(wallet.ED25519)
	if n.store, err = sqlite.OpenMU(filepath.Join(t.TempDir(), "mu.db")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.store.Close() })
	muCfg := mu.Config{Wallet: muW, Store: n.store, CUs: n.cuURLs, Gateway: n.gw,
		SchedulerHints: map[string]string{n.suAddr: suHTTP.URL}, RetryBase: 20 * time.Millisecond, RetryMax: 500 * time.Millisecond,
		MaxAttempts: 12, CronInterval: 50 * time.Millisecond, Logger: quiet()}
	if o.mu != nil {
		o.mu(&muCfg)
	}
	n.mu, err = mu.New(muCfg)
	if err != nil {
		t.Fatal(err)
	}
	goRun(n.mu.Run)
	muHTTP := httptest.NewServer(n.mu.Handler())
	t.Cleanup(muHTTP.Close)
	n.muURL = muHTTP.URL

	n.user, _ = wallet.Generate(wallet.ED25519)
	mod := &dataitem.Item{Data: wasm, Tags: moduleTags}
	if err := n.gw.Upload(ctx, n.sign(mod)); err != nil {
		t.Fatal(err)
	}
	n.module = mod.ID()
	return n
}

func (n *realNet) sign(it *dataitem.Item) []byte {
	n.t.Helper()
	if err := it.Sign(n.user); err != nil {
		n.t.Fatal(err)
	}
	raw, err := it.Bytes()
	if err != nil {
		n.t.Fatal(err)
	}
	return raw
}

func (n *realNet) postMU(raw []byte) {
	n.t.Helper()
	resp, err := httpPost(n.muURL+"/", raw)
	if err != nil {
		n.t.Fatal(err)
	}
	if resp.code != 202 {
		n.t.Fatalf("POST / to the MU: %d %s", resp.code, resp.body)
	}
}

// spawn creates an aos process through the MU. The MU's address is an Authority, so aos trusts what it pushes.
func (n *realNet) spawn(extra ...dataitem.Tag) string {
	n.t.Helper()
	tags := append([]dataitem.Tag{
		{Name: "Data-Protocol", Value: "ao"}, {Name: "Variant", Value: "ao.TN.1"}, {Name: "Type", Value: "Process"},
		{Name: "Module", Value: n.module}, {Name: "Scheduler", Value: n.suAddr}, {Name: "Authority", Value: n.mu.Address()},
		{Name: "Timestamp", Value: fmt.Sprint(time.Now().UnixNano())},
	}, extra...)
	it := &dataitem.Item{Tags: tags, Data: []byte("1984")}
	n.postMU(n.sign(it))
	return it.ID()
}

// send posts a user message through the MU; every item gets a distinct anchor.
func (n *realNet) send(pid, data string, tags ...dataitem.Tag) string {
	n.t.Helper()
	target, _ := dataitem.DecodeB64(pid)
	it := &dataitem.Item{Target: target, Anchor: []byte(fmt.Sprintf("%032d", n.seq.Add(1))), Data: []byte(data), Tags: append([]dataitem.Tag{
		{Name: "Data-Protocol", Value: "ao"}, {Name: "Variant", Value: "ao.TN.1"}, {Name: "Type", Value: "Message"},
	}, tags...)}
	n.postMU(n.sign(it))
	return it.ID()
}

func (n *realNet) eval(pid, code string) string {
	return n.send(pid, code, dataitem.Tag{Name: "Action", Value: "Eval"})
}

// idle waits until the MU has nothing left to do.
func (n *realNet) idle() {
	n.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		c, err := n.store.Counts(context.Background())
		if err != nil {
			n.t.Fatal(err)
		}
		if c[mu.StageWrite]+c[mu.StagePull] == 0 {
			ups, err := n.suDB.PendingUploads(context.Background(), 1)
			if err != nil {
				n.t.Fatal(err)
			}
			if len(ups) == 0 {
				return
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	n.t.Fatal("MU not idle after 3 minutes")
}

// value evaluates expr in pid (through the MU) and returns the printed result.
func (n *realNet) value(pid, expr string) string {
	n.t.Helper()
	id := n.eval(pid, "return "+expr)
	n.idle()
	r, err := n.cu.Result(context.Background(), pid, id)
	if err != nil {
		n.t.Fatal(err)
	}
	if r.Error != "" {
		n.t.Fatalf("eval %q: %s", expr, r.Error)
	}
	var o struct {
		Data json.RawMessage `json:"data"`
	}
	json.Unmarshal(r.Output, &o)
	var s string
	if json.Unmarshal(o.Data, &s) != nil {
		s = string(o.Data)
	}
	// aos may print warnings before the value: keep the last line.
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func (n *realNet) parked() []mu.Task {
	p, err := n.store.Parked(context.Background(), 100)
	if err != nil {
		n.t.Fatal(err)
	}
	return p
}

// TestNetworkAOS drives real aos 2.0.4 processes through SU, CU and MU in process: ping-pong, a token
// transfer with Debit/Credit notices, a cast transfer, spawn with the Spawned notice, assign, and a cron
// monitor.
func TestNetworkAOS(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real aos processes")
	}
	n := newRealNet(t)
	a, b := n.spawn(dataitem.Tag{Name: "Name", Value: "a"}), n.spawn(dataitem.Tag{Name: "Name", Value: "b"})
	n.idle()

	t.Run("ping-pong", func(t *testing.T) {
		n.eval(b, `Handlers.add("ping", "Ping", function(msg) ao.send({Target = msg.From, Action = "Pong", Data = msg.Data}) end)`)
		n.eval(a, `Pongs = 0; Handlers.add("pong", "Pong", function(msg) Pongs = Pongs + 1; if Pongs < 3 then ao.send({Target = msg.From, Action = "Ping"}) end end)`)
		n.eval(a, fmt.Sprintf(`ao.send({Target = %q, Action = "Ping"})`, b))
		n.idle()
		if got := n.value(a, "Pongs"); got != "3" {
			t.Fatalf("Pongs = %s, want 3", got)
		}
	})

	t.Run("token", func(t *testing.T) {
		n.eval(a, `Balances = Balances or { [ao.env.Process.Owner] = 100 }
Handlers.add("transfer", "Transfer", function(msg)
  local qty = tonumber(msg.Quantity)
  Balances[msg.From] = (Balances[msg.From] or 0) - qty
  Balances[msg.Recipient] = (Balances[msg.Recipient] or 0) + qty
  if not msg.Cast then
    ao.send({Target = msg.From, Action = "Debit-Notice", Recipient = msg.Recipient, Quantity = msg.Quantity})
    ao.send({Target = msg.Recipient, Action = "Credit-Notice", Sender = msg.From, Quantity = msg.Quantity})
  end
end)`)
		n.eval(b, `Credits = 0; Handlers.add("credit", "Credit-Notice", function(msg) Credits = Credits + tonumber(msg.Quantity) end)`)
		transfer := n.send(a, "", dataitem.Tag{Name: "Action", Value: "Transfer"}, dataitem.Tag{Name: "Recipient", Value: b}, dataitem.Tag{Name: "Quantity", Value: "40"})
		n.send(a, "", dataitem.Tag{Name: "Action", Value: "Transfer"}, dataitem.Tag{Name: "Recipient", Value: b}, dataitem.Tag{Name: "Quantity", Value: "2"},
			dataitem.Tag{Name: "Cast", Value: "true"})
		n.idle()
		if got := n.value(b, "Credits"); got != "40" {
			t.Fatalf("Credits = %s, want 40 (the cast transfer sends no notice)", got)
		}
		if got := n.value(a, "Balances['"+b+"']"); got != "42" {
			t.Fatalf("balance of b = %s, want 42", got)
		}
		// The Debit-Notice goes to the user's wallet: it is on the gateway, not on any SU.
		page, err := n.gw.Transactions(context.Background(), gateway.TxQuery{Tags: []gateway.TagFilter{{Name: "Pushed-For", Values: []string{transfer}}, {Name: "Action", Values: []string{"Debit-Notice"}}}, First: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Edges) != 1 {
			t.Fatalf("Debit-Notice on the gateway: %d, want 1", len(page.Edges))
		}
	})

	t.Run("spawn", func(t *testing.T) {
		n.eval(a, `Handlers.add("spawned", "Spawned", function(msg) Kid = msg.Process end)`)
		n.eval(a, fmt.Sprintf(`Spawn(ao._module, {Name = "kid", Authority = %q})`, n.mu.Address()))
		n.idle()
		kid := n.value(a, "Kid")
		if len(kid) != 43 {
			t.Fatalf("Kid = %q, want a process id", kid)
		}
		tags, _, err := n.gw.Tags(context.Background(), kid)
		if err != nil {
			t.Fatalf("the child is not on the gateway: %v", err)
		}
		if v, _ := dataitem.Get(tags, ao.TagFromProcess); v != a {
			t.Fatalf("child From-Process = %q, want %s", v, a)
		}
		if v, _ := dataitem.Get(tags, "Name"); v != "kid" {
			t.Fatalf("child Name tag = %q", v)
		}
	})

	t.Run("assign", func(t *testing.T) {
		n.eval(b, `Seen = 0; ao.addAssignable("notes", {Action = "Note"}); Handlers.add("note", "Note", function(msg) Seen = Seen + 1 end)`)
		note := n.send(a, "", dataitem.Tag{Name: "Action", Value: "Note"})
		n.idle()
		resp, err := httpPost(fmt.Sprintf("%s/?process-id=%s&assign=%s", n.muURL, b, note), nil)
		if err != nil || resp.code != 202 || !strings.Contains(resp.body, "Processing Assignment") {
			t.Fatalf("assign: %v %+v", err, resp)
		}
		n.idle()
		if got := n.value(b, "Seen"); got != "1" {
			t.Fatalf("Seen = %s, want 1", got)
		}
	})

	t.Run("cron", func(t *testing.T) {
		c := n.spawn(dataitem.Tag{Name: "Cron-Interval", Value: "1-second"}, dataitem.Tag{Name: "Cron-Tag-Action", Value: "Tick"})
		n.idle()
		n.eval(c, fmt.Sprintf(`Handlers.add("tick", "Tick", function(msg) ao.send({Target = %q, Action = "Ticked"}) end)`, b))
		n.eval(b, `Ticks = 0; Handlers.add("ticked", "Ticked", function(msg) Ticks = Ticks + 1 end)`)
		n.idle()
		sub := &dataitem.Item{Tags: []dataitem.Tag{{Name: "Data-Protocol", Value: "ao"}, {Name: "Type", Value: "Message"}}}
		resp, err := httpPost(n.muURL+"/monitor/"+c, n.sign(sub))
		if err != nil || resp.code != 200 {
			t.Fatalf("monitor: %v %+v", err, resp)
		}
		deadline := time.Now().Add(90 * time.Second)
		for {
			if got, _ := strconv.Atoi(n.value(b, "Ticks")); got >= 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("no cron ticks reached b")
			}
			time.Sleep(500 * time.Millisecond)
		}
	})

	if p := n.parked(); len(p) != 0 {
		for _, x := range p {
			t.Errorf("parked task %d (%s %s): %s", x.ID, x.Kind, x.Process, x.LastError)
		}
	}
}

type httpResp struct {
	code int
	body string
}

func httpPost(url string, body []byte) (httpResp, error) {
	resp, err := http.Post(url, "application/octet-stream", bytes.NewReader(body))
	if err != nil {
		return httpResp{}, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return httpResp{code: resp.StatusCode, body: string(b)}, nil
}
