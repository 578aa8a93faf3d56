package explorer

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// hub fans index rows out to the live streams. Publishing never blocks: each client has a buffer of bufSize
// events, and a client whose buffer is full loses the event (counted, and told on its next delivery).
type hub struct {
	max, bufSize int

	mu      sync.Mutex
	clients map[*streamClient]struct{}
}

type streamClient struct {
	process, action string // filters ("" = any)
	ch              chan MessageRow
	lost            int // events dropped since the last delivery; guarded by hub.mu
}

func newHub(max, bufSize int) *hub {
	return &hub{max: max, bufSize: bufSize, clients: map[*streamClient]struct{}{}}
}

// errTooManyStreams is answered 503 when the hub is full.
var errTooManyStreams = fmt.Errorf("too many live streams open")

func (h *hub) join(process, action string) (*streamClient, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.clients) >= h.max {
		return nil, errTooManyStreams
	}
	c := &streamClient{process: process, action: action, ch: make(chan MessageRow, h.bufSize)}
	h.clients[c] = struct{}{}
	return c, nil
}

func (h *hub) leave(c *streamClient) {
	h.mu.Lock()
	delete(h.clients, c)
	h.mu.Unlock()
}

func (h *hub) publish(msgs []MessageRow) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		for _, m := range msgs {
			if m.Seq == 0 || !c.matches(m) { // Seq 0: indexed before, already published
				continue
			}
			m.Tags = nil // not sent; do not keep them alive in the buffer
			select {
			case c.ch <- m:
			default:
				c.lost++
			}
		}
	}
}

func (c *streamClient) matches(m MessageRow) bool {
	return (c.process == "" || c.process == m.Process) && (c.action == "" || c.action == m.Action)
}

// takeLost returns and resets the client's count of dropped events.
func (h *hub) takeLost(c *streamClient) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := c.lost
	c.lost = 0
	return n
}

// streamWriteTimeout is how long one event may take to reach a client: one that stops reading is cut off
// after it, so it holds no goroutine or connection for longer. A variable for the hostile test.
var streamWriteTimeout = 15 * time.Second

// streamHeartbeat keeps idle streams (and the proxies on their way) open.
const streamHeartbeat = 15 * time.Second

// backlogSize is how many recent messages a new stream gets first, so a page is not empty until traffic.
const backlogSize = 30

func (e *Explorer) handleStream(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	process, action := q.Get("process"), q.Get("action")
	if process != "" && !validID(process) {
		writeError(w, http.StatusBadRequest, "process must be a 43-character id")
		return
	}
	if len(action) > maxTagValue {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("action longer than %d bytes", maxTagValue))
		return
	}
	c, err := e.hub.join(process, action)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	defer e.hub.leave(c)
	backlog, err := e.cfg.Index.Search(r.Context(), SearchQuery{Process: process, Action: action, Limit: backlogSize})
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	send := func(event string, v any) bool {
		rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
		b, _ := json.Marshal(v)
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	// The backlog oldest first, then live rows newer than it (the index may have published some twice).
	var last int64
	for i := len(backlog) - 1; i >= 0; i-- {
		if !send("message", backlog[i]) {
			return
		}
		last = max(last, backlog[i].Seq)
	}
	if !send("ready", map[string]any{"backlog": len(backlog)}) {
		return
	}
	tick := time.NewTicker(streamHeartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-e.quit:
			return
		case <-tick.C:
			rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		case m := <-c.ch:
			if n := e.hub.takeLost(c); n > 0 && !send("lost", map[string]int{"count": n}) {
				return
			}
			if m.Seq <= last {
				continue
			}
			if !send("message", m) {
				return
			}
		}
	}
}
