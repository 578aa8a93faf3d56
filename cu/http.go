package cu

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/internal/httpd"
	"github.com/aogo/aogo/internal/jsonmux"
)

// maxDryRunBody bounds a dry-run request body (the reference SU's payload limit).
const maxDryRunBody = 10 << 20

// Handler serves the reference CU's HTTP API (see doc.go).
func (c *CU) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", c.handleInfo)
	mux.HandleFunc("GET /result/{msg}", c.handleResult)
	mux.HandleFunc("GET /results/{pid}", c.handleResults)
	mux.HandleFunc("POST /dry-run", c.handleDryRun)
	mux.HandleFunc("GET /state/{pid}", c.handleState)
	mux.HandleFunc("GET /cron/{pid}", c.handleCron)
	// An operator route: the operator token, no CORS (SECURITY.md).
	mux.Handle("GET /metrics", httpd.RequireToken(c.cfg.OperatorToken, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		c.writeMetrics(w)
	})))
	routes := jsonmux.Errors(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.metrics.requests.Add(1)
		if r.URL.Path == "/metrics" {
			routes.ServeHTTP(w, r) // no CORS, not even on a preflight
			return
		}
		// CORS as the reference CU: any origin (aoconnect runs in browsers).
		w.Header().Set("Access-Control-Allow-Origin", "*")
		if r.Method == http.MethodOptions {
			w.Header().Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
			w.Header().Set("Access-Control-Allow-Headers", "*")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		routes.ServeHTTP(w, r)
	})
}

func (c *CU) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	c.metrics.requestErrors.Add(1)
	if status >= 500 {
		c.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	} else {
		c.log.Debug("request refused", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encode response"}`)
	}
	writeBody(w, status, b)
}

func writeBody(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

func (c *CU) handleInfo(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"address": c.address, "timestamp": c.now().UnixMilli()})
}

func (c *CU) handleResult(w http.ResponseWriter, r *http.Request) {
	pid := r.URL.Query().Get("process-id")
	if pid == "" {
		c.writeError(w, r, badRequest("process-id is required"))
		return
	}
	ev, err := c.result(r.Context(), pid, r.PathValue("msg"), r.Header.Get(client.WantAttestationHeader) != "")
	if err != nil {
		c.writeError(w, r, err)
		return
	}
	if len(ev.Attestation) > 0 { // none yet when the request did not ask for it (see Results before their memory hash)
		w.Header().Set(client.AttestationHeader, dataitem.B64(ev.Attestation))
	}
	writeBody(w, http.StatusOK, ev.Result)
}

// resultsQuery reads from, to, sort and limit (default def, at most 1000).
func resultsQuery(r *http.Request, def int) (ResultsQuery, error) {
	v := r.URL.Query()
	q := ResultsQuery{From: v.Get("from"), To: v.Get("to"), Limit: def}
	switch strings.ToUpper(v.Get("sort")) {
	case "", "ASC":
	case "DESC":
		q.Desc = true
	default:
		return q, badRequest("sort must be ASC or DESC")
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return q, badRequest("limit must be a positive integer")
		}
		q.Limit = min(n, 1000)
	}
	return q, nil
}

// connection is the reference's results page: {pageInfo:{hasNextPage}, edges:[{cursor, node}]}.
type connection struct {
	PageInfo struct {
		HasNextPage bool `json:"hasNextPage"`
	} `json:"pageInfo"`
	Edges []edge `json:"edges"`
}

type edge struct {
	Cursor string          `json:"cursor"`
	Node   json.RawMessage `json:"node"`
}

func page(evals []Eval, more bool, sort string) connection {
	var conn connection
	conn.PageInfo.HasNextPage = more
	conn.Edges = make([]edge, 0, len(evals))
	for i := range evals {
		conn.Edges = append(conn.Edges, edge{Cursor: encodeCursor(&evals[i], sort), Node: evals[i].Result})
	}
	return conn
}

func sortName(desc bool) string {
	if desc {
		return "DESC"
	}
	return "ASC"
}

func (c *CU) handleResults(w http.ResponseWriter, r *http.Request) {
	q, err := resultsQuery(r, 25)
	if err != nil {
		c.writeError(w, r, err)
		return
	}
	evals, more, err := c.Results(r.Context(), r.PathValue("pid"), q)
	if err != nil {
		c.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page(evals, more, sortName(q.Desc)))
}

func (c *CU) handleCron(w http.ResponseWriter, r *http.Request) {
	q, err := resultsQuery(r, 500)
	if err != nil {
		c.writeError(w, r, err)
		return
	}
	q.Desc = false
	evals, more, err := c.Cron(r.Context(), r.PathValue("pid"), q)
	if err != nil {
		c.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page(evals, more, "ASC"))
}

func (c *CU) handleDryRun(w http.ResponseWriter, r *http.Request) {
	pid := r.URL.Query().Get("process-id")
	if pid == "" {
		c.writeError(w, r, badRequest("process-id is required"))
		return
	}
	var body []byte
	var err error
	if r.ContentLength > maxDryRunBody {
		err = &http.MaxBytesError{Limit: maxDryRunBody} // refused before a byte of it is read
	} else {
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, maxDryRunBody))
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			c.writeError(w, r, tooLarge("dry-run body over %d bytes", maxDryRunBody))
			return
		}
		c.writeError(w, r, badRequest("read body: %v", err))
		return
	}
	res, err := c.DryRun(r.Context(), pid, body)
	if err != nil {
		c.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (c *CU) handleState(w http.ResponseWriter, r *http.Request) {
	started := false
	err := c.State(r.Context(), r.PathValue("pid"), func(info StateInfo) io.Writer {
		started = true
		h := w.Header()
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Last-Timestamp", strconv.FormatInt(info.Timestamp, 10))
		h.Set("Last-Ordinate", strconv.FormatInt(info.Nonce, 10))
		h.Set("Last-Block-Height", strconv.FormatInt(info.BlockHeight, 10))
		h.Set("Content-Length", strconv.FormatUint(info.Size, 10))
		// A memory of gigabytes outlasts the server's WriteTimeout: allow a minute plus a second per MiB
		// (the in-process transport of aogo dev has no deadline to move, hence the ignored error).
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Minute + time.Duration(info.Size>>20)*time.Second))
		return w
	})
	if err != nil && !started {
		c.writeError(w, r, err)
	} else if err != nil {
		c.log.Error("write state", "process", r.PathValue("pid"), "err", err)
	}
}
