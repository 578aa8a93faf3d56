package verify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/cu"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/devnet"
	"github.com/aogo/aogo/gateway"
	"github.com/aogo/aogo/internal/testenv"
	"github.com/aogo/aogo/store/sqlite"
	"github.com/aogo/aogo/verify"
	"github.com/aogo/aogo/wallet"
)

func testLogger() *slog.Logger {
	if os.Getenv("AOGO_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// startGateway serves an embedded gateway of its own (so it outlives the network that uploads to it).
func startGateway(t testing.TB) string {
	t.Helper()
	gw, err := gateway.Open(context.Background(), gateway.Config{Dir: t.TempDir(), Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(func() { srv.Close(); gw.Close() })
	return srv.URL
}

// network is a dev network the test can stop early.
type network struct {
	*devnet.Network
	stop func()
}

func startNet(t testing.TB, cfg devnet.Config) *network {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cfg.Listen, cfg.Logger = "127.0.0.1:0", testLogger()
	n, err := devnet.New(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
		if err := n.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	t.Cleanup(stop)
	select {
	case <-n.Ready():
	case err := <-done:
		done <- err
		t.Fatalf("network stopped before ready: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("network not ready in two minutes")
	}
	return &network{Network: n, stop: stop}
}

// tokenLog builds the test's workload on n: two processes A and B running the token blueprint, and rounds of
// Evals on each that make it transfer tokens to itself (a Transfer and a Debit-Notice in its own log) and to
// the other (a Credit-Notice in the other's log). It returns A, B and the length of A's log.
func tokenLog(t testing.TB, n *devnet.Network, rounds, perRound int) (a, b string, slots int64) {
	t.Helper()
	ctx := context.Background()
	w, err := wallet.Generate(wallet.ED25519)
	if err != nil {
		t.Fatal(err)
	}
	c, err := devnet.Dial(ctx, n.URL(), w, nil)
	if err != nil {
		t.Fatal(err)
	}
	spawn := func(name string) string {
		pid, err := c.Spawn(ctx, devnet.Spawn{Tags: []dataitem.Tag{{Name: "Name", Value: name}}})
		if err != nil {
			t.Fatal(err)
		}
		eval(t, c, pid, `require(".token"); return "ok"`)
		return pid
	}
	a, b = spawn("A"), spawn("B")
	for r := range rounds {
		for _, p := range [][2]string{{a, b}, {b, a}} {
			eval(t, c, p[0], fmt.Sprintf(`for i = 1, %d do Send({Target = ao.id, Action = "Transfer", Recipient = %q, Quantity = "%d"}) end return "sent"`, perRound, p[1], r+1))
		}
	}
	// A's log: its spawn, the require, the Evals, and per transfer its Transfer, its Debit-Notice and B's
	// Credit-Notice.
	slots = int64(2 + rounds + 3*rounds*perRound)
	su := client.NewSU(n.Info().SU, n.HTTPClient())
	waitFor(t, "A's log complete on the SU", func() error {
		for _, p := range []string{a, b} {
			from, to := slots-2, slots-1
			page, err := su.Page(ctx, p, client.SUQuery{FromNonce: &from, ToNonce: &to, Limit: 1})
			if err != nil {
				return err
			}
			if len(page.Edges) == 0 {
				return fmt.Errorf("no slot %d yet", slots-1)
			}
		}
		return nil
	})
	// Every transfer went through (a Transfer-Error would take a Debit-Notice's place in the log).
	want := 0
	for r := range rounds {
		want += perRound * (r + 1)
	}
	r, err := c.Eval(ctx, a, fmt.Sprintf(`return Balances[%q] or "0"`, b))
	if err != nil {
		t.Fatal(err)
	}
	if got := devnet.OutputText(r.Result); got != strconv.Itoa(want) {
		t.Fatalf("B holds %s of A's tokens, want %d", got, want)
	}
	return a, b, slots + 1 // and that last Eval
}

func eval(t testing.TB, c *devnet.Client, pid, code string) {
	t.Helper()
	r, err := c.Eval(context.Background(), pid, code)
	if err != nil {
		t.Fatalf("eval on %s: %v", pid, err)
	}
	if r.Error != "" {
		t.Fatalf("eval on %s: %s", pid, r.Error)
	}
}

func waitFor(t testing.TB, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitUploaded waits until the gateway holds slots 0..slots-1 of pid.
func waitUploaded(t testing.TB, gw *gateway.Client, pid string, slots int64) {
	t.Helper()
	src := &verify.GatewaySource{GW: gw}
	waitFor(t, "the log uploaded to the gateway", func() error {
		if _, err := src.Process(context.Background(), pid); err != nil {
			return err
		}
		ok, err := src.Has(context.Background(), pid, slots-1)
		if err == nil && !ok {
			err = fmt.Errorf("slot %d not on the gateway yet", slots-1)
		}
		return err
	})
}

// standaloneCU serves the results a stopped network's CU computed, from its store, with no SU to ask.
func standaloneCU(t testing.TB, dir string, gwURL string) *httptest.Server {
	t.Helper()
	store, err := sqlite.OpenCU(filepath.Join(dir, "cu", "cu.db"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := wallet.Load(filepath.Join(dir, devnet.WalletsDir, "cu.json"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := cu.New(cu.Config{Wallet: w, Scheduler: cu.FixedScheduler(client.NewSU("http://127.0.0.1:1", nil)),
		Modules: gateway.NewClient(gwURL, nil), Store: store, DataDir: filepath.Join(dir, "cu")})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c.Handler())
	t.Cleanup(func() { srv.Close(); c.Close(); store.Close() })
	return srv
}

func js(v any) string { b, _ := json.Marshal(v); return string(b) }

func run(t testing.TB, cfg verify.Config) *verify.Report {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	if cfg.To == 0 {
		cfg.To = -1
	}
	rep, err := verify.Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("verify: %v (report %s)", err, js(rep))
	}
	return rep
}

// TestVerifyFromGatewayAlone is the suite: a log of token transfers between two processes and Evals,
// verified from the SU while it runs, then from the gateway alone once the SU (the whole network) is stopped,
// against the network's CU (serving its stored results); a CU that lies about one slot is caught at exactly
// that slot; a tampered, a forged and an equivocating assignment on the gateway are caught.
func TestVerifyFromGatewayAlone(t *testing.T) {
	rounds, perRound := 6, 5 // A's log: 2 + 6 + 90 + 1 = 99 slots
	if os.Getenv("AOGO_VERIFY_FULL") != "" {
		rounds, perRound = 20, 16 // 2 + 20 + 960 + 1 = 983 slots
	}
	ctx := context.Background()
	gwURL := startGateway(t)
	dir := t.TempDir()
	n := startNet(t, devnet.Config{Dir: dir, GatewayURL: gwURL})
	a, _, slots := tokenLog(t, n.Network, rounds, perRound)
	gw := gateway.NewClient(gwURL, nil)
	signer, err := wallet.Generate(wallet.ED25519)
	if err != nil {
		t.Fatal(err)
	}
	// Messages whose anchor is not text cannot be proven from the SU's JSON: the verifier reads them from the
	// gateway.
	waitUploaded(t, gw, a, slots)

	// From the SU while it runs, against the network's CU (which computes any result it lacks).
	rep := run(t, verify.Config{Process: a, Source: &verify.SUSource{SU: client.NewSU(n.Info().SU, n.HTTPClient()), Items: gw},
		CUs: []*client.CU{client.NewCU(n.Info().CU, n.HTTPClient())}, Signer: signer})
	if !rep.OK() || rep.Slots != slots || rep.Units[0].Compared != slots || rep.Units[0].Agreed != slots {
		t.Fatalf("from the SU: %s, want %d slots all agreeing", js(rep), slots)
	}
	suLast := *rep.Last
	sameAsSU(t, client.NewSU(n.Info().SU, n.HTTPClient()), gw, a, slots)
	n.stop()

	honest := standaloneCU(t, dir, gwURL)
	rep = run(t, verify.Config{Process: a, Source: &verify.GatewaySource{GW: gw}, CUs: []*client.CU{client.NewCU(honest.URL, nil)}, Signer: signer})
	if !rep.OK() || rep.Slots != slots || rep.Units[0].Compared != slots || rep.Units[0].Agreed != slots {
		t.Fatalf("from the gateway alone: %s, want %d slots all agreeing", js(rep), slots)
	}
	if rep.Last.ResultHash != suLast.ResultHash || rep.Last.MemoryHash != suLast.MemoryHash || rep.Last.Slot != slots-1 {
		t.Fatalf("gateway replay ends at %+v, SU replay at %+v", rep.Last, suLast)
	}
	st, err := verify.ParseStatement(rep.StatementItem)
	if err != nil || st.Verifier != signer.Address() || st.Slot != slots-1 || st.ResultHash != rep.Last.ResultHash ||
		st.MemoryHash == "" || len(st.UnitsAgreeing) != 1 || st.DivergenceSlot != nil {
		t.Fatalf("statement %+v, %v", st, err)
	}

	// Interrupted part-way, then resumed from its own checkpoint: the same end as one whole run.
	cpDir := t.TempDir()
	ictx, interrupt := context.WithCancel(ctx)
	_, err = verify.Run(ictx, verify.Config{Process: a, To: -1, Source: &verify.GatewaySource{GW: gw}, Dir: cpDir,
		Window: 20, CheckpointEvery: 25, Progress: func(p verify.Progress) {
			if p.Done >= 50 {
				interrupt()
			}
		}})
	interrupt()
	if err == nil {
		t.Fatal("the interrupted run ended without an error")
	}
	resumed := run(t, verify.Config{Process: a, Source: &verify.GatewaySource{GW: gw}, Dir: cpDir, Window: 20,
		CUs: []*client.CU{client.NewCU(honest.URL, nil)}})
	if !resumed.OK() || resumed.From == 0 || resumed.Slots != slots || resumed.Last.ResultHash != rep.Last.ResultHash ||
		resumed.Last.MemoryHash != rep.Last.MemoryHash {
		t.Fatalf("resumed: %s\nwhole run: %s", js(resumed), js(rep))
	}

	// A CU that lies about one slot, consistently: it flips one byte of that result and signs what it serves.
	lieAt := slots / 2
	lieMsg := messageAt(t, gw, a, lieAt)
	liar := lyingCU(t, honest.URL, lieMsg, true)
	rep = run(t, verify.Config{Process: a, Source: &verify.GatewaySource{GW: gw},
		CUs: []*client.CU{client.NewCU(honest.URL, nil), client.NewCU(liar, nil)}})
	d := rep.Divergence
	if rep.OK() || d == nil || d.Slot != lieAt || d.CU != liar || d.Field != verify.FieldResultHash || d.CUValue == d.Value {
		t.Fatalf("lying CU: divergence %+v, want slot %d, %s, field Result-Hash", d, lieAt, liar)
	}
	if rep.Units[0].Agreed != slots || rep.Units[1].Agreed != slots-1 || rep.Slots != slots {
		t.Fatalf("lying CU: units %+v, slots %d", rep.Units, rep.Slots)
	}
	// One that flips the byte but forwards the honest attestation: its signature no longer covers the body.
	clumsy := lyingCU(t, honest.URL, lieMsg, false)
	rep = run(t, verify.Config{Process: a, Source: &verify.GatewaySource{GW: gw}, CUs: []*client.CU{client.NewCU(clumsy, nil)}})
	if d := rep.Divergence; rep.OK() || d == nil || d.Slot != lieAt || d.Field != verify.FieldSignature {
		t.Fatalf("clumsy CU: divergence %+v, want slot %d, field signature", d, lieAt)
	}

	// A gateway that serves one assignment tampered with (its Timestamp moved by 1 ms).
	tamperAt := slots/3 + 1
	bad := tamperingGateway(t, gwURL, a, tamperAt)
	rep, err = verify.Run(ctx, verify.Config{Process: a, To: -1, Source: &verify.GatewaySource{GW: gateway.NewClient(bad, nil)}, Dir: t.TempDir()})
	if err != nil || rep.OK() || rep.LogErrSlot == nil || *rep.LogErrSlot != tamperAt || rep.Slots != tamperAt ||
		!strings.Contains(rep.LogError, "signature does not verify") {
		t.Fatalf("tampered assignment: %v, report %s", err, js(rep))
	}

	// Someone else's assignment for a slot is not the scheduler's: it is ignored.
	forger, _ := wallet.Generate(wallet.ED25519)
	uploadAssignment(t, gw, forger, a, 5, "forged")
	rep = run(t, verify.Config{Process: a, Source: &verify.GatewaySource{GW: gw}})
	if !rep.OK() || rep.Slots != slots {
		t.Fatalf("after a forged assignment: %s", js(rep))
	}
	// The scheduler signing a second, different assignment for a slot is an equivocation.
	suKey, err := wallet.Load(filepath.Join(dir, devnet.WalletsDir, "su.json"))
	if err != nil {
		t.Fatal(err)
	}
	uploadAssignment(t, gw, suKey, a, 7, "equivocation")
	rep, err = verify.Run(ctx, verify.Config{Process: a, To: -1, Source: &verify.GatewaySource{GW: gw}, Dir: t.TempDir()})
	if err != nil || rep.OK() || rep.LogErrSlot == nil || *rep.LogErrSlot > 7 || !strings.Contains(rep.LogError, "two different assignments") {
		t.Fatalf("equivocation: %v, report %s", err, js(rep))
	}
}

// messageAt is the id of the message of slot nonce, from the gateway.
func messageAt(t testing.TB, gw *gateway.Client, pid string, nonce int64) string {
	t.Helper()
	page, err := gw.Transactions(context.Background(), gateway.TxQuery{Tags: []gateway.TagFilter{
		{Name: "Process", Values: []string{pid}}, {Name: "Type", Values: []string{"Assignment"}},
		{Name: "Nonce", Values: []string{strconv.FormatInt(nonce, 10)}}}, First: 10})
	if err != nil || len(page.Edges) != 1 {
		t.Fatalf("assignment of slot %d: %v %+v", nonce, err, page)
	}
	mid, _ := dataitem.Get(page.Edges[0].Node.Tags, "Message")
	return mid
}

// lyingCU is a test double in front of a CU: the result of message lie has one byte flipped (a digit of
// GasUsed, so it stays valid JSON). With resign, it is a CU of its own wallet that signs everything it serves,
// the lie included; without, it forwards the honest CU's attestation.
func lyingCU(t testing.TB, honest, lie string, resign bool) string {
	t.Helper()
	w, err := wallet.Generate(wallet.ED25519)
	if err != nil {
		t.Fatal(err)
	}
	target, _ := url.Parse(honest)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(resp *http.Response) error {
		path := resp.Request.URL.Path
		if path == "/" && resign {
			return replaceBody(resp, []byte(fmt.Sprintf(`{"address":%q,"timestamp":0}`, w.Address())))
		}
		if !strings.HasPrefix(path, "/result/") || resp.StatusCode != http.StatusOK {
			return nil
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if strings.TrimPrefix(path, "/result/") == lie {
			i := bytes.Index(body, []byte(`"GasUsed":`))
			if i < 0 {
				return fmt.Errorf("no GasUsed in %s", body)
			}
			i += len(`"GasUsed":`)
			if body[i] == '1' {
				body[i] = '2'
			} else {
				body[i] = '1'
			}
		}
		if resign {
			raw, err := dataitem.DecodeB64(resp.Header.Get(client.AttestationHeader))
			if err != nil {
				return err
			}
			it, err := dataitem.Decode(raw)
			if err != nil {
				return err
			}
			get := func(n string) string { v, _ := it.Tag(n); return v }
			ev := &cu.Eval{Process: get("Process"), Message: get("Message"), HashChain: get("Hash-Chain"), Result: body}
			ev.Nonce, _ = strconv.ParseInt(get("Slot"), 10, 64)
			ev.Timestamp, _ = strconv.ParseInt(get("Timestamp"), 10, 64)
			ev.BlockHeight, _ = strconv.ParseInt(get("Block-Height"), 10, 64)
			if m := get("Memory-Hash"); m != "" {
				ev.MemoryHash, _ = dataitem.DecodeB64(m)
			}
			att, err := cu.Attest(w, ev)
			if err != nil {
				return err
			}
			resp.Header.Set(client.AttestationHeader, dataitem.B64(att))
		}
		return replaceBody(resp, body)
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	return srv.URL
}

func replaceBody(resp *http.Response, body []byte) error {
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return nil
}

// tamperingGateway is a gateway in front of the real one whose GraphQL answers show the assignment of slot
// nonce of pid with its Timestamp moved by 1 ms.
func tamperingGateway(t testing.TB, real, pid string, nonce int64) string {
	t.Helper()
	target, _ := url.Parse(real)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(resp *http.Response) error {
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if resp.Request.URL.Path != "/graphql" {
			// Raw data: a bundle that carries the assignment gets it tampered with too (an Arweave node's
			// GraphQL cannot show the assignment's binary anchor: the verifier reads it from its bundle).
			return replaceBody(resp, tamperBundle(body, pid, nonce))
		}
		var doc map[string]any
		if err := json.Unmarshal(body, &doc); err != nil {
			return replaceBody(resp, body)
		}
		data, _ := doc["data"].(map[string]any)
		txs, _ := data["transactions"].(map[string]any)
		edges, _ := txs["edges"].([]any)
		for _, e := range edges {
			node, _ := e.(map[string]any)["node"].(map[string]any)
			tags, _ := node["tags"].([]any)
			isIt := 0
			for _, tg := range tags {
				m := tg.(map[string]any)
				if m["name"] == "Nonce" && m["value"] == strconv.FormatInt(nonce, 10) || m["name"] == "Process" && m["value"] == pid {
					isIt++
				}
			}
			if isIt < 2 {
				continue
			}
			for _, tg := range tags {
				m := tg.(map[string]any)
				if m["name"] == "Timestamp" {
					ts, _ := strconv.ParseInt(m["value"].(string), 10, 64)
					m["value"] = strconv.FormatInt(ts+1, 10)
				}
			}
		}
		out, _ := json.Marshal(doc)
		return replaceBody(resp, out)
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	return srv.URL
}

// uploadAssignment signs and uploads an Assignment of slot nonce of pid with w (whose hash chain is made up).
func uploadAssignment(t testing.TB, gw *gateway.Client, w dataitem.Signer, pid string, nonce uint64, msg string) {
	t.Helper()
	it := &dataitem.Item{Tags: ao.AssignmentTags(pid, nonce, dataitem.B64(make([]byte, 32)), 1, 1, pidLike(msg), nil)}
	if err := it.Sign(w); err != nil {
		t.Fatal(err)
	}
	raw, err := it.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if err := gw.Upload(context.Background(), raw); err != nil {
		t.Fatal(err)
	}
}

// pidLike makes a 43-character id from a word.
func pidLike(s string) string {
	b := make([]byte, 32)
	copy(b, s)
	return dataitem.B64(b)
}

// sameAsSU checks that the gateway source shows the process and every slot exactly as the SU's JSON does.
func sameAsSU(t testing.TB, su *client.SU, gw *gateway.Client, pid string, slots int64) {
	t.Helper()
	ctx := context.Background()
	fromSU, fromGW := &verify.SUSource{SU: su}, &verify.GatewaySource{GW: gw}
	p1, err1 := fromSU.Process(ctx, pid)
	p2, err2 := fromGW.Process(ctx, pid)
	if err1 != nil || err2 != nil || js(p1) != js(p2) {
		t.Fatalf("process:\nSU      %s %v\ngateway %s %v", js(p1), err1, js(p2), err2)
	}
	s1, err1 := fromSU.Slots(ctx, pid, 0, int(slots))
	s2, err2 := fromGW.Slots(ctx, pid, 0, int(slots))
	if err1 != nil || err2 != nil || len(s1) != int(slots) || len(s2) != int(slots) {
		t.Fatalf("slots: %d %v, %d %v", len(s1), err1, len(s2), err2)
	}
	for i := range s1 {
		if a, b := js(s1[i].Node), js(s2[i].Node); a != b {
			t.Fatalf("slot %d:\nSU      %s\ngateway %s", i, a, b)
		}
	}
}

// TestVerifyOnArlocal is the suite against arlocal as the gateway: the SU uploads there (base-layer
// transactions of bundles), the network stops, and the verifier reads only from arlocal.
func TestVerifyOnArlocal(t *testing.T) {
	arlocal := testenv.Arlocal(t)
	dir := t.TempDir()
	n := startNet(t, devnet.Config{Dir: dir, GatewayURL: arlocal})
	a, _, slots := tokenLog(t, n.Network, 2, 2)
	gw := gateway.NewClient(arlocal, nil)
	waitUploaded(t, gw, a, slots)
	n.stop()

	honest := standaloneCU(t, dir, arlocal)
	rep := run(t, verify.Config{Process: a, Source: &verify.GatewaySource{GW: gw}, CUs: []*client.CU{client.NewCU(honest.URL, nil)}})
	if !rep.OK() || rep.Slots != slots || rep.Units[0].Agreed != slots || rep.Last.MemoryHash == "" {
		t.Fatalf("from arlocal alone: %s, want %d slots all agreeing", js(rep), slots)
	}
	lieAt := slots - 2
	liar := lyingCU(t, honest.URL, messageAt(t, gw, a, lieAt), true)
	rep = run(t, verify.Config{Process: a, Source: &verify.GatewaySource{GW: gw}, CUs: []*client.CU{client.NewCU(liar, nil)}})
	if d := rep.Divergence; rep.OK() || d == nil || d.Slot != lieAt || d.Field != verify.FieldResultHash {
		t.Fatalf("lying CU on arlocal: %s", js(rep))
	}
	bad := tamperingGateway(t, arlocal, a, 3)
	rep, err := verify.Run(context.Background(), verify.Config{Process: a, To: -1, Source: &verify.GatewaySource{GW: gateway.NewClient(bad, nil)}, Dir: t.TempDir()})
	if err != nil || rep.OK() || rep.LogErrSlot == nil || *rep.LogErrSlot != 3 {
		t.Fatalf("tampered assignment on arlocal: %v %s", err, js(rep))
	}
}

// tamperBundle moves the Timestamp of the assignment of slot nonce of pid by 1 ms inside a bundle (the item
// keeps its length and signature, which no longer verifies); anything else is returned as it is.
func tamperBundle(body []byte, pid string, nonce int64) []byte {
	br, err := dataitem.NewBundleReader(bytes.NewReader(body), 0)
	if err != nil || len(br.Entries) == 0 {
		return body
	}
	off := uint64(32 + 64*len(br.Entries))
	for _, e := range br.Entries {
		if off+e.Size > uint64(len(body)) {
			return body
		}
		raw := body[off : off+e.Size]
		if it, err := dataitem.Decode(raw); err == nil {
			get := func(n string) string { v, _ := it.Tag(n); return v }
			if get("Type") == "Assignment" && get("Process") == pid && get("Nonce") == strconv.FormatInt(nonce, 10) {
				ts := get("Timestamp")
				n, _ := strconv.ParseInt(ts, 10, 64)
				out := bytes.Clone(body)
				i := bytes.Index(raw, []byte(ts))
				copy(out[off+uint64(i):], strconv.FormatInt(n+1, 10))
				return out
			}
		}
		off += e.Size
	}
	return body
}
