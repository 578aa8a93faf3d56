package devnet_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/devnet"
	"github.com/aogo/aogo/gateway"
	"github.com/aogo/aogo/internal/testenv"
	"github.com/aogo/aogo/wallet"
)

// startNet runs a dev network on a free port in dir and waits until it is ready. It stops with the test.
func startNet(t testing.TB, dir string, mod ...devnet.Module) *devnet.Network {
	t.Helper()
	cfg := devnet.Config{Dir: dir}
	if len(mod) > 0 {
		cfg.Module = mod[0]
	}
	return startNetConfig(t, cfg)
}

// startNetConfig starts a network with cfg (listening on a free loopback port, logging to the test) and
// stops it when the test ends.
func startNetConfig(t testing.TB, cfg devnet.Config) *devnet.Network {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cfg.Listen, cfg.Logger = "127.0.0.1:0", testLogger(t)
	n, err := devnet.New(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
		if err := n.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	select {
	case <-n.Ready():
	case err := <-done:
		done <- err
		t.Fatalf("network stopped before ready: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("network not ready in two minutes")
	}
	return n
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("AOGO_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func userClient(t testing.TB, n *devnet.Network) *devnet.Client {
	t.Helper()
	w, err := wallet.Generate(wallet.ED25519)
	if err != nil {
		t.Fatal(err)
	}
	c, err := devnet.Dial(context.Background(), n.URL(), w, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestInfo(t *testing.T) {
	dir := t.TempDir()
	n := startNet(t, dir)
	resp, err := http.Get(n.URL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	base := n.URL()
	for k, want := range map[string]string{"mu": base + "/mu", "cu": base + "/cu", "su": base + "/su", "gateway": base + "/gateway"} {
		if got[k] != want {
			t.Errorf("%s = %q, want %q", k, got[k], want)
		}
	}
	if len(got["scheduler"]) != 43 || len(got["module"]) != 43 {
		t.Errorf("scheduler %q, module %q: want 43-character ids", got["scheduler"], got["module"])
	}
	// Each unit answers under its prefix.
	for _, p := range []string{"/mu", "/cu", "/su", "/gateway/info"} {
		r, err := http.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", p, r.StatusCode)
		}
	}
	// Operator routes need the network's token (DIR/operator-token); a rebinding Host is refused.
	for _, c := range []struct {
		token, host string
		want        int
	}{{"", "", 401}, {n.OperatorToken(), "", 200}, {n.OperatorToken(), "evil.example", 403}} {
		req, _ := http.NewRequest(http.MethodGet, base+"/mu/metrics", nil)
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		if c.host != "" {
			req.Host = c.host
		}
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != c.want || r.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("GET /mu/metrics token %v host %q: %d CORS %q, want %d without CORS", c.token != "", c.host, r.StatusCode, r.Header.Get("Access-Control-Allow-Origin"), c.want)
		}
	}
	// The module is on the gateway with the reference tags.
	c := userClient(t, n)
	tags, owner, err := c.Gateway.Tags(context.Background(), got["module"])
	if err != nil {
		t.Fatal(err)
	}
	if owner == "" {
		t.Error("module has no owner")
	}
	for _, want := range []dataitem.Tag{{Name: "Data-Protocol", Value: "ao"}, {Name: "Type", Value: "Module"}, {Name: "Module-Format", Value: "wasm32-unknown-emscripten2"},
		{Name: "Input-Encoding", Value: "JSON-1"}, {Name: "Output-Encoding", Value: "JSON-1"}, {Name: "Variant", Value: "ao.TN.1"}, {Name: "Content-Type", Value: "application/wasm"}} {
		if v, _ := dataitem.Get(tags, want.Name); v != want.Value {
			t.Errorf("module tag %s = %q, want %q", want.Name, v, want.Value)
		}
	}
	for _, name := range []string{"Memory-Limit", "Compute-Limit"} {
		if v, _ := dataitem.Get(tags, name); v == "" {
			t.Errorf("module has no %s", name)
		}
	}
	// The module item is deterministic (ed25519 dev wallet kept in the data dir): signing it again gives the
	// same id, and publishing it again is skipped.
	mw, err := wallet.Load(filepath.Join(dir, devnet.WalletsDir, "module.json"))
	if err != nil {
		t.Fatal(err)
	}
	it, err := devnet.AosModule().Item(mw)
	if err != nil {
		t.Fatal(err)
	}
	if it.ID() != got["module"] {
		t.Fatalf("re-signed module id %s, network says %s", it.ID(), got["module"])
	}
	if uploaded, err := devnet.Publish(context.Background(), c.Gateway, it); err != nil || uploaded {
		t.Fatalf("Publish of a module the gateway has: uploaded %v, %v", uploaded, err)
	}
}

func TestSpawnEvalResult(t *testing.T) {
	n := startNet(t, t.TempDir())
	c := userClient(t, n)
	ctx := context.Background()
	pid, err := c.Spawn(ctx, devnet.Spawn{Tags: []dataitem.Tag{{Name: "Name", Value: "first"}}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Eval(ctx, pid, "x = 40 + 2; return x")
	if err != nil {
		t.Fatal(err)
	}
	if r.Error != "" {
		t.Fatalf("eval error: %s", r.Error)
	}
	if got := devnet.OutputText(r.Result); got != "42" {
		t.Fatalf("eval output %q (raw %s), want 42", got, r.Output)
	}
	// The state persists across messages, and a dry-run reads it without changing it.
	for i := 0; i < 2; i++ {
		d, err := c.DryRun(ctx, pid, []dataitem.Tag{{Name: "Action", Value: "Eval"}}, "x = x + 1; return x")
		if err != nil {
			t.Fatal(err)
		}
		if got := devnet.OutputText(d); got != "43" {
			t.Fatalf("dry-run %d output %q (raw %s), want 43", i, got, d.Output)
		}
	}
	r, err = c.Eval(ctx, pid, "return Name")
	if err != nil {
		t.Fatal(err)
	}
	if got := devnet.OutputText(r.Result); got != "first" {
		t.Fatalf("Name = %q, want first", got)
	}
	if !strings.Contains(string(r.Body), `"Output"`) {
		t.Errorf("result body %s", r.Body)
	}
}

// TestExternalGateway runs the units against a gateway served elsewhere (an `aogo gateway`), not the embedded
// one: the module, the Scheduler-Location and the uploads go there over HTTP.
func TestExternalGateway(t *testing.T) {
	gw, err := gateway.Open(context.Background(), gateway.Config{Dir: t.TempDir(), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gw.Close() })
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)

	ctx := context.Background()
	n := startNetConfig(t, devnet.Config{Dir: t.TempDir(), GatewayURL: srv.URL})
	if n.Info().Gateway != srv.URL {
		t.Fatalf("gateway %q, want %q", n.Info().Gateway, srv.URL)
	}
	if r, err := http.Get(n.URL() + "/gateway/info"); err == nil {
		r.Body.Close()
		if r.StatusCode != http.StatusNotFound {
			t.Errorf("/gateway is served although the gateway is external: %d", r.StatusCode)
		}
	}
	gc := gateway.NewClient(srv.URL, nil)
	if _, _, err := gc.Tags(ctx, n.Info().Module); err != nil {
		t.Fatalf("module not on the external gateway: %v", err)
	}
	c := userClient(t, n)
	pid, err := c.Spawn(ctx, devnet.Spawn{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Eval(ctx, pid, "return 'external'")
	if err != nil || devnet.OutputText(r.Result) != "external" {
		t.Fatalf("eval: %v %+v", err, r)
	}
}

// TestArlocalGateway: `aogo dev --gateway <arlocal>`: the network makes RSA keys for its SU and MU (arlocal takes
// only base-layer transactions), funds them there, publishes its module and Scheduler-Location to arlocal, and
// a spawn and an Eval work end to end, the uploads landing on arlocal.
func TestArlocalGateway(t *testing.T) {
	arlocal := testenv.Arlocal(t)
	ctx := context.Background()
	dir := t.TempDir()
	n := startNetConfig(t, devnet.Config{Dir: dir, GatewayURL: arlocal})
	for _, name := range []string{"su", "mu"} {
		w, err := wallet.Load(filepath.Join(dir, devnet.WalletsDir, name+".json"))
		if err != nil || w.Kind() != wallet.RSA {
			t.Fatalf("%s wallet: %v", name, err)
		}
	}
	gc := gateway.NewClient(arlocal, nil)
	if _, _, err := gc.Tags(ctx, n.Info().Module); err != nil {
		t.Fatalf("module not on arlocal: %v", err)
	}
	c := userClient(t, n)
	pid, err := c.Spawn(ctx, devnet.Spawn{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Eval(ctx, pid, "return 6 * 7")
	if err != nil || devnet.OutputText(r.Result) != "42" {
		t.Fatalf("eval: %v %+v", err, r)
	}
	// The process reaches arlocal through the SU's upload queue.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, _, err := gc.Tags(ctx, pid); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %s never reached arlocal", pid)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestShutdownDuringLoop: cancelling Run while the CU evaluates an endless loop (under a limit of minutes)
// returns within 2 s; the message is not lost: after a restart it evaluates to its Compute-Limit Error and
// the process state is intact.
func TestShutdownDuringLoop(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n, err := devnet.New(ctx, devnet.Config{Dir: dir, Listen: "127.0.0.1:0", Logger: testLogger(t), MaxCompute: 1e12})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	select {
	case <-n.Ready():
	case err := <-done:
		t.Fatalf("network stopped before ready: %v", err)
	}
	w, err := wallet.Generate(wallet.ED25519)
	if err != nil {
		t.Fatal(err)
	}
	c, err := devnet.Dial(ctx, n.URL(), w, nil)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := c.Spawn(ctx, devnet.Spawn{Tags: []dataitem.Tag{{Name: "Name", Value: "loop"}}})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := c.Eval(ctx, pid, "Counter = 1; return Counter"); err != nil || r.Error != "" {
		t.Fatalf("eval: %v %+v", err, r)
	}
	// A client that asks for the process's state and does not read it: it must hold neither the process nor
	// the shutdown.
	conn, err := net.Dial("tcp", n.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.(*net.TCPConn).SetReadBuffer(4096)
	fmt.Fprintf(conn, "GET /cu/state/%s HTTP/1.1\r\nHost: dev\r\n\r\n", pid)
	time.Sleep(300 * time.Millisecond)
	loop, err := c.Send(ctx, pid, []dataitem.Tag{{Name: "Action", Value: "Eval"}}, []byte("Counter = 99; while true do end"))
	if err != nil {
		t.Fatal(err)
	}
	// Ask for its result (as `aogo eval` does) and stop the network while the loop runs.
	go c.Result(ctx, pid, loop)
	time.Sleep(time.Second)
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Run did not return a minute after its context ended, with a loop running")
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("Run and Close returned %v after cancel, during a loop", took)
	if took > 2*time.Second {
		t.Fatalf("shutdown took %v during a loop; want under 2 s", took)
	}

	n2 := startNetConfig(t, devnet.Config{Dir: dir, MaxCompute: 2e8})
	c2, err := devnet.Dial(context.Background(), n2.URL(), w, nil) // the process's owner: its Eval runs
	if err != nil {
		t.Fatal(err)
	}
	r, err := c2.Result(context.Background(), pid, loop)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r.Error, "compute limit reached: 200000000 units") {
		t.Fatalf("after restart the loop's Error is %q", r.Error)
	}
	r, err = c2.Eval(context.Background(), pid, "return Counter")
	if err != nil {
		t.Fatal(err)
	}
	if got := devnet.OutputText(r.Result); !strings.HasSuffix(got, "1") {
		t.Fatalf("Counter after restart: %q", got)
	}
}
