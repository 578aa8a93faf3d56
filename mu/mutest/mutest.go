// Package mutest is a small fake ao network for testing Messenger Units: an SU and a CU served over HTTP with
// the reference units' routes and JSON shapes, where each process's behaviour is a Go function. Items are real
// signed ANS-104 items; the SU verifies them and keeps one log per process; the CU evaluates a process's log in
// order, once, when a result is first asked for.
package mutest

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/vm"
)

// Msg is a scheduled message as the process sees it.
type Msg struct {
	ID, From, Owner, Target string
	Tags                    []dataitem.Tag
	Data                    string
	Nonce                   int
}

// Tag returns the value of the message's first tag named name.
func (m Msg) Tag(name string) string { v, _ := dataitem.Get(m.Tags, name); return v }

// Behaviour evaluates one message of a process.
type Behaviour func(p *Process, m Msg) vm.Result

// Entry is one slot of a process's log.
type Entry struct {
	Nonce        int
	MessageID    string
	AssignmentID string
	Item         *dataitem.Item // the scheduled item (nil only for the Process's own slot)
	Assigned     bool           // scheduled by assign
}

// Process is a process of the fake network.
type Process struct {
	ID    string
	Item  *dataitem.Item
	Log   []Entry
	State map[string]any // free for behaviours

	ref       int
	results   []vm.Result
	crons     []vm.Result
	behaviour Behaviour
}

// Send builds an outbox message as aos does (Data-Protocol, Variant, Type, Reference tags and a 32-digit
// anchor) with extra tags given as name, value pairs.
func (p *Process) Send(target, data string, nameValues ...string) json.RawMessage {
	p.ref++
	tags := []map[string]string{
		{"name": "Data-Protocol", "value": "ao"}, {"name": "Variant", "value": "ao.TN.1"},
		{"name": "Type", "value": "Message"}, {"name": "Reference", "value": strconv.Itoa(p.ref)},
	}
	for i := 0; i+1 < len(nameValues); i += 2 {
		tags = append(tags, map[string]string{"name": nameValues[i], "value": nameValues[i+1]})
	}
	b, _ := json.Marshal(map[string]any{"Target": target, "Data": data, "Anchor": fmt.Sprintf("%032d", p.ref), "Tags": tags})
	return b
}

// Spawn builds an outbox spawn as aos does.
func (p *Process) Spawn(module string, nameValues ...string) json.RawMessage {
	p.ref++
	tags := []map[string]string{
		{"name": "Data-Protocol", "value": "ao"}, {"name": "Variant", "value": "ao.TN.1"},
		{"name": "Type", "value": "Process"}, {"name": "From-Process", "value": p.ID},
		{"name": "Module", "value": module}, {"name": "Reference", "value": strconv.Itoa(p.ref)},
	}
	for i := 0; i+1 < len(nameValues); i += 2 {
		tags = append(tags, map[string]string{"name": nameValues[i], "value": nameValues[i+1]})
	}
	b, _ := json.Marshal(map[string]any{"Data": "NODATA", "Anchor": fmt.Sprintf("%032d", p.ref), "Tags": tags})
	return b
}

// Network is the fake SU and CU.
type Network struct {
	SU, CU *httptest.Server
	// SchedulerAddress is the address every process's Scheduler tag names.
	SchedulerAddress string

	// RejectDuplicates makes the SU answer a re-post of an item it has with 400, as the reference SU does,
	// instead of the existing slot.
	RejectDuplicates atomic.Bool
	// FailPosts makes the SU answer the next n POSTs with 503.
	FailPosts atomic.Int32
	// FailResults makes the CU answer the next n result requests with 503.
	FailResults atomic.Int32
	// Posts counts every POST the SU received (duplicates included).
	Posts atomic.Int64
	// ResultDelay (nanoseconds) delays every CU result answer, as evaluation would.
	ResultDelay atomic.Int64

	mu        sync.Mutex
	procs     map[string]*Process
	items     map[string]*dataitem.Item
	behaviour map[string]Behaviour // by module id
}

// New starts the fake SU and CU; close them with Close.
func New() *Network {
	n := &Network{procs: map[string]*Process{}, items: map[string]*dataitem.Item{}, behaviour: map[string]Behaviour{}}
	n.SchedulerAddress = RandomID()
	n.SU = httptest.NewServer(http.HandlerFunc(n.serveSU))
	n.CU = httptest.NewServer(http.HandlerFunc(n.serveCU))
	return n
}

// Close stops the servers.
func (n *Network) Close() {
	n.SU.Close()
	n.CU.Close()
}

// Module registers the behaviour of processes whose Module tag is module.
func (n *Network) Module(module string, b Behaviour) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.behaviour[module] = b
}

// HasModule reports whether a behaviour is registered for module.
func (n *Network) HasModule(module string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	_, ok := n.behaviour[module]
	return ok
}

// RandomID returns a random 43-character id.
func RandomID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return dataitem.B64(b)
}

// Process returns a copy of the log of process pid (nil if unknown).
func (n *Network) Process(pid string) *Process {
	n.mu.Lock()
	defer n.mu.Unlock()
	p := n.procs[pid]
	if p == nil {
		return nil
	}
	cp := *p
	cp.Log = append([]Entry(nil), p.Log...)
	return &cp
}

// Processes returns the ids of every process.
func (n *Network) Processes() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for id := range n.procs {
		out = append(out, id)
	}
	return out
}

// AddCron appends a cron result to process pid, as a CU would after a Cron-Interval tick. The behaviour gets
// the process to build outbox entries with.
func (n *Network) AddCron(pid string, build func(p *Process) vm.Result) {
	n.mu.Lock()
	defer n.mu.Unlock()
	p := n.procs[pid]
	p.crons = append(p.crons, build(p))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, map[string]string{"error": fmt.Sprintf(format, args...)})
}

func owner(it *dataitem.Item) map[string]string {
	return map[string]string{"address": it.OwnerAddress(), "key": dataitem.B64(it.Owner)}
}

func itemJSON(it *dataitem.Item) map[string]any {
	return map[string]any{"id": it.ID(), "owner": owner(it), "data": string(it.Data), "tags": it.Tags,
		"signature": dataitem.B64(it.Signature), "anchor": string(it.Anchor), "target": it.TargetID()}
}

func (n *Network) serveSU(w http.ResponseWriter, r *http.Request) {
	n.mu.Lock()
	defer n.mu.Unlock()
	path := strings.TrimPrefix(r.URL.Path, "/")
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodGet && path == "":
		writeJSON(w, 200, map[string]string{"timestamp": strconv.FormatInt(time.Now().UnixMilli(), 10), "address": n.SchedulerAddress})
	case r.Method == http.MethodPost && path == "" && q.Get("assign") != "":
		n.Posts.Add(1)
		if n.FailPosts.Load() > 0 {
			n.FailPosts.Add(-1)
			writeErr(w, 503, "unavailable")
			return
		}
		n.assign(w, q.Get("process-id"), q.Get("assign"))
	case r.Method == http.MethodPost && path == "":
		n.Posts.Add(1)
		if n.FailPosts.Load() > 0 {
			n.FailPosts.Add(-1)
			writeErr(w, 503, "unavailable")
			return
		}
		body, _ := io.ReadAll(r.Body)
		n.post(w, body)
	case r.Method == http.MethodGet && strings.HasPrefix(path, "processes/"):
		p := n.procs[strings.TrimPrefix(path, "processes/")]
		if p == nil {
			writeErr(w, 400, "Process not found")
			return
		}
		j := itemJSON(p.Item)
		j["process_id"] = p.ID
		j["block"] = "000000000001"
		j["timestamp"] = time.Now().UnixMilli()
		writeJSON(w, 200, j)
	case r.Method == http.MethodGet:
		p := n.procs[q.Get("process-id")]
		if p == nil {
			writeErr(w, 400, "Message or Process not found")
			return
		}
		for _, e := range p.Log {
			if e.MessageID == path || e.AssignmentID == path {
				writeJSON(w, 200, n.slotJSON(p, e))
				return
			}
		}
		writeErr(w, 400, "Message or Process not found")
	default:
		writeErr(w, 404, "no route")
	}
}

func (n *Network) slotJSON(p *Process, e Entry) map[string]any {
	as := map[string]any{"id": e.AssignmentID, "tags": []dataitem.Tag{
		{Name: "Process", Value: p.ID}, {Name: "Nonce", Value: strconv.Itoa(e.Nonce)}, {Name: "Message", Value: e.MessageID},
	}}
	var msg any
	if e.Item != nil {
		msg = itemJSON(e.Item)
	}
	return map[string]any{"message": msg, "assignment": as}
}

func (n *Network) post(w http.ResponseWriter, body []byte) {
	it, err := dataitem.Decode(body)
	if err == nil {
		err = it.Verify()
	}
	if err != nil {
		writeErr(w, 400, "invalid item: %v", err)
		return
	}
	cp := append([]byte(nil), body...)
	it, _ = dataitem.Decode(cp)
	switch ao.TypeOf(it.Tags) {
	case ao.TypeProcess:
		if err := ao.CheckProcess(it); err != nil {
			writeErr(w, 400, "%v", err)
			return
		}
		if _, ok := n.procs[it.ID()]; ok {
			if n.RejectDuplicates.Load() {
				writeErr(w, 400, "process %s already exists", it.ID())
				return
			}
			writeJSON(w, 200, map[string]any{"timestamp": time.Now().UnixMilli(), "id": it.ID()})
			return
		}
		mod, _ := it.Tag(ao.TagModule)
		p := &Process{ID: it.ID(), Item: it, State: map[string]any{}, behaviour: n.behaviour[mod]}
		p.Log = append(p.Log, Entry{Nonce: 0, MessageID: it.ID(), AssignmentID: RandomID(), Item: it})
		n.procs[p.ID] = p
		n.items[p.ID] = it
		writeJSON(w, 200, map[string]any{"timestamp": time.Now().UnixMilli(), "id": it.ID()})
	case ao.TypeMessage:
		if err := ao.CheckMessage(it); err != nil {
			writeErr(w, 400, "%v", err)
			return
		}
		p := n.procs[it.TargetID()]
		if p == nil {
			writeErr(w, 400, "process %s not found", it.TargetID())
			return
		}
		for _, e := range p.Log {
			if e.MessageID == it.ID() {
				if n.RejectDuplicates.Load() {
					writeErr(w, 400, "message %s already exists", it.ID())
					return
				}
				writeJSON(w, 200, map[string]any{"timestamp": time.Now().UnixMilli(), "id": it.ID()})
				return
			}
		}
		p.Log = append(p.Log, Entry{Nonce: len(p.Log), MessageID: it.ID(), AssignmentID: RandomID(), Item: it})
		n.items[it.ID()] = it
		writeJSON(w, 200, map[string]any{"timestamp": time.Now().UnixMilli(), "id": it.ID()})
	default:
		writeErr(w, 400, "not an ao Process or Message")
	}
}

func (n *Network) assign(w http.ResponseWriter, pid, id string) {
	p := n.procs[pid]
	if p == nil {
		writeErr(w, 400, "process %s not found", pid)
		return
	}
	for _, e := range p.Log {
		if e.MessageID == id {
			if n.RejectDuplicates.Load() {
				writeErr(w, 400, "message %s already assigned", id)
				return
			}
			writeJSON(w, 200, map[string]any{"timestamp": time.Now().UnixMilli(), "id": e.AssignmentID})
			return
		}
	}
	it := n.items[id]
	if it == nil {
		writeErr(w, 400, "message %s not found", id)
		return
	}
	e := Entry{Nonce: len(p.Log), MessageID: id, AssignmentID: RandomID(), Item: it, Assigned: true}
	p.Log = append(p.Log, e)
	writeJSON(w, 200, map[string]any{"timestamp": time.Now().UnixMilli(), "id": e.AssignmentID})
}

func msgOf(p *Process, e Entry) Msg {
	it := e.Item
	m := Msg{ID: e.MessageID, Owner: it.OwnerAddress(), From: it.OwnerAddress(), Target: p.ID, Tags: it.Tags, Data: string(it.Data), Nonce: e.Nonce}
	if fp, ok := it.Tag(ao.TagFromProcess); ok {
		m.From = fp
	}
	return m
}

// evaluate computes results up to and including slot i.
func (n *Network) evaluate(p *Process, i int) vm.Result {
	for len(p.results) <= i {
		e := p.Log[len(p.results)]
		var r vm.Result
		if p.behaviour != nil {
			r = p.behaviour(p, msgOf(p, e))
		}
		p.results = append(p.results, r)
	}
	return p.results[i]
}

func (n *Network) serveCU(w http.ResponseWriter, r *http.Request) {
	if d := n.ResultDelay.Load(); d > 0 {
		time.Sleep(time.Duration(d))
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	path := strings.TrimPrefix(r.URL.Path, "/")
	q := r.URL.Query()
	switch {
	case strings.HasPrefix(path, "result/"):
		if n.FailResults.Load() > 0 {
			n.FailResults.Add(-1)
			writeErr(w, 503, "unavailable")
			return
		}
		id := strings.TrimPrefix(path, "result/")
		p := n.procs[q.Get("process-id")]
		if p == nil {
			writeErr(w, 404, "process not found")
			return
		}
		for i, e := range p.Log {
			if e.MessageID == id || e.AssignmentID == id {
				writeJSON(w, 200, n.evaluate(p, i))
				return
			}
		}
		writeErr(w, 404, "message %s not found in %s", id, p.ID)
	case strings.HasPrefix(path, "results/"):
		p := n.procs[strings.TrimPrefix(path, "results/")]
		if p == nil {
			writeErr(w, 404, "process not found")
			return
		}
		// Cursors here count cron results: the latest one is where a new monitor starts.
		edges := []map[string]any{}
		if len(p.crons) > 0 {
			edges = append(edges, map[string]any{"cursor": strconv.Itoa(len(p.crons)), "node": p.crons[len(p.crons)-1]})
		}
		writeJSON(w, 200, map[string]any{"pageInfo": map[string]bool{"hasNextPage": false}, "edges": edges})
	case strings.HasPrefix(path, "cron/"):
		p := n.procs[strings.TrimPrefix(path, "cron/")]
		if p == nil {
			writeErr(w, 404, "process not found")
			return
		}
		from := 0
		if f := q.Get("from"); f != "" {
			from, _ = strconv.Atoi(f)
		}
		limit := 50
		if l, err := strconv.Atoi(q.Get("limit")); err == nil && l > 0 {
			limit = l
		}
		edges := []map[string]any{}
		for i := from; i < len(p.crons) && len(edges) < limit; i++ {
			edges = append(edges, map[string]any{"cursor": strconv.Itoa(i + 1), "node": p.crons[i]})
		}
		more := from+len(edges) < len(p.crons)
		writeJSON(w, 200, map[string]any{"pageInfo": map[string]bool{"hasNextPage": more}, "edges": edges})
	default:
		writeErr(w, 404, "no route")
	}
}
