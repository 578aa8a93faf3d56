package mu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/internal/httpd"
	"github.com/aogo/aogo/internal/jsonmux"
)

// Handler serves the MU's HTTP API (the reference MU's routes):
//
//	POST   /                                   signed Message or Process item → 202 {"message":"Processing DataItem","id"}
//	POST   /?process-id=&assign=[&base-layer][&exclude=a,b]  → 202 {"message":"Processing Assignment","id":<assignment id>}
//	POST   /monitor/{pid}                      signed item body → 200 "Monitoring process"
//	DELETE /monitor/{pid}                      item signed by the process's owner (or pushed by the process) → 200 "Process deleted"
//	GET    /                                   {"unit","address"}; with the operator token, the status: queue depth,
//	                                           tasks per stage, retries, failures, parked tasks, result quorums
//	                                           (results waiting for agreement with each CU's answer, flagged CUs)
//	GET    /metrics                            Prometheus text (operator)
//	POST   /parked/{id}/retry                  put a parked task back in the queue (operator; aogo extension)
//
// Operator routes need Config.OperatorToken as "Authorization: Bearer <token>" and carry no CORS header.
func (m *MU) Handler() http.Handler {
	op := func(h http.HandlerFunc) http.Handler { return httpd.RequireToken(m.cfg.OperatorToken, h) }
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{$}", m.handlePost)
	mux.HandleFunc("GET /{$}", m.handleStatus)
	mux.Handle("GET /metrics", op(m.handleMetrics))
	mux.HandleFunc("POST /monitor/{pid}", m.handleMonitor)
	mux.HandleFunc("DELETE /monitor/{pid}", m.handleUnmonitor)
	mux.Handle("POST /parked/{id}/retry", op(m.handleUnpark))
	return cors(jsonmux.Errors(mux))
}

// operatorPath reports whether path is an operator route's, which gets no CORS header, not even on a preflight.
func operatorPath(path string) bool {
	return path == "/metrics" || strings.HasPrefix(path, "/parked/")
}

// cors lets browser clients (aoconnect in a page) call the MU's protocol routes, as the reference allows.
func cors(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if operatorPath(r.URL.Path) {
			h.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Access-Control-Allow-Origin", "*")
		if r.Method == http.MethodOptions {
			w.Header().Set("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS")
			w.Header().Set("Access-Control-Allow-Headers", "*")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, map[string]string{"error": fmt.Sprintf(format, args...)})
}

// statusOf maps an error of a request to its HTTP status, in one place.
func statusOf(err error) int {
	var fe *errForbidden
	if errors.As(err, &fe) {
		return http.StatusForbidden
	}
	var se *client.SUError
	if errors.As(err, &se) && clientError(se.Status) {
		return se.Status
	}
	if isPermanent(err) {
		return http.StatusBadRequest
	}
	return http.StatusServiceUnavailable
}

// readItem reads and verifies a signed item body.
func (m *MU) readItem(w http.ResponseWriter, r *http.Request) (*dataitem.Item, []byte, bool) {
	var body []byte
	var err error
	if r.ContentLength > int64(m.cfg.MaxItemSize) {
		err = &http.MaxBytesError{Limit: int64(m.cfg.MaxItemSize)} // refused before a byte of it is read
	} else {
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, int64(m.cfg.MaxItemSize)))
	}
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			writeError(w, http.StatusRequestEntityTooLarge, "item over the %d-byte limit", m.cfg.MaxItemSize)
		} else {
			writeError(w, http.StatusBadRequest, "read body: %v", err)
		}
		return nil, nil, false
	}
	it, err := dataitem.Decode(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "not a valid ANS-104 data item: %v", err)
		return nil, nil, false
	}
	if err := it.Verify(); err != nil {
		writeError(w, http.StatusBadRequest, "data item %s does not verify: %v", it.ID(), err)
		return nil, nil, false
	}
	return it, body, true
}

// inlineCtx is the context of the work a request does before answering: not cancelled when the client goes
// away (the task is durable by then and is finished either way), but bounded.
func inlineCtx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(r.Context()), time.Minute)
}

func (m *MU) handlePost(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	pid, assign := q.Get("process-id"), q.Get("assign")
	if pid != "" || assign != "" {
		m.handleAssign(w, r, pid, assign)
		return
	}
	it, body, ok := m.readItem(w, r)
	if !ok {
		return
	}
	t := Task{Key: "item:" + it.ID(), Stage: StageWrite, ItemID: it.ID(), Item: body, Origin: it.ID(), Cast: isCast(it.Tags)}
	switch typ := ao.TypeOf(it.Tags); typ {
	case ao.TypeMessage:
		if err := ao.CheckMessage(it); err != nil {
			writeError(w, http.StatusBadRequest, "%v", err)
			return
		}
		t.Kind, t.Process = KindMessage, it.TargetID()
	case ao.TypeProcess:
		if err := ao.CheckProcess(it); err != nil {
			writeError(w, http.StatusBadRequest, "%v", err)
			return
		}
		t.Kind, t.Process = KindProcess, it.ID()
		if tgt := it.TargetID(); tgt != "" {
			t.AssignTo = []string{tgt}
		}
		module, _ := it.Tag(ao.TagModule)
		ctx, cancel := inlineCtx(r)
		err := m.checkModule(ctx, module)
		cancel()
		if err != nil {
			writeError(w, statusOf(err), "process %s: %v", it.ID(), err)
			return
		}
	default:
		writeError(w, http.StatusBadRequest, "data item %s: Type must be Message or Process with Data-Protocol: ao, got %q", it.ID(), typ)
		return
	}
	ctx, cancel := inlineCtx(r)
	defer cancel()
	if _, err := m.accept(ctx, t); err != nil {
		writeError(w, statusOf(err), "%v", err)
		return
	}
	m.met.items.Add(1)
	writeJSON(w, http.StatusAccepted, map[string]string{"message": "Processing DataItem", "id": it.ID()})
}

// accept stores a task from a request and does its write at once, so the client hears about an item the SU
// refuses. A task seen before (the same item posted again) is not repeated. A write that fails for a reason
// that may pass (an SU that is down) is left to the queue's retries: the item is accepted, durably.
// It returns what the SU answered (the assignment id on the assign path), "" when not known yet.
func (m *MU) accept(ctx context.Context, t Task) (string, error) {
	stored, inserted, err := m.store.Insert(ctx, t)
	if err != nil {
		return "", err
	}
	if !inserted {
		return "", nil
	}
	if !m.claim(stored.ID) {
		return "", nil
	}
	w, err := m.write(ctx, stored)
	if err != nil && !errors.Is(err, ErrStale) {
		if isPermanent(err) {
			m.release(stored.ID)
			if derr := m.store.Delete(ctx, stored.ID); derr != nil {
				m.log.Error("mu: forget refused task", "task", stored.ID, "err", derr)
			}
			return "", err
		}
		retry := m.fail(ctx, stored, err)
		m.release(stored.ID)
		if retry != nil {
			m.q.push(*retry)
		}
		return "", nil
	}
	m.release(stored.ID)
	m.enqueue(w.children...)
	m.enqueue(w.next)
	return w.id, nil
}

func (m *MU) handleAssign(w http.ResponseWriter, r *http.Request, pid, msg string) {
	if pid == "" || msg == "" {
		writeError(w, http.StatusBadRequest, "assign needs both process-id and assign")
		return
	}
	if err := checkID(pid, "process-id"); err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	if err := checkID(msg, "assign"); err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	q := r.URL.Query()
	t := Task{Key: "assign:" + pid + ":" + msg, Kind: KindAssign, Stage: StageWrite, Process: pid, ItemID: msg, Origin: msg, BaseLayer: q.Has("base-layer")}
	if ex := q.Get("exclude"); ex != "" {
		for _, f := range strings.Split(ex, ",") {
			if f = strings.TrimSpace(f); f != "" {
				t.Exclude = append(t.Exclude, f)
			}
		}
	}
	ctx, cancel := inlineCtx(r)
	defer cancel()
	id, err := m.accept(ctx, t)
	if err != nil {
		writeError(w, statusOf(err), "%v", err)
		return
	}
	if id == "" {
		id = m.assignmentID(ctx, pid, msg)
	}
	m.met.assigns.Add(1)
	writeJSON(w, http.StatusAccepted, map[string]string{"message": "Processing Assignment", "id": id})
}

// assignmentID asks the SU for the assignment of an assign that was accepted earlier (or is being retried);
// "" when it is not scheduled yet.
func (m *MU) assignmentID(ctx context.Context, pid, msg string) string {
	p, err := m.loc.process(ctx, pid)
	if err != nil {
		return ""
	}
	su, _, err := m.loc.scheduler(ctx, p)
	if err != nil {
		return ""
	}
	sm, err := su.Message(ctx, msg, pid)
	if err != nil {
		return ""
	}
	return sm.Assignment.ID
}

func (m *MU) handleMonitor(w http.ResponseWriter, r *http.Request) {
	pid := r.PathValue("pid")
	if err := checkID(pid, "process id"); err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	if _, _, ok := m.readItem(w, r); !ok {
		return
	}
	ctx, cancel := inlineCtx(r)
	defer cancel()
	if err := m.monitor(ctx, pid); err != nil {
		writeError(w, statusOf(err), "monitor %s: %v", pid, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "Monitoring process")
}

func (m *MU) handleUnmonitor(w http.ResponseWriter, r *http.Request) {
	pid := r.PathValue("pid")
	if err := checkID(pid, "process id"); err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	it, _, ok := m.readItem(w, r)
	if !ok {
		return
	}
	ctx, cancel := inlineCtx(r)
	defer cancel()
	if err := m.mayUnmonitor(ctx, pid, it); err != nil {
		writeError(w, statusOf(err), "unmonitor %s: %v", pid, err)
		return
	}
	found, err := m.store.DeleteMonitor(r.Context(), pid)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	if !found {
		writeError(w, http.StatusNotFound, "process %s is not monitored", pid)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "Process deleted")
}

func (m *MU) handleUnpark(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, "task id %q is not a number", r.PathValue("id"))
		return
	}
	t, err := m.store.Get(r.Context(), id)
	if err != nil {
		writeError(w, http.StatusNotFound, "task %d not found", id)
		return
	}
	if t.Stage != StageParked {
		writeError(w, http.StatusConflict, "task %d is not parked (stage %s)", id, t.Stage)
		return
	}
	to := StageWrite
	if t.Kind == KindAssign || len(t.Item) > 0 {
		// Parked while pulling: the write already happened if the item id names a scheduled item.
		if strings.HasPrefix(t.LastError, string(StagePull)+":") {
			to = StagePull
		}
	} else {
		writeError(w, http.StatusConflict, "task %d has no item to write (it was invalid: %s)", id, t.LastError)
		return
	}
	if err := m.store.Unpark(r.Context(), id, to); err != nil {
		writeError(w, http.StatusConflict, "%v", err)
		return
	}
	t.Stage, t.Attempts, t.NextAt = to, 0, time.Time{}
	m.enqueue(t)
	writeJSON(w, http.StatusAccepted, map[string]any{"id": id, "stage": to})
}

// parkedView is a parked task as GET / shows it.
type parkedView struct {
	ID      int64     `json:"id"`
	Kind    Kind      `json:"kind"`
	Process string    `json:"process,omitempty"`
	Item    string    `json:"item,omitempty"`
	Origin  string    `json:"origin,omitempty"`
	Reason  string    `json:"reason"`
	Updated time.Time `json:"updated"`
}

func (m *MU) handleStatus(w http.ResponseWriter, r *http.Request) {
	if !httpd.Authorized(r, m.cfg.OperatorToken) {
		// The public answer names the unit, like the SU's and CU's GET /; the queue is the operator's.
		writeJSON(w, http.StatusOK, map[string]string{"unit": "ao messenger unit", "address": m.Address()})
		return
	}
	httpd.StripCORS(w)
	ctx := r.Context()
	counts, err := m.store.Counts(ctx)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	parked, err := m.store.Parked(ctx, 100)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	mons, err := m.store.Monitors(ctx)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	views := make([]parkedView, 0, len(parked))
	for _, t := range parked {
		views = append(views, parkedView{ID: t.ID, Kind: t.Kind, Process: t.Process, Item: t.ItemID, Origin: t.Origin, Reason: t.LastError, Updated: t.Updated})
	}
	ready, delayed := m.q.depth()
	stages := map[string]int{}
	for s, n := range counts {
		stages[string(s)] = n
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"unit":     "ao messenger unit",
		"address":  m.Address(),
		"queue":    map[string]int{"ready": ready, "retrying": delayed, "pending": counts[StageWrite] + counts[StagePull]},
		"tasks":    stages,
		"retries":  m.met.retries.Load(),
		"failures": m.met.parked.Load(),
		"parked":   views,
		"monitors": len(mons),
		"quorum":   m.quorum.status(m.cfg.Quorum, len(m.cus)),
	})
}

func (m *MU) handleMetrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	if err := m.writeMetrics(r.Context(), w); err != nil {
		m.log.Warn("mu: metrics", "err", err)
	}
}
