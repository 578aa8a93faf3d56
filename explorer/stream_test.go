package explorer_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aogo/aogo/explorer"
)

type sse struct {
	resp *http.Response
	r    *bufio.Reader
}

func openStream(t *testing.T, f *fixture, query string) *sse {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, f.srv.URL+"/api/stream"+query, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return &sse{resp: resp, r: bufio.NewReader(resp.Body)}
}

// next returns the next event's name and data (skipping comments), failing after a few seconds.
func (s *sse) next(t *testing.T) (string, string) {
	t.Helper()
	type ev struct{ name, data string }
	ch := make(chan ev, 1)
	go func() {
		var e ev
		for {
			line, err := s.r.ReadString('\n')
			if err != nil {
				ch <- ev{name: "EOF"}
				return
			}
			line = strings.TrimRight(line, "\n")
			switch {
			case strings.HasPrefix(line, "event: "):
				e.name = line[7:]
			case strings.HasPrefix(line, "data: "):
				e.data = line[6:]
			case line == "" && e.name != "":
				ch <- e
				return
			}
		}
	}()
	select {
	case e := <-ch:
		return e.name, e.data
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5 s")
		return "", ""
	}
}

func (s *sse) message(t *testing.T) explorer.MessageRow {
	t.Helper()
	name, data := s.next(t)
	if name != "message" {
		t.Fatalf("event %q %s, want a message", name, data)
	}
	var m explorer.MessageRow
	if err := json.Unmarshal([]byte(data), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestAPIStream(t *testing.T) {
	f := newFixture(t)
	token := f.spawn()
	bob := f.spawn()
	old := f.send(token, nil, "Action", "Transfer")

	// Unfiltered: the backlog oldest first, "ready", then live messages as they are indexed.
	all := openStream(t, f, "")
	for _, want := range []string{token, bob, old} {
		if m := all.message(t); m.ID != want {
			t.Fatalf("backlog: %s, want %s", m.ID, want)
		}
	}
	if name, _ := all.next(t); name != "ready" {
		t.Fatalf("after the backlog: %q", name)
	}
	// Filtered by process and Action: only Credit-Notices on bob.
	credits := openStream(t, f, "?process="+bob+"&action=Credit-Notice")
	if name, data := credits.next(t); name != "ready" || data != `{"backlog":0}` {
		t.Fatalf("filtered stream starts with %q %s", name, data)
	}
	debit := f.send(token, nil, "Action", "Debit-Notice")
	credit := f.send(bob, nil, "Action", "Credit-Notice")
	if m := all.message(t); m.ID != debit || m.Action != "Debit-Notice" || m.Process != token || m.Nonce != 2 {
		t.Errorf("live: %+v", m)
	}
	if m := all.message(t); m.ID != credit {
		t.Errorf("live: %+v", m)
	}
	if m := credits.message(t); m.ID != credit || m.Action != "Credit-Notice" {
		t.Errorf("filtered: %+v", m)
	}
	f.wantStatus(http.StatusBadRequest, "/api/stream?process=short", "/api/stream?action="+strings.Repeat("a", 300))
}

// TestAPIStreamCap: past MaxStreams, a new stream is refused with 503 until one closes.
func TestAPIStreamCap(t *testing.T) {
	f := newFixture(t, func(c *explorer.Config) { c.MaxStreams = 2 })
	f.spawn()
	a := openStream(t, f, "")
	openStream(t, f, "")
	f.wantStatus(http.StatusServiceUnavailable, "/api/stream")
	a.resp.Body.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get(f.srv.URL + "/api/stream")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a closed stream's place was not freed: %d", resp.StatusCode)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestStreamEndsWithRun: when the explorer stops, its live streams end, so a server shutting down gracefully is
// not held by open browser tabs. Run also indexes what Notify names.
func TestStreamEndsWithRun(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.ex.Run(ctx) }()
	s := openStream(t, f, "")
	if name, _ := s.next(t); name != "ready" {
		t.Fatalf("first event %q", name)
	}
	pid := f.spawn() // indexed by the fixture; Run's own pass finds nothing more
	if m := s.message(t); m.ID != pid {
		t.Fatalf("live: %+v", m)
	}
	cancel()
	if name, _ := s.next(t); name != "EOF" {
		t.Fatalf("after Run ended: event %q, want the stream closed", name)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// countingIndex counts the index transactions.
type countingIndex struct {
	explorer.Index
	adds atomic.Int64
}

func (c *countingIndex) Add(ctx context.Context, procs []explorer.ProcessRow, msgs []explorer.MessageRow) error {
	c.adds.Add(1)
	return c.Index.Add(ctx, procs, msgs)
}

// TestRunGathersCommits: Run indexes the commits of one Gather window together, one index transaction per
// process and window instead of one per commit, and the live stream still gets every message in log order.
func TestRunGathersCommits(t *testing.T) {
	var idx *countingIndex
	f := newFixture(t, func(c *explorer.Config) {
		idx = &countingIndex{Index: c.Index}
		c.Index, c.Gather = idx, 500*time.Millisecond
	})
	a, b := f.spawn(), f.spawn()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- f.ex.Run(ctx) }()
	s := openStream(t, f, "")
	for range 2 {
		s.message(t) // the backlog: both processes
	}
	if name, _ := s.next(t); name != "ready" {
		t.Fatalf("after the backlog: %q", name)
	}
	before := idx.adds.Load()
	f.notify = true
	var sent []string
	for i := range 20 {
		pid := a
		if i%2 == 1 {
			pid = b
		}
		sent = append(sent, f.send(pid, nil, "Action", "Ping"))
	}
	got := map[string][]string{}
	for range sent {
		m := s.message(t)
		got[m.Process] = append(got[m.Process], m.ID)
	}
	for i, id := range sent {
		pid := a
		if i%2 == 1 {
			pid = b
		}
		if got[pid][i/2] != id {
			t.Fatalf("process %s: message %d on the stream is %s, sent %s", pid, i/2, got[pid][i/2], id)
		}
	}
	// One transaction per process when the 20 commits fall in one window (they take milliseconds); a window
	// that ends amid them (a stalled machine) makes it two.
	if n := idx.adds.Load() - before; n < 2 || n > 4 {
		t.Fatalf("%d index transactions for 20 commits on 2 processes, want 2 (at most 4)", n)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
