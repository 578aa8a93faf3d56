package router

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// fakeCU answers every CU route with its own name, the path it saw and the body length, like a CU would
// answer with a result (attestation header included, which the router must pass through).
type fakeCU struct {
	name string
	srv  *httptest.Server
	addr string
}

func newFakeCU(t *testing.T, name string) *fakeCU {
	t.Helper()
	f := &fakeCU{name: name}
	f.srv = httptest.NewServer(f.handler())
	f.addr = f.srv.Listener.Addr().String()
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeCU) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Ao-Result-Attestation", "att-"+f.name)
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/state/gone" {
			w.WriteHeader(http.StatusNotFound)
		}
		json.NewEncoder(w).Encode(map[string]any{"cu": f.name, "uri": r.URL.RequestURI(), "body": len(body),
			"auth": r.Header.Get("Authorization")})
	})
}

// restart brings a closed fake CU back on the same address (a CU that comes back after a crash).
func (f *fakeCU) restart(t *testing.T) {
	t.Helper()
	var ln net.Listener
	var err error
	for range 50 {
		if ln, err = net.Listen("tcp", f.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("relisten %s: %v", f.addr, err)
	}
	f.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: f.handler()}}
	f.srv.Start()
	t.Cleanup(f.srv.Close)
}

type answer struct {
	CU   string `json:"cu"`
	URI  string `json:"uri"`
	Body int    `json:"body"`
	Auth string `json:"auth"`
}

func get(t *testing.T, h http.Handler, method, target string, body string) (*httptest.ResponseRecorder, answer) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var a answer
	json.Unmarshal(rec.Body.Bytes(), &a)
	return rec, a
}

func newRouter(t *testing.T, cus ...*fakeCU) *Router {
	t.Helper()
	var urls []string
	for _, c := range cus {
		urls = append(urls, c.srv.URL)
	}
	r, err := New(Config{Units: urls, OperatorToken: "tok", HealthTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestPinning: every route of a process reaches the same CU, processes spread over all CUs, and the answer
// (status, attestation header, body) passes through untouched.
func TestPinning(t *testing.T) {
	cus := []*fakeCU{newFakeCU(t, "a"), newFakeCU(t, "b"), newFakeCU(t, "c")}
	r := newRouter(t, cus...)
	h := r.Handler()
	seen := map[string]int{}
	for i := range 60 {
		pid := fmt.Sprintf("process-%02d", i)
		routes := []struct{ method, target, body string }{
			{"GET", "/result/m1?process-id=" + pid, ""},
			{"GET", "/results/" + pid + "?limit=5", ""},
			{"GET", "/state/" + pid, ""},
			{"GET", "/cron/" + pid, ""},
			{"POST", "/dry-run?process-id=" + pid, `{"Tags":[]}`},
		}
		var first string
		for _, rt := range routes {
			rec, a := get(t, h, rt.method, rt.target, rt.body)
			if rec.Code != 200 {
				t.Fatalf("%s %s: %d %s", rt.method, rt.target, rec.Code, rec.Body)
			}
			if first == "" {
				first = a.CU
			} else if a.CU != first {
				t.Fatalf("%s %s went to %s, the process's other routes to %s", rt.method, rt.target, a.CU, first)
			}
			if a.URI != rt.target {
				t.Errorf("CU saw %q, want %q", a.URI, rt.target)
			}
			if a.Body != len(rt.body) {
				t.Errorf("CU got a body of %d bytes, want %d", a.Body, len(rt.body))
			}
			if got := rec.Header().Get("X-Ao-Result-Attestation"); got != "att-"+a.CU {
				t.Errorf("attestation header %q not passed through", got)
			}
		}
		seen[first]++
	}
	for _, c := range cus {
		if seen[c.name] < 5 {
			t.Errorf("CU %s holds %d of 60 processes: rendezvous should spread them (%v)", c.name, seen[c.name], seen)
		}
	}
	// A CU's own 404 passes through as it is.
	if rec, a := get(t, h, "GET", "/state/gone", ""); rec.Code != 404 || a.CU == "" {
		t.Errorf("a CU's 404: %d %s", rec.Code, rec.Body)
	}
}

// TestFailover: a CU that dies loses only its processes, each to the CU ranked second for it, without a
// failed request; when it comes back it takes them back; the router's status shows both transitions.
func TestFailover(t *testing.T) {
	cus := []*fakeCU{newFakeCU(t, "a"), newFakeCU(t, "b"), newFakeCU(t, "c")}
	r := newRouter(t, cus...)
	h := r.Handler()
	before := map[string]string{}
	for i := range 40 {
		pid := fmt.Sprintf("p%d", i)
		_, a := get(t, h, "GET", "/state/"+pid, "")
		before[pid] = a.CU
	}
	victim := cus[0]
	victim.srv.Close()
	// The first request after the death, a dry-run of a process the dead CU held, reaches the next CU with its
	// body whole: the body is re-sent.
	for pid, was := range before {
		if was != victim.name {
			continue
		}
		rec, a := get(t, h, "POST", "/dry-run?process-id="+pid, `{"Tags":[{"name":"Action","value":"X"}]}`)
		if rec.Code != 200 || a.Body != 40 || a.CU == victim.name {
			t.Errorf("dry-run after failover: %d %+v", rec.Code, a)
		}
		break
	}
	for pid, was := range before {
		rec, a := get(t, h, "GET", "/state/"+pid, "")
		if rec.Code != 200 {
			t.Fatalf("process %s after its CU died: %d %s", pid, rec.Code, rec.Body)
		}
		if was != victim.name && a.CU != was {
			t.Errorf("process %s moved from %s to %s though its CU is alive", pid, was, a.CU)
		}
		if a.CU == victim.name {
			t.Errorf("process %s still routed to the dead CU", pid)
		}
	}
	if r.failovers.Load() == 0 {
		t.Errorf("no failover counted")
	}
	st := r.Status()
	if st[0].Healthy || st[0].LastError == "" {
		t.Errorf("dead CU's status: %+v", st[0])
	}

	victim.restart(t)
	r.ProbeAll(context.Background())
	for pid, was := range before {
		if _, a := get(t, h, "GET", "/state/"+pid, ""); a.CU != was {
			t.Errorf("process %s on %s after the CU came back, want %s", pid, a.CU, was)
		}
	}
	if !r.Status()[0].Healthy {
		t.Errorf("CU back but not healthy: %+v", r.Status()[0])
	}
}

// TestAllDown: with no CU answering the router says so (502 JSON), and a probe that fails marks CUs down.
func TestAllDown(t *testing.T) {
	a := newFakeCU(t, "a")
	r := newRouter(t, a)
	a.srv.Close()
	r.ProbeAll(context.Background())
	if r.Status()[0].Healthy {
		t.Fatal("probe did not mark the dead CU down")
	}
	rec, _ := get(t, r.Handler(), "GET", "/state/p", "")
	if rec.Code != http.StatusBadGateway || !strings.Contains(rec.Body.String(), `"error"`) {
		t.Fatalf("all down: %d %s", rec.Code, rec.Body)
	}
}

// TestRefusals: what the router itself refuses, each a JSON error, and nothing reaches a CU.
func TestRefusals(t *testing.T) {
	a := newFakeCU(t, "a")
	r := newRouter(t, a)
	r.cfg.MaxBody = 1 << 10
	h := r.Handler()
	cases := []struct {
		method, target, body string
		want                 int
	}{
		{"GET", "/result/m1", "", 400},                                     // no process-id: no way to pick
		{"POST", "/dry-run", "{}", 400},                                    // same
		{"POST", "/dry-run?process-id=p", strings.Repeat("x", 2<<10), 413}, // over MaxBody
		{"GET", "/router", "", 401},                                        // operator route without the token
		{"GET", "/metrics", "", 401},
		{"DELETE", "/state/p", "", 405},
		{"GET", "/nope/nope", "", 404},
	}
	for _, c := range cases {
		rec, _ := get(t, h, c.method, c.target, c.body)
		if rec.Code != c.want {
			t.Errorf("%s %s: %d, want %d (%s)", c.method, c.target, rec.Code, c.want, rec.Body)
		}
		var e struct{ Error string }
		if json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Error == "" {
			t.Errorf("%s %s: body %q is not a JSON error", c.method, c.target, rec.Body)
		}
	}
	if r.units[0].requests.Load() != 0 {
		t.Errorf("%d refused requests reached the CU", r.units[0].requests.Load())
	}
	// The operator token is the router's: with it, the status; and it is never forwarded to a CU.
	req := httptest.NewRequest("GET", "/router", nil)
	req.Header.Set("Authorization", "Bearer tok")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), a.srv.URL) {
		t.Errorf("status with the token: %d %s", rec.Code, rec.Body)
	}
	req = httptest.NewRequest("GET", "/state/p", nil)
	req.Header.Set("Authorization", "Bearer tok")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var got answer
	json.Unmarshal(rec.Body.Bytes(), &got)
	if got.Auth != "" {
		t.Errorf("the router forwarded its operator token to a CU: %q", got.Auth)
	}
}
