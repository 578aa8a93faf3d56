package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/devnet"
	"github.com/aogo/aogo/gateway"
	"github.com/aogo/aogo/wallet"
)

// TestRouterFleet runs a CU fleet the way an operator would: three `aogo cu` processes behind `aogo router`, an
// `aogo mu` that knows only the router, over aogo dev's SU and gateway. Process A asks B for a pong per message
// (both cranked through the router). The CU holding B is killed with SIGKILL mid-run: B moves to another CU,
// which resumes it from the newest Checkpoint item the dead CU published to the gateway (the CUs trust each
// other's keys), and no pong is lost or doubled; the CU comes back and takes B back. Every CU, asked directly,
// gives the same Result-Hash as the router's answer.
func TestRouterFleet(t *testing.T) {
	bin := aogoBinary(t)
	t0 := time.Now()
	phase := func(what string) { t.Logf("%6.1fs %s", time.Since(t0).Seconds(), what) }
	dir := t.TempDir()
	info := startDev(t, dir)
	var units []*unitProc
	defer func() {
		for _, u := range units {
			u.cmd.Process.Kill()
			u.cmd.Wait()
		}
	}()
	start := func(unit string, args ...string) *unitProc {
		u := startUnit(t, bin, unit, args...)
		units = append(units, u)
		return u
	}
	var keys []string
	for i := range 3 {
		w, err := wallet.Generate(wallet.ED25519)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, fmt.Sprint("cu", i, ".json"))
		if err := w.Save(path); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, w.Address())
	}
	cuArgs := func(i int) []string {
		args := []string{"--su", info.SU, "--gateway", info.Gateway, "--data", filepath.Join(dir, fmt.Sprint("cu", i)),
			"--wallet", filepath.Join(dir, fmt.Sprint("cu", i, ".json")), "--checkpoint-every", "4", "--publish-checkpoints", "1ms"}
		for j, k := range keys {
			if j != i {
				args = append(args, "--trust-checkpoint", k)
			}
		}
		return args
	}
	var cus []*unitProc
	var routerArgs []string
	for i := range 3 {
		cus = append(cus, start("cu", cuArgs(i)...))
		routerArgs = append(routerArgs, "--cu", "http://"+cus[i].addr)
	}
	rt := start("router", append(routerArgs, "--health-every", "100ms", "--data", filepath.Join(dir, "router"))...)
	routerURL := "http://" + rt.addr
	mu := start("mu", "--cu", routerURL, "--su-hint", info.Scheduler+"="+info.SU, "--gateway", info.Gateway,
		"--data", filepath.Join(dir, "mu"), "--retry-base", "10ms", "--retry-max", "200ms")

	user, err := wallet.Generate(wallet.ED25519)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 2 * time.Minute}
	ctx := context.Background()
	c := &devnet.Client{Info: devnet.Info{MU: "http://" + mu.addr, CU: routerURL, SU: info.SU, Gateway: info.Gateway,
		Scheduler: info.Scheduler, Module: info.Module}, Wallet: user, HTTP: hc, CU: client.NewCU(routerURL, hc),
		Gateway: gateway.NewClient(info.Gateway, hc)}
	var muInfo struct{ Address string }
	if err := getJSON(ctx, hc, c.Info.MU, &muInfo); err != nil || muInfo.Address == "" {
		t.Fatalf("MU info: %v %+v", err, muInfo)
	}
	c.Authority = muInfo.Address

	b, err := c.Spawn(ctx, devnet.Spawn{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.Spawn(ctx, devnet.Spawn{})
	if err != nil {
		t.Fatal(err)
	}
	mustEval := func(pid, code string) {
		t.Helper()
		r, err := c.Eval(ctx, pid, code)
		if err != nil {
			t.Fatal(err)
		}
		var res struct{ Error any }
		json.Unmarshal(r.Body, &res)
		if res.Error != nil {
			t.Fatalf("eval on %s: %v", pid, res.Error)
		}
	}
	mustEval(b, `Pings = 0; Handlers.add("ping", "Ping", function(m) Pings = Pings + 1; ao.send({Target = m.From, Action = "Pong", Data = tostring(Pings)}) end)`)
	mustEval(a, `Pongs = 0; Handlers.add("pong", "Pong", function(m) Pongs = Pongs + 1 end)
Handlers.add("go", "Go", function(m) ao.send({Target = "`+b+`", Action = "Ping"}) end)`)

	// routedTo names the CU the router sends a process to now.
	routedTo := func(pid string) string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, routerURL+"/state/"+pid, nil)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header.Get("X-Aogo-Routed-To")
	}
	pongs := func() int {
		t.Helper()
		d, err := c.DryRun(ctx, a, []dataitem.Tag{{Name: "Action", Value: "Eval"}}, "return Pongs")
		if err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.Atoi(devnet.OutputText(d))
		return n
	}
	waitPongs := func(want int) {
		t.Helper()
		deadline := time.Now().Add(90 * time.Second)
		for {
			n := pongs()
			if n == want {
				return
			}
			if n > want || time.Now().After(deadline) {
				t.Fatalf("A has %d pongs, want %d", n, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	send := func(n int) (last string) {
		for range n {
			mid, err := c.Send(ctx, a, []dataitem.Tag{{Name: "Action", Value: "Go"}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			last = mid
		}
		return last
	}

	phase("units up, processes spawned")
	send(10)
	waitPongs(10)
	phase("10 pongs")
	victimURL := routedTo(b)
	victim := -1
	for i, u := range cus {
		if "http://"+u.addr == victimURL {
			victim = i
		}
	}
	if victim < 0 {
		t.Fatalf("B is routed to %q, not one of the CUs", victimURL)
	}
	// Wait for a Checkpoint item of B from its CU on the gateway, then kill that CU.
	gc := gateway.NewClient(info.Gateway, hc)
	deadline := time.Now().Add(30 * time.Second)
	for {
		page, err := gc.Transactions(ctx, gateway.TxQuery{Owners: []string{keys[victim]}, Tags: []gateway.TagFilter{
			{Name: "Type", Values: []string{"Checkpoint"}}, {Name: "Process", Values: []string{b}}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Edges) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("B's CU published no Checkpoint item")
		}
		time.Sleep(50 * time.Millisecond)
	}
	cus[victim].cmd.Process.Kill() // SIGKILL: no shutdown
	cus[victim].cmd.Wait()
	send(10)
	waitPongs(20)
	phase("20 pongs, one CU killed")
	if moved := routedTo(b); moved == victimURL || moved == "" {
		t.Fatalf("B still routed to the dead CU %s", moved)
	}

	restores := 0
	for i, u := range cus {
		if i != victim {
			restores += cuMetric(t, hc, "http://"+u.addr, filepath.Join(dir, fmt.Sprint("cu", i)), "ao_cu_checkpoint_item_restores_total")
		}
	}
	if restores == 0 {
		t.Errorf("B's new CU replayed its log instead of resuming from the Checkpoint item")
	}

	cus[victim] = start("cu", append(cuArgs(victim), "--listen", strings.TrimPrefix(victimURL, "http://"))...)
	deadline = time.Now().Add(30 * time.Second)
	for routedTo(b) != victimURL {
		if time.Now().After(deadline) {
			t.Fatalf("B did not go back to its CU after it came back")
		}
		time.Sleep(50 * time.Millisecond)
	}
	phase("B back on its CU")
	last := send(5)
	waitPongs(25)
	phase("25 pongs")

	// The router's answer and each CU's own agree.
	r, err := c.CU.Result(ctx, a, last)
	if err != nil {
		t.Fatal(err)
	}
	att, err := ao.VerifyAttestation(r.Attestation, r.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range cus {
		rr, err := client.NewCU("http://"+u.addr, hc).Result(ctx, a, last)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ao.VerifyAttestation(rr.Attestation, rr.Body)
		if err != nil {
			t.Fatal(err)
		}
		if got.ResultHash != att.ResultHash {
			t.Errorf("CU %s: Result-Hash %s, the router's answer %s", u.addr, got.ResultHash, att.ResultHash)
		}
	}
	d, err := c.DryRun(ctx, b, []dataitem.Tag{{Name: "Action", Value: "Eval"}}, "return Pings")
	if err != nil || devnet.OutputText(d) != "25" {
		t.Fatalf("B has %q pings (%v), want 25: a ping lost or doubled", devnet.OutputText(d), err)
	}
}

// cuMetric reads one counter of a CU's /metrics, with the operator token from its data dir.
func cuMetric(t *testing.T, hc *http.Client, url, dataDir, name string) int {
	t.Helper()
	tok, err := os.ReadFile(filepath.Join(dataDir, "operator-token"))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, url+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + name + ` (\d+)`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("metric %s missing from %s", name, url)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}
