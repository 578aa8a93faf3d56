package cu_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/cu"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/store/sqlite"
	"github.com/aogo/aogo/vm"
)

func fakeProcess(t *testing.T, n *network, extra ...dataitem.Tag) string {
	t.Helper()
	mod := n.publishModule(fakeFormat, []byte("fake wasm"))
	return n.spawn(mod, extra...)
}

func TestResult(t *testing.T) {
	n := newNetwork(t)
	pid := fakeProcess(t, n)
	m1 := n.send(pid, "one")
	m2 := n.send(pid, "two", dataitem.Tag{Name: "Action", Value: "Echo"})
	n.send(pid, "three")
	u := n.newUnit(unitOpts{})
	ctx := context.Background()

	r, err := u.c.Result(ctx, pid, m2)
	if err != nil {
		t.Fatal(err)
	}
	// The Process itself is the first message, so m2 is the third evaluation.
	if got, want := outputData(t, r.Result), fmt.Sprintf("n=3 id=%s cron=false ts=", m2); !strings.HasPrefix(got, want) {
		t.Fatalf("Output.data = %q, want prefix %q", got, want)
	}
	if len(r.Messages) != 1 || !bytes.Contains(r.Messages[0], []byte(`"Echoed"`)) {
		t.Fatalf("Messages = %s", r.Messages)
	}
	if r.Attestation == nil {
		t.Fatal("no attestation header")
	}
	a, err := cu.VerifyAttestation(r.Attestation, r.Body)
	if err != nil {
		t.Fatal(err)
	}
	if a.Process != pid || a.Message != m2 || a.Slot != 2 || a.Unit != u.wallet.Address() || a.MemoryHash == "" || a.HashChain == "" {
		t.Fatalf("attestation %+v", a)
	}
	// Only up to m2 was evaluated; m1's result is served from the store, with its own attestation.
	if got := u.machines.applies.Load(); got != 3 {
		t.Fatalf("applies = %d, want 3", got)
	}
	r1, err := u.c.Result(ctx, pid, m1)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(outputData(t, r1.Result), "n=2 ") || u.machines.applies.Load() != 3 {
		t.Fatalf("m1: %q after %d applies", outputData(t, r1.Result), u.machines.applies.Load())
	}
	// The Process's own result.
	rp, err := u.c.Result(ctx, pid, pid)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(outputData(t, rp.Result), "n=1 id="+pid) {
		t.Fatalf("process result %q", outputData(t, rp.Result))
	}
}

func TestMsgObject(t *testing.T) {
	// The fake VM hashes msg and env, so check their shape through a machine that records them.
	n := newNetwork(t)
	pid := fakeProcess(t, n, dataitem.Tag{Name: "Owner", Value: "spoof"}, dataitem.Tag{Name: "Name", Value: "p"})
	mid := n.send(pid, "hello", dataitem.Tag{Name: "From", Value: "spoof"}, dataitem.Tag{Name: ao.TagFromProcess, Value: pid})
	rec := &recorder{fakeMachines: &fakeMachines{}}
	u := n.newUnit(unitOpts{machines: rec})
	if _, err := u.c.Result(context.Background(), pid, mid); err != nil {
		t.Fatal(err)
	}
	if len(rec.msgs) != 2 {
		t.Fatalf("%d messages evaluated", len(rec.msgs))
	}
	var first, msg map[string]any
	json.Unmarshal(rec.msgs[0], &first)
	json.Unmarshal(rec.msgs[1], &msg)
	if first["Id"] != pid || first["Target"] != pid || first["Nonce"] != float64(0) || first["Data"] != "process data" {
		t.Fatalf("first message %s", rec.msgs[0])
	}
	owner := n.user.Address()
	checks := map[string]any{"Id": mid, "Owner": owner, "From": pid, "Forwarded-By": owner, "Target": pid,
		"Data": "hello", "Nonce": float64(1), "Epoch": float64(0), "Cron": false, "Read-Only": false}
	for k, want := range checks {
		if msg[k] != want {
			t.Errorf("msg[%q] = %v, want %v", k, msg[k], want)
		}
	}
	for _, k := range []string{"Signature", "Timestamp", "Block-Height", "Hash-Chain"} {
		if _, ok := msg[k]; !ok {
			t.Errorf("msg has no %s", k)
		}
	}
	for _, tag := range msg["Tags"].([]any) {
		if name := tag.(map[string]any)["name"]; name == "From" || name == "Owner" {
			t.Errorf("msg.Tags keeps a %s tag", name)
		}
	}
	var env struct {
		Process struct {
			ID    string `json:"Id"`
			Owner string
			Tags  []dataitem.Tag
		}
		Module struct{ Id, Owner string }
	}
	json.Unmarshal(rec.envs[0], &env)
	if env.Process.ID != pid || len(env.Process.Tags) == 0 || env.Module.Id == "" || env.Module.Owner != owner {
		t.Fatalf("env %s", rec.envs[0])
	}
}

// recorder is a fakeMachines whose machines record every msg and env.
type recorder struct {
	*fakeMachines
	msgs, envs [][]byte
}

func (r *recorder) Open(format string, wasm []byte, opts vm.Options) (vm.Machine, error) {
	m, err := r.fakeMachines.Open(format, wasm, opts)
	if err != nil {
		return nil, err
	}
	return &recMachine{Machine: m, r: r}, nil
}

type recMachine struct {
	vm.Machine
	r *recorder
}

var _ vm.Machine = (*recMachine)(nil)

func (m *recMachine) Apply(ctx context.Context, msg, env []byte) (vm.Result, error) {
	m.r.msgs = append(m.r.msgs, msg)
	m.r.envs = append(m.r.envs, env)
	return m.Machine.Apply(ctx, msg, env)
}

func TestResultsPaging(t *testing.T) {
	n := newNetwork(t)
	pid := fakeProcess(t, n)
	var last string
	for i := range 9 {
		action := "Noop"
		if i == 4 {
			action = "Fail"
		}
		last = n.send(pid, fmt.Sprint(i), dataitem.Tag{Name: "Action", Value: action})
	}
	u := n.newUnit(unitOpts{})
	ctx := context.Background()
	if _, err := u.c.Result(ctx, pid, last); err != nil {
		t.Fatal(err)
	}
	// 10 evaluations (the Process and 9 messages), one errored: /results shows 9, in order, 4 per page.
	var got []string
	from := ""
	for pages := 0; ; pages++ {
		p, err := u.c.Results(ctx, pid, client.CUQuery{From: from, Limit: 4})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Edges {
			if e.Node.Error != "" {
				t.Fatalf("errored result listed: %+v", e.Node)
			}
			got = append(got, outputData(t, e.Node)[:4])
		}
		if !p.PageInfo.HasNextPage {
			if pages != 2 {
				t.Fatalf("%d pages, want 3", pages+1)
			}
			break
		}
		from = p.Edges[len(p.Edges)-1].Cursor
	}
	want := []string{"n=1 ", "n=2 ", "n=3 ", "n=4 ", "n=5 ", "n=6 ", "n=7 ", "n=8 ", "n=9 "}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("results %v, want %v", got, want)
	}
	desc, err := u.c.Results(ctx, pid, client.CUQuery{Sort: "DESC", Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(desc.Edges) != 1 || !strings.HasPrefix(outputData(t, desc.Edges[0].Node), "n=9 ") || !desc.PageInfo.HasNextPage {
		t.Fatalf("DESC page %+v", desc)
	}
	// The failed message has a result (with Error) at /result.
	if code, body := u.get(t, "/results/"+pid+"?sort=sideways"); code != 400 {
		t.Fatalf("bad sort: %d %s", code, body)
	}
	if code, body := u.get(t, "/results/"+pid+"?from=not-a-cursor!"); code != 400 {
		t.Fatalf("bad cursor: %d %s", code, body)
	}
}

func TestFailedMessageKeepsState(t *testing.T) {
	n := newNetwork(t)
	pid := fakeProcess(t, n)
	bad := n.send(pid, "x", dataitem.Tag{Name: "Action", Value: "Fail"})
	good := n.send(pid, "y")
	u := n.newUnit(unitOpts{})
	r, err := u.c.Result(context.Background(), pid, bad)
	if err != nil {
		t.Fatal(err)
	}
	if r.Error != "failed on purpose" {
		t.Fatalf("Error = %q", r.Error)
	}
	r, err = u.c.Result(context.Background(), pid, good)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(outputData(t, r.Result), "n=2 ") {
		t.Fatalf("after a failed message: %q", outputData(t, r.Result))
	}
}

func TestDryRunLeavesStateUnchanged(t *testing.T) {
	n := newNetwork(t)
	pid := fakeProcess(t, n)
	n.send(pid, "a")
	u := n.newUnit(unitOpts{})
	ctx := context.Background()
	before, _, err := u.c.State(ctx, pid)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		res, err := u.c.DryRun(ctx, pid, client.DryRunMessage{ID: "1234", Owner: "1234", Data: "peek",
			Tags: []dataitem.Tag{{Name: "Action", Value: "Echo"}, {Name: "Owner", Value: "x"}}})
		if err != nil {
			t.Fatal(err)
		}
		if got := outputData(t, res); !strings.HasPrefix(got, "n=3 id=1234 ") || !strings.HasSuffix(got, "data=peek") {
			t.Fatalf("dry-run output %q", got)
		}
		if len(res.Messages) != 1 || !bytes.Contains(res.Messages[0], []byte(`"Target":"1234"`)) {
			t.Fatalf("dry-run Messages %s", res.Messages)
		}
	}
	after, _, err := u.c.State(ctx, pid)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Fatal("dry-run changed the state")
	}
	// The next message's result is what a CU that never saw the dry-runs computes, byte for byte.
	mid := n.send(pid, "b")
	r, err := u.c.Result(ctx, pid, mid)
	if err != nil {
		t.Fatal(err)
	}
	fresh := n.newUnit(unitOpts{})
	r2, err := fresh.c.Result(ctx, pid, mid)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.Body, r2.Body) || !strings.HasPrefix(outputData(t, r.Result), "n=3 ") {
		t.Fatalf("after dry-runs %s, fresh %s", r.Body, r2.Body)
	}
	for _, body := range []string{"not json", `{"Tags": "nope"}`, `[]`} {
		resp, err := http.Post(u.srv.URL+"/dry-run?process-id="+pid, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Fatalf("dry-run body %q: %d %s", body, resp.StatusCode, b)
		}
		errorBody(t, b)
	}
}

// checkpointed evaluates count messages of a new fake process on a unit in its own data directory that
// checkpoints every 5 evaluations, then stops the unit: what a restart starts from.
func checkpointed(t *testing.T, n *network, count int) (pid, dir string, u *unit) {
	t.Helper()
	pid = fakeProcess(t, n)
	var last string
	for i := range count {
		last = n.send(pid, fmt.Sprint(i))
	}
	dir = t.TempDir()
	u = n.newUnit(unitOpts{dir: dir, every: 5})
	if _, err := u.c.Result(context.Background(), pid, last); err != nil {
		t.Fatal(err)
	}
	if got := u.machines.applies.Load(); got != int64(count+1) {
		t.Fatalf("applies = %d, want %d", got, count+1)
	}
	u.stop()
	return pid, dir, u
}

func TestRestartResumesFromCheckpoint(t *testing.T) {
	n := newNetwork(t)
	pid, dir, u := checkpointed(t, n, 12)
	ctx := context.Background()

	more := n.send(pid, "more")
	u2 := n.newUnit(unitOpts{dir: dir, wallet: u.wallet, every: 5})
	r, err := u2.c.Result(ctx, pid, more)
	if err != nil {
		t.Fatal(err)
	}
	if got := u2.machines.applies.Load(); got != 1 {
		t.Fatalf("after restart: %d evaluations, want 1 (resume from the checkpoint)", got)
	}
	if u2.machines.opens.Load() != 0 {
		t.Fatal("restart opened the module instead of restoring")
	}
	if !strings.HasPrefix(outputData(t, r.Result), "n=14 ") {
		t.Fatalf("output %q", outputData(t, r.Result))
	}
	fresh := n.newUnit(unitOpts{})
	r2, err := fresh.c.Result(ctx, pid, more)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.Body, r2.Body) {
		t.Fatalf("restored %s, fresh %s", r.Body, r2.Body)
	}
	a1, _ := cu.VerifyAttestation(r.Attestation, r.Body)
	a2, _ := cu.VerifyAttestation(r2.Attestation, r2.Body)
	if a1 == nil || a2 == nil || a1.MemoryHash != a2.MemoryHash || a1.MemoryHash == "" {
		t.Fatalf("memory hashes differ: %+v %+v", a1, a2)
	}
}

// TestRestoreCheckpointOfOlderCU: a checkpoint an older CU took records the format-2 memory hash; it is
// still restored (not replayed from the start), and a checkpoint whose hash matches neither format is not.
func TestRestoreCheckpointOfOlderCU(t *testing.T) {
	for _, tc := range []struct {
		name     string
		v2       bool // rewrite the recorded hash as HashMemoryV2 of the snapshot's memory (else: garbage)
		restored bool
	}{{"format-2 hash", true, true}, {"wrong hash", false, false}} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNetwork(t)
			pid, dir, u := checkpointed(t, n, 6)
			ctx := context.Background()
			st, err := sqlite.OpenCU(filepath.Join(dir, "cu.db"))
			if err != nil {
				t.Fatal(err)
			}
			cp, err := st.LatestCheckpoint(ctx, pid)
			if err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(filepath.Join(dir, "snapshots", cp.File))
			if err != nil {
				t.Fatal(err)
			}
			m, err := (&fakeMachines{}).Restore(fakeFormat, nil, vm.Options{}, f)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			old, err := vm.HashWrittenMemoryV2(m.WriteMemory)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.v2 {
				old[0] ^= 1
			}
			cp.MemoryHash = old[:]
			if err := st.SaveCheckpoint(ctx, *cp); err != nil {
				t.Fatal(err)
			}
			st.Close()
			more := n.send(pid, "more")
			u2 := n.newUnit(unitOpts{dir: dir, wallet: u.wallet, every: 5})
			if _, err := u2.c.Result(ctx, pid, more); err != nil {
				t.Fatal(err)
			}
			if restored := u2.machines.opens.Load() == 0; restored != tc.restored {
				t.Fatalf("restored from the checkpoint: %v, want %v (%d applies)", restored, tc.restored, u2.machines.applies.Load())
			}
		})
	}
}

func TestDeterminismAcrossUnits(t *testing.T) {
	n := newNetwork(t)
	pid := fakeProcess(t, n)
	var ids []string
	for i := range 20 {
		ids = append(ids, n.send(pid, fmt.Sprint(i), dataitem.Tag{Name: "Action", Value: "Echo"}))
	}
	a := n.newUnit(unitOpts{every: 7})
	b := n.newUnit(unitOpts{every: 1000})
	ctx := context.Background()
	// a evaluates message by message, b in one run: the results and memory hashes must not differ.
	for _, id := range ids {
		ra, err := a.c.Result(ctx, pid, id)
		if err != nil {
			t.Fatal(err)
		}
		_ = ra
	}
	for i := len(ids) - 1; i >= 0; i-- {
		ra, _ := a.c.Result(ctx, pid, ids[i])
		rb, err := b.c.Result(ctx, pid, ids[i])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ra.Body, rb.Body) {
			t.Fatalf("message %d: %s vs %s", i, ra.Body, rb.Body)
		}
		aa, _ := cu.VerifyAttestation(ra.Attestation, ra.Body)
		ab, _ := cu.VerifyAttestation(rb.Attestation, rb.Body)
		if i == len(ids)-1 && (aa.MemoryHash == "" || aa.MemoryHash != ab.MemoryHash) {
			t.Fatalf("memory hash %q vs %q", aa.MemoryHash, ab.MemoryHash)
		}
	}
	sa, _, _ := a.c.State(ctx, pid)
	sb, _, _ := b.c.State(ctx, pid)
	if !bytes.Equal(sa, sb) {
		t.Fatal("states differ")
	}
}

// tamperingSU proxies the SU and lets a test rewrite the pages it serves.
func tamperingSU(t *testing.T, n *network, edit func(p *client.SUPage)) string {
	t.Helper()
	target, _ := url.Parse(n.suURL)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.URL.Query().Get("from-nonce") == "" || resp.StatusCode != 200 {
			return nil
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		var p client.SUPage
		if err := json.Unmarshal(b, &p); err != nil {
			return err
		}
		edit(&p)
		b, _ = json.Marshal(p)
		resp.Body = io.NopCloser(bytes.NewReader(b))
		resp.ContentLength = int64(len(b))
		resp.Header.Del("Content-Length")
		return nil
	}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return srv.URL
}

func setTag(tags []dataitem.Tag, name, value string) {
	for i := range tags {
		if tags[i].Name == name {
			tags[i].Value = value
		}
	}
}

func TestLogTampering(t *testing.T) {
	n := newNetwork(t)
	pid := fakeProcess(t, n)
	var last string
	for i := range 4 {
		last = n.send(pid, fmt.Sprint(i))
	}
	cases := []struct {
		name, want string
		edit       func(p *client.SUPage)
	}{
		{"hash chain", "hash chain invalid", func(p *client.SUPage) {
			setTag(p.Edges[2].Node.Assignment.Tags, ao.TagHashChain, p.Edges[1].Node.Assignment.Tag(ao.TagHashChain))
		}},
		{"nonce gap", "dense", func(p *client.SUPage) {
			p.Edges = append(p.Edges[:2], p.Edges[3:]...)
		}},
		{"assignment signature", "signature does not verify", func(p *client.SUPage) {
			setTag(p.Edges[3].Node.Assignment.Tags, ao.TagTimestamp, "1")
		}},
		{"assignment signer", "not the process's scheduler", func(p *client.SUPage) {
			// A well-formed assignment signed by another key.
			a := &p.Edges[3].Node.Assignment
			anchor, _ := dataitem.DecodeB64(*a.Anchor)
			it := &dataitem.Item{Anchor: anchor, Tags: a.Tags}
			it.Sign(n.user)
			a.ID, a.Signature = it.ID(), dataitem.B64(it.Signature)
			a.Owner = client.SUOwner{Address: it.OwnerAddress(), Key: dataitem.B64(it.Owner)}
		}},
		{"message swapped", "carries message", func(p *client.SUPage) {
			p.Edges[2].Node.Message, p.Edges[3].Node.Message = p.Edges[3].Node.Message, p.Edges[2].Node.Message
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := n.newUnit(unitOpts{suURL: tamperingSU(t, n, tc.edit)})
			code, body := u.get(t, "/result/"+last+"?process-id="+pid)
			if code != 422 {
				t.Fatalf("status %d %s, want 422", code, body)
			}
			if msg := errorBody(t, body); !strings.Contains(msg, tc.want) {
				t.Fatalf("error %q, want it to mention %q", msg, tc.want)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	n := newNetwork(t)
	pid := fakeProcess(t, n)
	big := n.spawn(n.publishModule(fakeFormat, []byte("w2")), dataitem.Tag{Name: ao.TagMemoryLimit, Value: "4-gb"})
	unknownFormat := n.spawn(n.publishModule("wasm128-unknown", []byte("w3")))
	noModule := n.spawn(strings.Repeat("A", 43))
	u := n.newUnit(unitOpts{})
	unknown := strings.Repeat("B", 43)
	cases := []struct {
		path string
		want int
	}{
		{"/result/" + pid, 400},
		{"/result/short?process-id=" + pid, 400},
		{"/result/" + unknown + "?process-id=" + pid, 404},
		{"/result/" + unknown + "?process-id=" + unknown, 404},
		{"/result/" + big + "?process-id=" + big, 413},
		{"/result/" + unknownFormat + "?process-id=" + unknownFormat, 422},
		{"/result/" + noModule + "?process-id=" + noModule, 500},
		{"/state/" + unknown, 404},
		{"/results/" + pid + "?limit=0", 400},
		{"/cron/x", 400},
	}
	for _, tc := range cases {
		code, body := u.get(t, tc.path)
		if code != tc.want {
			t.Errorf("GET %s: %d %s, want %d", tc.path, code, body, tc.want)
			continue
		}
		errorBody(t, body)
	}
	code, body := u.get(t, "/")
	var info client.CUInfo
	if code != 200 || json.Unmarshal(body, &info) != nil || info.Address != u.wallet.Address() || info.Timestamp == 0 {
		t.Fatalf("GET /: %d %s", code, body)
	}
	code, body = u.get(t, "/metrics")
	if code != 200 || !bytes.Contains(body, []byte("ao_cu_http_requests_total")) {
		t.Fatalf("GET /metrics: %d %s", code, body)
	}
}

// TestResultBeforeMemoryHash: while a run hashes the memory after a message, a result request that does not
// ask for the attestation is answered from the run (the same bytes, no attestation header); one that asks
// waits for the hash and gets it; and the attestation made meanwhile is served to the next request.
func TestResultBeforeMemoryHash(t *testing.T) {
	n := newNetwork(t)
	pid := fakeProcess(t, n)
	u := n.newUnit(unitOpts{})
	ctx := context.Background()
	if _, err := u.c.Result(ctx, pid, n.send(pid, "one")); err != nil { // hot
		t.Fatal(err)
	}
	mid := n.send(pid, "two")
	gate := &hashGate{entered: make(chan struct{}, 1), release: make(chan struct{})}
	u.machines.gate.Store(gate)
	var released sync.Once
	release := func() { u.machines.gate.Store(nil); released.Do(func() { close(gate.release) }) }
	t.Cleanup(release) // a failure below must not leave the evaluating request, and the server, hanging
	type answer struct {
		r   *client.CUResult
		err error
	}
	asked := make(chan answer, 1)
	go func() { // this one evaluates, then waits in the hash
		r, err := u.c.Result(ctx, pid, mid)
		asked <- answer{r, err}
	}()
	select {
	case <-gate.entered:
	case a := <-asked:
		t.Fatalf("the request asking for the attestation did not wait for the memory hash: %+v", a)
	case <-time.After(30 * time.Second):
		t.Fatal("no memory hash started")
	}
	get := func() (*http.Response, []byte) {
		t.Helper()
		hc := &http.Client{Timeout: 30 * time.Second} // waiting for the held hash would mean no early answer
		resp, err := hc.Get(u.srv.URL + "/result/" + mid + "?process-id=" + pid)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /result: %d %s", resp.StatusCode, body)
		}
		return resp, body
	}
	resp, early := get() // the hash is still held
	if h := resp.Header.Get(client.AttestationHeader); h != "" {
		t.Fatalf("early answer has an attestation: %s", h)
	}
	select {
	case a := <-asked:
		t.Fatalf("the request asking for the attestation returned before the memory hash: %+v", a)
	default:
	}
	release()
	a := <-asked
	if a.err != nil {
		t.Fatal(a.err)
	}
	if !bytes.Equal(a.r.Body, early) {
		t.Fatalf("early answer %s, attested answer %s", early, a.r.Body)
	}
	att, err := cu.VerifyAttestation(a.r.Attestation, a.r.Body)
	if err != nil || att.MemoryHash == "" || att.Message != mid {
		t.Fatalf("attestation %+v: %v", att, err)
	}
	resp, later := get()
	if got := resp.Header.Get(client.AttestationHeader); got != dataitem.B64(a.r.Attestation) || !bytes.Equal(later, early) {
		t.Fatalf("later answer: attestation %q, body %s", got, later)
	}
}

func TestAttestationTampering(t *testing.T) {
	n := newNetwork(t)
	pid := fakeProcess(t, n)
	mid := n.send(pid, "x")
	u := n.newUnit(unitOpts{})
	r, err := u.c.Result(context.Background(), pid, mid)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cu.VerifyAttestation(r.Attestation, r.Body); err != nil {
		t.Fatal(err)
	}
	body := bytes.Replace(r.Body, []byte("n=2"), []byte("n=9"), 1)
	if _, err := cu.VerifyAttestation(r.Attestation, body); !errors.Is(err, cu.ErrAttestation) {
		t.Fatalf("tampered body: %v", err)
	}
	att := bytes.Clone(r.Attestation)
	att[10] ^= 1 // inside the signature
	if _, err := cu.VerifyAttestation(att, r.Body); err == nil {
		t.Fatal("tampered signature verified")
	}
	// The same attestation is served again (stored, not re-signed).
	r2, _ := u.c.Result(context.Background(), pid, mid)
	if !bytes.Equal(r2.Attestation, r.Attestation) {
		t.Fatal("attestation changed between requests")
	}
}

func TestCron(t *testing.T) {
	n := newNetwork(t)
	pid := fakeProcess(t, n, dataitem.Tag{Name: ao.TagCronInterval, Value: "2-seconds"}, dataitem.Tag{Name: "Cron-Tag-Action", Value: "Tick"})
	n.clock.Advance(5 * time.Second)
	mid := n.send(pid, "m")
	u := n.newUnit(unitOpts{})
	ctx := context.Background()
	// Two crons (2 s and 4 s after the process) run before the message.
	r, err := u.c.Result(ctx, pid, mid)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(outputData(t, r.Result), "n=4 id="+mid) {
		t.Fatalf("message result %q", outputData(t, r.Result))
	}
	n.clock.Advance(4 * time.Second)
	p, err := u.c.Cron(ctx, pid, client.CUQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range p.Edges {
		got = append(got, outputData(t, e.Node)[:len("n=1 id= cron=true")])
	}
	want := []string{"n=2 id= cron=true", "n=3 id= cron=true", "n=5 id= cron=true", "n=6 id= cron=true"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("cron results %v, want %v", got, want)
	}
	// Asking again evaluates nothing new: the clock has not moved past the next tick.
	before := u.machines.applies.Load()
	p2, err := u.c.Cron(ctx, pid, client.CUQuery{From: p.Edges[1].Cursor})
	if err != nil {
		t.Fatal(err)
	}
	if len(p2.Edges) != 2 || u.machines.applies.Load() != before {
		t.Fatalf("second cron page: %d edges, %d new evaluations", len(p2.Edges), u.machines.applies.Load()-before)
	}
	// A second CU on the same log computes the same message result.
	fresh := n.newUnit(unitOpts{})
	r2, err := fresh.c.Result(ctx, pid, mid)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.Body, r2.Body) {
		t.Fatalf("%s vs %s", r.Body, r2.Body)
	}
}
