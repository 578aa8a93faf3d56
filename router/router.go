package router

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aogo/aogo/internal/httpd"
	"github.com/aogo/aogo/internal/jsonmux"
	"github.com/aogo/aogo/quorum"
)

// Config configures a Router.
type Config struct {
	// Units are the CUs' base URLs (http://host:port, no trailing slash needed).
	Units []string
	// Client carries the requests to the CUs (default: a client with no overall timeout, since a moved
	// process's first result may replay a long log; the caller's request context bounds it).
	Client *http.Client
	// HealthEvery is the probe interval (default 2s); HealthTimeout bounds one probe (default 1s).
	HealthEvery, HealthTimeout time.Duration
	// MaxBody bounds a dry-run request body (default 10 MiB, the CU's own bound).
	MaxBody int64
	// OperatorToken guards GET /router (the health table names the CUs) and /metrics.
	OperatorToken string
	Logger        *slog.Logger
}

// Router forwards CU requests to the CU each process is pinned to.
type Router struct {
	cfg   Config
	log   *slog.Logger
	units []*unit

	forwarded, failovers, refused, noUnit atomic.Int64
}

// unit is one CU and what the router knows of its health.
type unit struct {
	url string

	mu        sync.Mutex
	up        bool
	lastErr   string
	checked   time.Time
	changedAt time.Time
	requests  atomic.Int64
}

func (u *unit) healthy() bool { u.mu.Lock(); defer u.mu.Unlock(); return u.up }

// mark records a probe's or request's outcome and says whether the state changed.
func (u *unit) mark(err error) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.checked = time.Now()
	up := err == nil
	if err != nil {
		u.lastErr = err.Error()
	}
	changed := up != u.up
	if changed {
		u.up, u.changedAt = up, u.checked
	}
	return changed
}

// New checks cfg; it starts nothing (Run probes).
func New(cfg Config) (*Router, error) {
	if len(cfg.Units) == 0 {
		return nil, errors.New("router: no CU given")
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second}}
	}
	if cfg.HealthEvery <= 0 {
		cfg.HealthEvery = 2 * time.Second
	}
	if cfg.HealthTimeout <= 0 {
		cfg.HealthTimeout = time.Second
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 10 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Router{cfg: cfg, log: cfg.Logger}
	seen := map[string]bool{}
	for _, raw := range cfg.Units {
		u := trimSlash(raw)
		if u == "" || seen[u] {
			continue
		}
		seen[u] = true
		// A CU counts as up until a probe or a request says otherwise: the router serves at once.
		r.units = append(r.units, &unit{url: u, up: true, changedAt: time.Now()})
	}
	return r, nil
}

func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}

// Run probes every CU each HealthEvery until ctx ends.
func (r *Router) Run(ctx context.Context) error {
	t := time.NewTicker(r.cfg.HealthEvery)
	defer t.Stop()
	for {
		r.ProbeAll(ctx)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// ProbeAll probes every CU once, concurrently, and returns when all answered or timed out.
func (r *Router) ProbeAll(ctx context.Context) {
	var wg sync.WaitGroup
	for _, u := range r.units {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.note(u, r.probe(ctx, u))
		}()
	}
	wg.Wait()
}

func (r *Router) probe(ctx context.Context, u *unit) error {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.HealthTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.url+"/", nil)
	if err != nil {
		return err
	}
	resp, err := r.cfg.Client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /: status %d", resp.StatusCode)
	}
	return nil
}

func (r *Router) note(u *unit, err error) {
	if u.mark(err) {
		if err != nil {
			r.log.Warn("CU down: its processes move to the next CU in their ranking", "cu", u.url, "err", err)
		} else {
			r.log.Info("CU up: it takes back the processes it ranks first for", "cu", u.url)
		}
	}
}

// Ranking returns the CUs to try for process pid, in order: the healthy ones by rendezvous rank, then the
// others (a last resort when every CU looks down: a probe may simply not have seen one come back).
func (r *Router) Ranking(pid string) []string {
	var up, down []string
	for _, u := range r.units {
		if u.healthy() {
			up = append(up, u.url)
		} else {
			down = append(down, u.url)
		}
	}
	return append(quorum.Pick(pid, up, len(up)), quorum.Pick(pid, down, len(down))...)
}

func (r *Router) unit(url string) *unit {
	for _, u := range r.units {
		if u.url == url {
			return u
		}
	}
	return nil
}

// Handler serves every CU route, forwarding by process id, plus the router's own status (GET /router) and
// metrics (GET /metrics), both behind the operator token.
func (r *Router) Handler() http.Handler {
	mux := http.NewServeMux()
	byPath := func(w http.ResponseWriter, req *http.Request) { r.forward(w, req, req.PathValue("pid")) }
	byQuery := func(w http.ResponseWriter, req *http.Request) {
		pid := req.URL.Query().Get("process-id")
		if pid == "" {
			r.refused.Add(1)
			writeError(w, http.StatusBadRequest, "process-id is required: the router picks the CU by process")
			return
		}
		r.forward(w, req, pid)
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, req *http.Request) { r.forward(w, req, "") })
	mux.HandleFunc("GET /result/{msg}", byQuery)
	mux.HandleFunc("POST /dry-run", byQuery)
	mux.HandleFunc("GET /results/{pid}", byPath)
	mux.HandleFunc("GET /state/{pid}", byPath)
	mux.HandleFunc("GET /cron/{pid}", byPath)
	mux.Handle("GET /router", httpd.RequireToken(r.cfg.OperatorToken, http.HandlerFunc(r.handleStatus)))
	mux.Handle("GET /metrics", httpd.RequireToken(r.cfg.OperatorToken, http.HandlerFunc(r.handleMetrics)))
	routes := jsonmux.Errors(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		// Preflights are the CU's to answer (the reference CU allows any origin), except on the operator routes.
		if req.Method == http.MethodOptions && req.URL.Path != "/router" && req.URL.Path != "/metrics" {
			r.forward(w, req, "")
			return
		}
		routes.ServeHTTP(w, req)
	})
}

// hopHeaders are connection-level headers a proxy must not forward (RFC 9110 section 7.6.1).
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// forward sends req to the first CU of pid's ranking that answers. Requests without a process (GET /) go to
// the ranking of the empty key, so every router sends them to the same CU.
func (r *Router) forward(w http.ResponseWriter, req *http.Request, pid string) {
	var body []byte
	if req.Body != nil && req.Method == http.MethodPost {
		b, err := io.ReadAll(http.MaxBytesReader(w, req.Body, r.cfg.MaxBody))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				r.refused.Add(1)
				writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", r.cfg.MaxBody))
				return
			}
			writeError(w, http.StatusBadRequest, "read request body: "+err.Error())
			return
		}
		body = b
	}
	var errs []string
	for i, url := range r.Ranking(pid) {
		if err := req.Context().Err(); err != nil {
			return // the client left
		}
		out, err := http.NewRequestWithContext(req.Context(), req.Method, url+req.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		copyHeader(out.Header, req.Header)
		out.Header.Del("Authorization") // the router's operator token is not the CU's
		if body == nil {
			out.Body, out.ContentLength = http.NoBody, 0
		}
		u := r.unit(url)
		u.requests.Add(1)
		resp, err := r.cfg.Client.Do(out)
		if err != nil {
			if req.Context().Err() != nil {
				return
			}
			// No answer: the CU is down (or unreachable from here). Mark it so the next requests skip it, and
			// try the next CU of this process's ranking.
			r.note(u, err)
			errs = append(errs, fmt.Sprintf("%s: %v", url, err))
			if i == 0 {
				r.failovers.Add(1)
			}
			continue
		}
		r.forwarded.Add(1)
		h := w.Header()
		copyHeader(h, resp.Header)
		h.Set("X-Aogo-Routed-To", url)
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body) // streamed: the answer is never held whole
		resp.Body.Close()
		return
	}
	r.noUnit.Add(1)
	writeError(w, http.StatusBadGateway, fmt.Sprintf("no CU answered (%d tried): %v", len(errs), errs))
}

func copyHeader(dst, src http.Header) {
	for k, vs := range src {
		dst[k] = append([]string(nil), vs...)
	}
	for _, k := range hopHeaders {
		dst.Del(k)
	}
}

// UnitStatus is one CU in GET /router.
type UnitStatus struct {
	URL       string    `json:"url"`
	Healthy   bool      `json:"healthy"`
	LastError string    `json:"lastError,omitempty"`
	Checked   time.Time `json:"checked"`
	Since     time.Time `json:"since"`
	Requests  int64     `json:"requests"`
}

// Status is the health table, in the configured order.
func (r *Router) Status() []UnitStatus {
	out := make([]UnitStatus, 0, len(r.units))
	for _, u := range r.units {
		u.mu.Lock()
		out = append(out, UnitStatus{URL: u.url, Healthy: u.up, LastError: u.lastErr, Checked: u.checked,
			Since: u.changedAt, Requests: u.requests.Load()})
		u.mu.Unlock()
	}
	return out
}

func (r *Router) handleStatus(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"units": r.Status()})
}

func (r *Router) handleMetrics(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	line := func(name, typ, help string, v any) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %v\n", name, help, name, typ, name, v)
	}
	line("ao_router_forwarded_total", "counter", "Requests answered by a CU.", r.forwarded.Load())
	line("ao_router_failovers_total", "counter", "Requests whose first-ranked CU gave no answer.", r.failovers.Load())
	line("ao_router_refused_total", "counter", "Requests refused by the router (no process-id, body too large).", r.refused.Load())
	line("ao_router_no_unit_total", "counter", "Requests no CU answered.", r.noUnit.Load())
	st := r.Status()
	sort.Slice(st, func(i, j int) bool { return st[i].URL < st[j].URL })
	fmt.Fprintf(w, "# HELP ao_router_unit_up Whether the router counts the CU as healthy.\n# TYPE ao_router_unit_up gauge\n")
	for _, s := range st {
		v := 0
		if s.Healthy {
			v = 1
		}
		fmt.Fprintf(w, "ao_router_unit_up{cu=%q} %d\n", s.URL, v)
	}
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
