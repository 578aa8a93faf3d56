package su

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aogo/aogo/internal/httpd"
	"github.com/aogo/aogo/internal/jsonmux"
)

// Page size limits for GET /{pid}: a page has at most maxPageLimit slots and, past its first slot, at most
// maxPageBytes of JSON; the next page is one request away (page_info.has_next_page).
const (
	defaultPageLimit = 100
	maxPageLimit     = 10000
	maxPageBytes     = 8 << 20
)

func (u *Unit) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", u.handleInfo)
	mux.HandleFunc("POST /{$}", u.handlePost)
	mux.HandleFunc("GET /timestamp", u.handleTimestamp)
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	// An operator route: the operator token, no CORS (SECURITY.md).
	mux.Handle("GET /metrics", httpd.RequireToken(u.cfg.OperatorToken, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		u.writeMetrics(w)
	})))
	// GET /processes/{pid} and GET /{pid}/latest overlap (/processes/latest), so one pattern dispatches both.
	mux.HandleFunc("GET /{a}/{b}", func(w http.ResponseWriter, r *http.Request) {
		switch a, b := r.PathValue("a"), r.PathValue("b"); {
		case a == "processes":
			u.handleProcess(w, r, b)
		case b == "latest":
			u.handleLatest(w, r, a)
		default:
			writeError(w, &Error{Status: http.StatusNotFound, Msg: "no such route"})
		}
	})
	mux.HandleFunc("GET /{id}", u.handleGet)
	return cors(jsonmux.Errors(mux))
}

// cors lets any origin use the protocol routes, as the reference does; the operator route /metrics gets no
// CORS header, not even on a preflight.
func cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "*")
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encode answer"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// writeError maps an error to its status, in one place: refusals carry theirs, a missing record is 404, a stopped
// scheduler 503, anything else 500.
func writeError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	var e *Error
	switch {
	case errors.As(err, &e):
		status = e.Status
	case errors.Is(err, ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, errStopped):
		status = http.StatusServiceUnavailable
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

func (u *Unit) handleInfo(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"timestamp": strconv.FormatInt(u.now(), 10), "address": u.address})
}

func (u *Unit) handleTimestamp(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{
		"timestamp": strconv.FormatInt(u.now(), 10), "block_height": fmt.Sprintf("%012d", u.height.Load()),
	})
}

func (u *Unit) handlePost(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Has("assign") || q.Has("process-id") {
		pid, id := q.Get("process-id"), q.Get("assign")
		if pid == "" || id == "" {
			writeError(w, badRequest("an assignment needs both process-id and assign"))
			return
		}
		var exclude []string
		if v := q.Get("exclude"); v != "" {
			for _, f := range strings.Split(v, ",") {
				exclude = append(exclude, strings.TrimSpace(f))
			}
		}
		p, err := u.Assign(r.Context(), pid, id, q.Has("base-layer"), exclude)
		if err != nil {
			writeError(w, err)
			return
		}
		writePosted(w, p)
		return
	}
	var body []byte
	var err error
	if r.ContentLength > u.cfg.MaxBody {
		err = &http.MaxBytesError{Limit: u.cfg.MaxBody} // refused before a byte of it is read
	} else {
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, u.cfg.MaxBody))
	}
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			writeError(w, &Error{Status: http.StatusRequestEntityTooLarge,
				Msg: fmt.Sprintf("item is larger than the %d-byte limit of this scheduler", mb.Limit)})
			return
		}
		writeError(w, badRequest("read body: %v", err))
		return
	}
	if len(body) == 0 {
		writeError(w, badRequest("empty body: POST / takes a signed ANS-104 data item"))
		return
	}
	p, err := u.PostItem(r.Context(), body)
	if err != nil {
		writeError(w, err)
		return
	}
	writePosted(w, p)
}

// writePosted answers a write with {"timestamp": …, "id": …}, built by hand: it is on the hot path, and an id is
// base64url, which JSON needs no escaping for.
func writePosted(w http.ResponseWriter, p Posted) {
	b := make([]byte, 0, 96)
	b = append(b, `{"timestamp":`...)
	b = strconv.AppendInt(b, p.Slot.Timestamp, 10)
	b = append(b, `,"id":`...)
	b = strconv.AppendQuote(b, p.ID)
	b = append(b, '}')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

func (u *Unit) handleProcess(w http.ResponseWriter, r *http.Request, pid string) {
	s, err := u.cfg.Store.Find(r.Context(), pid, pid)
	if err != nil || s.Nonce != 0 || s.Message == nil {
		if err == nil || errors.Is(err, ErrNotFound) {
			err = &Error{Status: http.StatusNotFound, Msg: fmt.Sprintf("process %s not found", pid)}
		}
		writeError(w, err)
		return
	}
	out, err := processJSON(&s)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (u *Unit) handleLatest(w http.ResponseWriter, r *http.Request, pid string) {
	s, err := u.cfg.Store.Last(r.Context(), pid)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			err = &Error{Status: http.StatusNotFound, Msg: fmt.Sprintf("process %s not found", pid)}
		}
		writeError(w, err)
		return
	}
	out, err := messageJSON(&s, r.URL.Query().Has("show-anchor"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// handleGet answers GET /{id}: the process's log (a page) when id is the process, else the single slot of message
// or assignment id in process-id. A missing process-id defaults to id (aoconnect omits it when paging).
func (u *Unit) handleGet(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	q := r.URL.Query()
	pid := q.Get("process-id")
	if pid == "" {
		pid = id
	}
	showAnchor := q.Has("show-anchor")
	if id != pid {
		s, err := u.cfg.Store.Find(r.Context(), pid, id)
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				err = &Error{Status: http.StatusNotFound, Msg: "Message or Process not found"}
			}
			writeError(w, err)
			return
		}
		out, err := messageJSON(&s, showAnchor)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	pq, err := parsePageQuery(q)
	if err != nil {
		writeError(w, err)
		return
	}
	page, err := u.Page(r.Context(), pid, pq, showAnchor)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func parsePageQuery(q map[string][]string) (PageQuery, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	pq := PageQuery{Limit: defaultPageLimit}
	num := func(k string, dst *int64, has *bool) error {
		v := get(k)
		if v == "" {
			return nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return badRequest("%s=%q is not an integer", k, v)
		}
		*dst, *has = n, true
		return nil
	}
	if get("from-nonce") != "" || get("to-nonce") != "" {
		pq.ByNonce = true
		if err := num("from-nonce", &pq.From, &pq.HasFrom); err != nil {
			return pq, err
		}
		if err := num("to-nonce", &pq.To, &pq.HasTo); err != nil {
			return pq, err
		}
	} else {
		if err := num("from", &pq.From, &pq.HasFrom); err != nil {
			return pq, err
		}
		if err := num("to", &pq.To, &pq.HasTo); err != nil {
			return pq, err
		}
	}
	if v := get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return pq, badRequest("limit=%q is not a positive integer", v)
		}
		pq.Limit = min(n, maxPageLimit)
	}
	return pq, nil
}

// Page returns part of a process's log in the reference's paginated shape. The Process itself is slot 0, so it
// is the first edge of a first page (and counts against the limit), as on the reference with aop-6.
func (u *Unit) Page(ctx context.Context, pid string, q PageQuery, showAnchor bool) (any, error) {
	want := q.Limit
	q.Limit = want + 1
	// The store may stop reading past maxPageBytes of items: their JSON is at least as large (base64 owners
	// and signatures, JSON tags and strings), so the page below is cut before it runs out of slots.
	q.MaxBytes = maxPageBytes
	// The newest slots, which CUs ask for right after they are written, come from the head's tail when it
	// covers the range (tail.go); a tail also proves the process exists.
	slots, fromTail := u.fromTail(pid, q)
	if !fromTail {
		var err error
		if slots, err = u.cfg.Store.Page(ctx, pid, q); err != nil {
			return nil, fmt.Errorf("page of %s: %w", pid, err)
		}
	}
	// Only an empty page needs to know whether the process exists (a page of slots proves it): the lookup
	// costs as much as the page itself, on the path of every CU's poll.
	if len(slots) == 0 && !fromTail {
		if _, err := u.cfg.Store.Find(ctx, pid, pid); err != nil {
			if errors.Is(err, ErrNotFound) {
				return nil, &Error{Status: http.StatusNotFound, Msg: "Message or Process not found"}
			}
			return nil, err
		}
	}
	page := jsonPage{Edges: make([]jsonEdge, 0, min(len(slots), want))}
	if len(slots) > want {
		page.PageInfo.HasNextPage = true
		slots = slots[:want]
	}
	size := 0
	for i := range slots {
		m, err := messageJSON(&slots[i], showAnchor)
		if err != nil {
			return nil, err
		}
		if size += edgeSize(&slots[i], &m); size > maxPageBytes && i > 0 {
			// Full: slot i starts the next page.
			page.PageInfo.HasNextPage = true
			break
		}
		page.Edges = append(page.Edges, jsonEdge{Node: m, Cursor: cursorOf(&slots[i], q.ByNonce)})
	}
	if len(page.Edges) == 1 && len(slots) == 1 && SlotBytes(&slots[0]) > maxPageBytes {
		// One slot over the bound alone: the store may have stopped after it, so there may be more.
		page.PageInfo.HasNextPage = true
	}
	return page, nil
}

// edgeSize is about the size of an edge's JSON: its data as a JSON string (escapes counted), the rest of the
// items at twice their binary size (base64, JSON tags).
func edgeSize(s *Slot, m *jsonMessage) int {
	n := 256 + 2*len(s.Assignment) + 2*len(s.Message)
	if m.Message != nil && m.Message.Data != nil {
		d := *m.Message.Data
		n += jsonStringLen(d) - 2*len(d)
	}
	return n
}

// jsonStringLen bounds the length of s encoded by encoding/json: 6 bytes for a control character or <, >, &
// (\u00XX), 2 for a quote or backslash, 1 for any other byte of valid UTF-8, 6 for each non-ASCII byte of
// invalid UTF-8 (at most one \ufffd each).
func jsonStringLen(s string) int {
	n := 2
	valid := utf8.ValidString(s)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			n += 2
		case c < 0x20 || c == '<' || c == '>' || c == '&' || c >= 0x80 && !valid:
			n += 6
		default:
			n++
		}
	}
	return n
}
