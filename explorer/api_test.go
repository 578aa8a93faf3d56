package explorer_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aogo/aogo/mu"
)

type processList struct {
	Processes []struct {
		Seq   int64   `json:"seq"`
		ID    string  `json:"id"`
		Name  string  `json:"name"`
		Slots int     `json:"slots"`
		Rate  []int64 `json:"rate"`
	} `json:"processes"`
	NextBefore *int64 `json:"next_before"`
}

func TestAPIProcesses(t *testing.T) {
	f := newFixture(t)
	var pids []string
	for i := range 5 {
		pids = append(pids, f.spawn("Name", fmt.Sprintf("p%d", i)))
	}
	f.send(pids[4], nil, "Action", "Ping")
	f.send(pids[4], nil, "Action", "Ping")
	var all processList
	f.get("/api/processes", &all)
	if len(all.Processes) != 5 || all.Processes[0].ID != pids[4] || all.Processes[4].ID != pids[0] || all.NextBefore != nil {
		t.Fatalf("list: %+v", all)
	}
	if p := all.Processes[0]; p.Slots != 3 || p.Name != "p4" || len(p.Rate) != 60 || sum(p.Rate) != 3 {
		t.Errorf("newest process: %+v (want 3 slots, all 3 in the 60-second rate)", p)
	}
	// Paging two at a time walks all five, newest first, without repeats.
	var got []string
	path := "/api/processes?limit=2"
	for {
		var page processList
		f.get(path, &page)
		for _, p := range page.Processes {
			got = append(got, p.ID)
		}
		if page.NextBefore == nil {
			break
		}
		path = fmt.Sprintf("/api/processes?limit=2&before=%d", *page.NextBefore)
	}
	if strings.Join(got, ",") != strings.Join(reverse(pids), ",") {
		t.Errorf("paged: %v, want %v", got, reverse(pids))
	}
	f.wantStatus(http.StatusBadRequest, "/api/processes?limit=0", "/api/processes?limit=x", "/api/processes?limit=100000",
		"/api/processes?before=-1", "/api/processes?before=1e3")
}

func sum(xs []int64) (n int64) {
	for _, x := range xs {
		n += x
	}
	return n
}

func reverse(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[len(s)-1-i] = x
	}
	return out
}

func TestAPIProcess(t *testing.T) {
	f := newFixture(t)
	pid := f.spawn("Name", "Token", "Cron-Interval", "5-seconds", "Cron-Tag-Action", "Tick")
	f.result(pid, pid, 0, `{"Output":{"data":"booted"},"Messages":[],"Spawns":[],"Assignments":[],"GasUsed":0}`, false)
	m1 := f.send(pid, nil, "Action", "Eval")
	f.result(pid, m1, 1, `{"Output":{"data":"2"},"Messages":[{"Target":"x"}],"Spawns":[],"Assignments":[],"GasUsed":0}`, true)
	m2 := f.send(pid, nil, "Action", "Broken")
	f.result(pid, m2, 2, `{"Output":null,"Messages":[],"Spawns":[],"Assignments":[],"Error":"boom","GasUsed":0}`, false)
	child := f.spawn("Name", "Child", "From-Process", pid)
	if err := f.mu.PutMonitor(f.ctx, mu.Monitor{Process: pid}); err != nil {
		t.Fatal(err)
	}
	var p struct {
		ID, Owner, Module, Scheduler, Name string
		Slots                              int
		Tags                               []struct{ Name, Value string }
		LatestOutput                       json.RawMessage `json:"latest_output"`
		Results                            []struct {
			Message  string
			Slot     int
			Messages int
			Error    string
		} `json:"recent_results"`
		Children []struct{ ID string } `json:"children"`
		Cron     struct {
			Intervals []string
			Tags      []string
			Monitored bool
		}
		Attestation *struct {
			ID, Unit, Message string
			Slot              int
			Valid             bool
			MemoryHash        string `json:"memory_hash"`
		}
		MemoryHash string `json:"memory_hash"`
		Verify     string
		Rate       []int64
	}
	f.get("/api/processes/"+pid, &p)
	if p.ID != pid || p.Owner != f.user.Address() || p.Module != f.module || p.Scheduler != f.sched.Address() || p.Name != "Token" || p.Slots != 3 {
		t.Errorf("fields: %+v", p)
	}
	if len(p.Tags) != 8 || p.Tags[7].Name != "Cron-Tag-Action" {
		t.Errorf("tags: %+v", p.Tags)
	}
	// The newest result with an Output: slot 2 failed, so slot 1's.
	if string(p.LatestOutput) != `{"data":"2"}` {
		t.Errorf("latest output %s", p.LatestOutput)
	}
	if len(p.Results) != 3 || p.Results[0].Message != m2 || p.Results[0].Error != "boom" || p.Results[1].Messages != 1 {
		t.Errorf("recent results: %+v", p.Results)
	}
	if len(p.Children) != 1 || p.Children[0].ID != child {
		t.Errorf("children: %+v", p.Children)
	}
	if len(p.Cron.Intervals) != 1 || p.Cron.Intervals[0] != "5-seconds" || p.Cron.Tags[0] != "Action=Tick" || !p.Cron.Monitored {
		t.Errorf("cron: %+v", p.Cron)
	}
	if a := p.Attestation; a == nil || !a.Valid || a.Unit != f.cuw.Address() || a.Message != m1 || a.Slot != 1 || a.MemoryHash == "" {
		t.Errorf("attestation: %+v", a)
	}
	if p.MemoryHash != "abcd02" { // the newest evaluation's
		t.Errorf("memory hash %q", p.MemoryHash)
	}
	if p.Verify != "aogo verify "+pid {
		t.Errorf("verify: %q", p.Verify)
	}
	f.wantStatus(http.StatusNotFound, "/api/processes/"+strings.Repeat("A", 43))
	f.wantStatus(http.StatusBadRequest, "/api/processes/short", "/api/processes/"+strings.Repeat("!", 43))
}

type messagePage struct {
	Messages []struct {
		Seq    int64
		Slot   uint64
		ID     string
		Action string
	}
	NextFrom   *uint64 `json:"next_from"`
	NextBefore *uint64 `json:"next_before"`
}

func TestAPIProcessMessages(t *testing.T) {
	f := newFixture(t)
	pid := f.spawn()
	for i := range 60 {
		f.send(pid, nil, "Action", fmt.Sprintf("A%d", i))
	}
	// Newest first, then older pages by slot: 61 slots, 60..0, each once.
	var slots []uint64
	path := "/api/processes/" + pid + "/messages?limit=25"
	for pages := 0; ; pages++ {
		var pg messagePage
		f.get(path, &pg)
		for _, m := range pg.Messages {
			slots = append(slots, m.Slot)
		}
		if pg.NextBefore == nil {
			break
		}
		path = fmt.Sprintf("/api/processes/%s/messages?limit=25&before=%d", pid, *pg.NextBefore)
	}
	if len(slots) != 61 || slots[0] != 60 || slots[60] != 0 {
		t.Fatalf("newest-first pages: %d slots, %v", len(slots), slots)
	}
	for i := 1; i < len(slots); i++ {
		if slots[i] != slots[i-1]-1 {
			t.Fatalf("gap or repeat at %d: %v", i, slots)
		}
	}
	var asc messagePage
	f.get("/api/processes/"+pid+"/messages?from=10&limit=5", &asc)
	if len(asc.Messages) != 5 || asc.Messages[0].Slot != 10 || asc.Messages[0].Action != "A9" || asc.NextFrom == nil || *asc.NextFrom != 15 {
		t.Errorf("from=10: %+v", asc)
	}
	var end messagePage
	f.get("/api/processes/"+pid+"/messages?from=58&limit=5", &end)
	if len(end.Messages) != 3 || end.NextFrom != nil {
		t.Errorf("from=58: %+v", end)
	}
	f.wantStatus(http.StatusNotFound, "/api/processes/"+strings.Repeat("B", 43)+"/messages")
	f.wantStatus(http.StatusBadRequest, "/api/processes/"+pid+"/messages?from=1&before=5", "/api/processes/"+pid+"/messages?before=0",
		"/api/processes/"+pid+"/messages?from=-3", "/api/processes/"+pid+"/messages?limit=201", "/api/processes/x/messages")
}

func TestAPIMessage(t *testing.T) {
	f := newFixture(t)
	pid := f.spawn()
	bob := f.spawn("Name", "Bob")
	transfer := f.send(pid, []byte(`{"note":"hi"}`), "Action", "Transfer", "Recipient", bob, "Quantity", "5")
	f.result(pid, transfer, 1, `{"Output":{"data":"sent"},"Messages":[{"Target":"a"},{"Target":"b"}],"Spawns":[],"Assignments":[],"GasUsed":3}`, true)
	credit := f.send(bob, []byte("plain words"), "Action", "Credit-Notice")
	bin := f.send(bob, bytes.Repeat([]byte{0, 1, 2, 0xff}, 100), "Action", "Binary")
	long := f.send(bob, bytes.Repeat([]byte("x"), 5000), "Action", "Long")
	f.crank(transfer, pid, mu.KindPush, [2]string{credit, bob})

	type message struct {
		ID        string
		Scheduled bool
		Process   string
		Slots     []struct{ Process string }
		Item      struct {
			Owner, Target  string
			Tags           []struct{ Name, Value string }
			SignatureValid bool `json:"signature_valid"`
			Data           struct {
				Size      int
				Kind      string
				Text      string
				JSON      json.RawMessage
				Hex       string
				Truncated bool
			}
		}
		Assignment struct {
			ID             string
			Slot           int
			HashChain      string `json:"hash_chain"`
			HashChainValid *bool  `json:"hash_chain_valid"`
			Timestamp      int64
			BlockHeight    int    `json:"block_height"`
			Scheduler      string `json:"scheduler"`
			SignatureValid bool   `json:"signature_valid"`
		}
		Result *struct {
			Output   json.RawMessage
			Messages []json.RawMessage
			GasUsed  int `json:"gas_used"`
		}
		CausedBy []struct{ ID, Process, Kind, Action string } `json:"caused_by"`
		Caused   []struct{ ID, Process, Kind, Action string } `json:"caused"`
	}
	var m message
	f.get("/api/messages/"+transfer, &m)
	if m.ID != transfer || !m.Scheduled || m.Process != pid || len(m.Slots) != 1 {
		t.Errorf("message: %+v", m)
	}
	if m.Item.Owner != f.user.Address() || m.Item.Target != pid || !m.Item.SignatureValid || len(m.Item.Tags) != 6 {
		t.Errorf("item: %+v", m.Item)
	}
	if d := m.Item.Data; d.Kind != "json" || d.Size != 13 || string(d.JSON) != `{"note":"hi"}` {
		t.Errorf("data: %+v", d)
	}
	a := m.Assignment
	if a.Slot != 1 || a.HashChainValid == nil || !*a.HashChainValid || !a.SignatureValid || a.BlockHeight != 7 || a.Timestamp == 0 || a.Scheduler != f.sched.Address() {
		t.Errorf("assignment: %+v", a)
	}
	if m.Result == nil || string(m.Result.Output) != `{"data":"sent"}` || len(m.Result.Messages) != 2 || m.Result.GasUsed != 3 {
		t.Errorf("result: %+v", m.Result)
	}
	if len(m.Caused) != 1 || m.Caused[0].ID != credit || m.Caused[0].Action != "Credit-Notice" || m.Caused[0].Process != bob || len(m.CausedBy) != 0 {
		t.Errorf("links: caused %+v by %+v", m.Caused, m.CausedBy)
	}
	// Looked up by its assignment id, the same message.
	var byAssign struct{ ID string }
	f.get("/api/messages/"+a.ID, &byAssign)
	if byAssign.ID != transfer {
		t.Errorf("by assignment id: %s", byAssign.ID)
	}
	// The credit notice: caused by the transfer, text data, no result yet.
	m = message{}
	f.get("/api/messages/"+credit, &m)
	if m.Item.Data.Kind != "text" || m.Item.Data.Text != "plain words" || m.Result != nil || len(m.CausedBy) != 1 || m.CausedBy[0].ID != transfer || m.CausedBy[0].Action != "Transfer" {
		t.Errorf("credit notice: data %+v result %v caused by %+v", m.Item.Data, m.Result, m.CausedBy)
	}
	m = message{}
	f.get("/api/messages/"+bin, &m)
	if d := m.Item.Data; d.Kind != "binary" || d.Size != 400 || !d.Truncated || len(d.Hex) != 512 || !strings.HasPrefix(d.Hex, "000102ff") {
		t.Errorf("binary data: %+v", d)
	}
	m = message{}
	f.get("/api/messages/"+long, &m)
	if d := m.Item.Data; d.Kind != "text" || d.Size != 5000 || !d.Truncated || len(d.Text) != 4096 {
		t.Errorf("long text: size %d kind %s truncated %v len %d", d.Size, d.Kind, d.Truncated, len(d.Text))
	}
	f.wantStatus(http.StatusNotFound, "/api/messages/"+strings.Repeat("C", 43), "/api/messages/"+transfer+"?process="+bob)
	f.wantStatus(http.StatusBadRequest, "/api/messages/abc", "/api/messages/"+transfer+"?process=nope")
}

type graph struct {
	Root   string
	Parent *struct{ ID, Action string }
	Nodes  []struct {
		ID, Process, Kind, Action string
		Depth                     int
	}
	Edges     []struct{ From, To, Kind string }
	Truncated bool
}

func TestAPIMessageGraph(t *testing.T) {
	f := newFixture(t)
	token := f.spawn()
	bob := f.spawn()
	transfer := f.send(token, nil, "Action", "Transfer")
	debit := f.send(token, nil, "Action", "Debit-Notice")
	credit := f.send(bob, nil, "Action", "Credit-Notice")
	reply := f.send(token, nil, "Action", "Thanks")
	f.crank(transfer, token, mu.KindPush, [2]string{debit, token}, [2]string{credit, bob})
	f.crank(credit, bob, mu.KindPush, [2]string{reply, token})

	var g graph
	f.get("/api/messages/"+transfer+"/graph", &g)
	if g.Root != transfer || g.Parent != nil || len(g.Nodes) != 4 || len(g.Edges) != 3 || g.Truncated {
		t.Fatalf("graph: %+v", g)
	}
	depth := map[string]int{}
	action := map[string]string{}
	for _, n := range g.Nodes {
		depth[n.ID], action[n.ID] = n.Depth, n.Action
	}
	if depth[debit] != 1 || depth[credit] != 1 || depth[reply] != 2 || action[credit] != "Credit-Notice" || action[reply] != "Thanks" {
		t.Errorf("nodes: %+v", g.Nodes)
	}
	// From the middle: its parent, and its own subtree.
	g = graph{}
	f.get("/api/messages/"+credit+"/graph", &g)
	if g.Parent == nil || g.Parent.ID != transfer || g.Parent.Action != "Transfer" || len(g.Nodes) != 2 {
		t.Errorf("credit's graph: %+v", g)
	}
	// Bounds: one level, or two nodes, marks the graph truncated.
	g = graph{}
	f.get("/api/messages/"+transfer+"/graph?depth=1", &g)
	if len(g.Nodes) != 3 || !g.Truncated {
		t.Errorf("depth 1: %+v", g)
	}
	g = graph{}
	f.get("/api/messages/"+transfer+"/graph?max=2", &g)
	if len(g.Nodes) != 2 || !g.Truncated {
		t.Errorf("max 2: %+v", g)
	}
	f.wantStatus(http.StatusNotFound, "/api/messages/"+strings.Repeat("D", 43)+"/graph")
	f.wantStatus(http.StatusBadRequest, "/api/messages/"+transfer+"/graph?depth=99", "/api/messages/"+transfer+"/graph?max=-1", "/api/messages/zz/graph")
}

type searchResult struct {
	Kind      string
	Processes []struct{ ID string }
	Messages  []struct {
		Seq         int64
		ID, Process string
		Action      string
		Slot        int
	}
	NextBefore *int64 `json:"next_before"`
}

func TestAPISearch(t *testing.T) {
	f := newFixture(t)
	pid := f.spawn("App", "bank")
	var pings []string
	for i := range 7 {
		pings = append(pings, f.send(pid, nil, "Action", "Ping", "Round", fmt.Sprint(i)))
	}
	pong := f.send(pid, nil, "Action", "Pong")
	var s searchResult
	// By tag, newest first, paged.
	var got []string
	path := "/api/search?limit=3&q=" + "Action%3DPing"
	for {
		s = searchResult{}
		f.get(path, &s)
		if s.Kind != "tag" {
			t.Fatalf("kind %q", s.Kind)
		}
		for _, m := range s.Messages {
			got = append(got, m.ID)
		}
		if s.NextBefore == nil {
			break
		}
		path = fmt.Sprintf("/api/search?limit=3&q=Action%%3DPing&before=%d", *s.NextBefore)
	}
	if strings.Join(got, ",") != strings.Join(reverse(pings), ",") {
		t.Errorf("tag search: %v, want %v", got, reverse(pings))
	}
	s = searchResult{}
	f.get("/api/search?q=Round%3D4", &s)
	if len(s.Messages) != 1 || s.Messages[0].ID != pings[4] {
		t.Errorf("Round=4: %+v", s)
	}
	// By id: the process, a message, an assignment.
	s = searchResult{}
	f.get("/api/search?q="+pid, &s)
	if s.Kind != "id" || len(s.Processes) != 1 || s.Processes[0].ID != pid {
		t.Errorf("by process id: %+v", s)
	}
	s = searchResult{}
	f.get("/api/search?q="+pong, &s)
	if s.Kind != "id" || len(s.Messages) != 1 || s.Messages[0].Action != "Pong" {
		t.Errorf("by message id: %+v", s)
	}
	s = searchResult{}
	f.get("/api/search?q="+f.heads[pid].AssignmentID, &s)
	if s.Kind != "id" || len(s.Messages) != 1 || s.Messages[0].ID != pong {
		t.Errorf("by assignment id: %+v", s)
	}
	// By owner: the processes it owns and what it signed.
	s = searchResult{}
	f.get("/api/search?q="+f.user.Address(), &s)
	if s.Kind != "owner" || len(s.Processes) != 1 || len(s.Messages) != 9 {
		t.Errorf("by owner: kind %s, %d processes, %d messages", s.Kind, len(s.Processes), len(s.Messages))
	}
	s = searchResult{}
	f.get("/api/search?q="+strings.Repeat("E", 43), &s)
	if len(s.Messages)+len(s.Processes) != 0 {
		t.Errorf("unknown id found %+v", s)
	}
	f.wantStatus(http.StatusBadRequest, "/api/search", "/api/search?q=", "/api/search?q=hello", "/api/search?q=%3Dvalue",
		"/api/search?q=Action%3D"+strings.Repeat("v", 300), "/api/search?q=Action%3DPing&limit=0", "/api/search?q=Action%3DPing&before=x")
}

func TestAPIModules(t *testing.T) {
	f := newFixture(t)
	f.spawn()
	f.spawn()
	var out struct {
		Modules []struct {
			ID        string
			Processes int
		}
	}
	f.get("/api/modules", &out)
	if len(out.Modules) != 1 || out.Modules[0].ID != f.module || out.Modules[0].Processes != 2 {
		t.Errorf("modules: %+v", out)
	}
	f.wantStatus(http.StatusBadRequest, "/api/modules?limit=-1")
}

func TestAPIUnknownRoute(t *testing.T) {
	f := newFixture(t)
	f.wantStatus(http.StatusNotFound, "/api/nothing", "/api/processes/"+strings.Repeat("A", 43)+"/nothing")
}

func TestPagesServed(t *testing.T) {
	f := newFixture(t)
	for _, p := range []string{"/", "/app.js", "/graph.js", "/style.css"} {
		resp, err := http.Get(f.srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: %d", p, resp.StatusCode)
		}
	}
}
