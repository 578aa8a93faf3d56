package aocore

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/vm"
)

// dryRunUnits records the dry-runs it is asked.
type dryRunUnits struct {
	*fakeUnits
	dry []client.DryRunMessage
}

func (d *dryRunUnits) DryRun(_ context.Context, _ string, m client.DryRunMessage) (vm.Result, error) {
	d.dry = append(d.dry, m)
	return vm.Result{Output: json.RawMessage(`"counted"`)}, nil
}

// fakeSigner marks the answers it signs; fakeVerifier takes any signature as signer's.
type fakeSigner struct{}

func (fakeSigner) Sign(h http.Header, _ int, _ []byte) error {
	h.Set("Signature", "signed")
	return nil
}

type fakeVerifier struct{ signer string }

func (v fakeVerifier) Verify(*http.Request, []byte) (string, error) { return v.signer, nil }

func newWaoRouter(t *testing.T, cfg Config) (*Router, *dryRunUnits) {
	d := &dryRunUnits{fakeUnits: &fakeUnits{}}
	cfg.SU, cfg.CU, cfg.MU, cfg.SchedulerAddress = d, d, fakeMU{d.fakeUnits}, "sched"
	rt, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return rt, d
}

func serveHeaders(rt *Router, method, path string, h map[string]string, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "http://node"+path, strings.NewReader(body))
	for k, v := range h {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	rt.ServeHTTP(w, r)
	return w
}

// TestRelayDryRun: wao's HB.dryrun, a POST to ~relay@1.0/call naming the node's CU, runs the CU dry-run the
// relay-body describes; a verified signer is the owner, whatever the body claims.
func TestRelayDryRun(t *testing.T) {
	for _, signer := range []string{"", "verified-signer"} {
		cfg := Config{Info: map[string]string{"cu": "http://node/cu"}}
		h := map[string]string{"relay-path": "http://node/cu/dry-run?process-id=" + fakeID,
			"relay-body": `{"Tags":[{"name":"Action","value":"Count"}],"Owner":"claimed"}`}
		if signer != "" {
			cfg.Verifier = fakeVerifier{signer}
			h["Signature"], h["Signature-Input"] = "x", "y"
		}
		rt, d := newWaoRouter(t, cfg)
		w := serveHeaders(rt, "POST", "/~relay@1.0/call", h, "")
		if w.Code != 200 || !strings.Contains(w.Body.String(), `"Output":"counted"`) || len(d.dry) != 1 {
			t.Fatalf("signer %q: %d %s (%d dry-runs)", signer, w.Code, w.Body, len(d.dry))
		}
		m := d.dry[0]
		want := "claimed"
		if signer != "" {
			want = signer
		}
		if m.Owner != want || m.Target != fakeID || len(m.Tags) != 1 || m.Tags[0].Value != "Count" {
			t.Errorf("signer %q: dry-run message %+v", signer, m)
		}
	}
}

// TestRelayRefusals: the relay serves the node's own CU's dry-run and results only, and nothing else.
func TestRelayRefusals(t *testing.T) {
	rt, d := newWaoRouter(t, Config{RelayCU: "http://node/cu/"})
	for _, tc := range []struct {
		name, method, relayPath, body string
		status                        int
		says                          string
	}{
		{"another host", "POST", "http://169.254.169.254/latest", "", 403, "only to its own CU"},
		{"a sibling path", "POST", "http://node/cuevil/dry-run?process-id=" + fakeID, "", 403, "only to its own CU"},
		{"another CU route", "GET", "http://node/cu/state/" + fakeID, "", 403, "is not relayed"},
		{"dot-dot", "GET", "http://node/cu/../su/" + fakeID, "", 403, "is not relayed"},
		{"results of no process", "GET", "http://node/cu/results/x", "", 403, "is not relayed"},
		{"GET dry-run", "GET", "http://node/cu/dry-run?process-id=" + fakeID, "", 405, "dry-run is POST"},
		{"POST results", "POST", "http://node/cu/results/" + fakeID, "", 405, "results are GET"},
		{"dry-run of no process", "POST", "http://node/cu/dry-run?process-id=x", "", 400, "not a process id"},
		{"bad relay-body", "POST", "http://node/cu/dry-run?process-id=" + fakeID, "{", 400, "relay-body is not a dry-run message"},
		{"bad limit", "GET", "http://node/cu/results/" + fakeID + "?limit=-1", "", 400, "limit"},
		{"no relay-path", "GET", "", "", 400, "needs a relay-path"},
	} {
		h := map[string]string{"relay-body": tc.body}
		if tc.relayPath != "" {
			h["relay-path"] = tc.relayPath
		}
		w := serveHeaders(rt, tc.method, "/~relay@1.0/call", h, "")
		if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.says) {
			t.Errorf("%s: %d %s, want %d %q", tc.name, w.Code, w.Body, tc.status, tc.says)
		}
	}
	if len(d.dry) != 0 {
		t.Errorf("%d dry-runs ran", len(d.dry))
	}
	if w := serveHeaders(rt, "GET", "/~relay@1.0/call", map[string]string{"relay-path": "http://node/cu/results/" + fakeID + "?limit=5&sort=DESC"}, ""); w.Code != 200 ||
		!strings.Contains(w.Body.String(), `"cursor":"c1"`) {
		t.Errorf("results: %d %s", w.Code, w.Body)
	}
	// HyperBEAM's own key is relay-method (wao sends method): a GET request relaying a POST dry-run.
	if w := serveHeaders(rt, "GET", "/~relay@1.0/call", map[string]string{"relay-method": "POST",
		"relay-path": "http://node/cu/dry-run?process-id=" + fakeID}, ""); w.Code != 200 || len(d.dry) != 1 {
		t.Errorf("relay-method POST: %d %s", w.Code, w.Body)
	}
	// Without a CU URL there is nothing to relay to.
	rt, _ = newWaoRouter(t, Config{})
	if w := serveHeaders(rt, "POST", "/~relay@1.0/call", map[string]string{"relay-path": "/dry-run?process-id=" + fakeID}, ""); w.Code != 403 {
		t.Errorf("no RelayCU: %d %s", w.Code, w.Body)
	}
}

// TestJSONSerialize: …/~json@1.0/serialize answers JSON (slot as HyperBEAM's slot message, a result with the
// legacy CU's answer at results/json/body), unsigned; a bare GET is answered signed, its text as ao-result body.
func TestJSONSerialize(t *testing.T) {
	rt, _ := newWaoRouter(t, Config{Signer: fakeSigner{}})
	w := serve(rt, "GET", "/"+fakeID+"/slot/~json@1.0/serialize", "", nil)
	var slot struct {
		Process string `json:"process"`
		Current int64  `json:"current"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &slot); w.Code != 200 || err != nil || slot.Current != 3 || slot.Process != fakeID || w.Header().Get("Signature") != "" {
		t.Errorf("slot: %d %s %v", w.Code, w.Body, w.Header())
	}
	for _, path := range []string{"/now", "/compute/~json@1.0/serialize?slot=3", "/compute&slot=3"} {
		if path == "/now" {
			path = "/now/~json@1.0/serialize"
		}
		w = serve(rt, "GET", "/"+fakeID+path, "", nil)
		var res struct {
			Results struct {
				JSON struct {
					Body string `json:"body"`
				} `json:"json"`
			} `json:"results"`
			AtSlot *int64 `json:"at-slot"`
		}
		serialized := strings.Contains(path, "serialize")
		if err := json.Unmarshal(w.Body.Bytes(), &res); w.Code != 200 || err != nil ||
			(res.Results.JSON.Body == `{"Output":"ok","Messages":[]}`) != serialized || (res.AtSlot != nil && *res.AtSlot == 3) != serialized ||
			(w.Header().Get("Signature") == "") != serialized {
			t.Errorf("%s: %d %s %v", path, w.Code, w.Body, w.Header())
		}
	}
	w = serve(rt, "GET", "/~meta@1.0/info/address", "", nil)
	if w.Code != 200 || w.Body.String() != "sched" || w.Header().Get("Signature") != "signed" || w.Header().Get("Ao-Result") != "body" {
		t.Errorf("address: %d %s %v", w.Code, w.Body, w.Header())
	}
	// A POST with an ans104 item is answered as asked (unsigned here), a GET with its own accept-codec likewise.
	w = serve(rt, "POST", "/"+fakeID+"~process@1.0/push", "application/ans104", signedMessage(t, fakeID))
	if w.Code != 200 || w.Header().Get("Signature") != "" {
		t.Errorf("push: %d %s %v", w.Code, w.Body, w.Header())
	}
	if w := serve(rt, "GET", "/~json@1.0/serialize", "", nil); w.Code != 404 || !strings.Contains(w.Body.String(), "needs a path") {
		t.Errorf("bare serialize: %d %s", w.Code, w.Body)
	}
}

// TestSpawnBySchedule: POST /~process@1.0/schedule with a Process item schedules it (HyperBEAM's spawn); an
// httpsig@1.0-committed body, which is what wao's spawn and schedule send, is refused 415 before any unit.
func TestSpawnBySchedule(t *testing.T) {
	rt, d := newWaoRouter(t, Config{Verifier: fakeVerifier{"someone"}})
	w := serve(rt, "POST", "/~process@1.0/schedule", "application/ans104", signedProcess(t))
	if w.Code != 200 || d.posts != 1 || w.Header().Get("process") == "" {
		t.Fatalf("spawn by schedule: %d %s (%d posts)", w.Code, w.Body, d.posts)
	}
	for _, path := range []string{"/~process@1.0/schedule", "/" + fakeID + "/schedule", "/" + fakeID + "~process@1.0/push", "/push"} {
		w := serveHeaders(rt, "POST", path, map[string]string{"Signature": "x", "Signature-Input": "y",
			"Content-Type": `multipart/form-data; boundary="b"`}, "--b\r\ncontent-disposition: inline\r\n\r\n--b--\r\n")
		if w.Code != http.StatusUnsupportedMediaType || !strings.Contains(w.Body.String(), "httpsig@1.0-committed message") {
			t.Errorf("%s: %d %s", path, w.Code, w.Body)
		}
	}
	if d.posts != 1 {
		t.Errorf("%d posts, want the spawn's 1", d.posts)
	}
}

// stateUnits serve a memory.
type stateUnits struct {
	*dryRunUnits
	mem []byte
}

func (s stateUnits) State(context.Context, string) ([]byte, client.StateInfo, error) {
	return s.mem, client.StateInfo{Ordinate: "3", Timestamp: 1700000000000, BlockHeight: 7}, nil
}

// TestSnapshot: ~process@1.0/snapshot answers the CU's memory of the process with its slot, bounded.
func TestSnapshot(t *testing.T) {
	rt, d := newWaoRouter(t, Config{MaxSnapshot: 8})
	rt.cfg.CU = stateUnits{d, []byte("\x00asm\x01mem")}
	w := serve(rt, "GET", "/"+fakeID+"~process@1.0/snapshot", "", nil)
	if w.Code != 200 || w.Body.String() != "\x00asm\x01mem" || w.Header().Get("Content-Type") != "application/octet-stream" ||
		w.Header().Get("slot") != "3" || w.Header().Get("block-height") != "7" || w.Header().Get("process") != fakeID {
		t.Errorf("snapshot: %d %q %v", w.Code, w.Body, w.Header())
	}
	rt.cfg.CU = stateUnits{d, make([]byte, 9)}
	if w := serve(rt, "GET", "/"+fakeID+"/snapshot", "", nil); w.Code != 413 || !strings.Contains(w.Body.String(), "9 bytes") {
		t.Errorf("big snapshot: %d %s", w.Code, w.Body)
	}
	for path, want := range map[string]int{"/snapshot/x": 404, "/snapshot/~json@1.0/serialize": 406} {
		if w := serve(rt, "GET", "/"+fakeID+path, "", nil); w.Code != want {
			t.Errorf("%s: %d %s, want %d", path, w.Code, w.Body, want)
		}
	}
	rt.cfg.CU = d // a CU without state
	if w := serve(rt, "GET", "/"+fakeID+"/snapshot", "", nil); w.Code != 501 {
		t.Errorf("no state: %d %s", w.Code, w.Body)
	}
}

// TestSubPathValues: k=(/path) is resolved first, as a read, and its value answer becomes k's value; a (…)
// segment, a sub-path answering a message and one that would write are refused, naming them.
func TestSubPathValues(t *testing.T) {
	rt, d := newWaoRouter(t, Config{})
	rt.cfg.CU = stateUnits{d, []byte("mem")}
	w := serve(rt, "GET", "/"+fakeID+"/compute&slot=(/"+fakeID+"/slot/current)", "", nil)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"slot":3`) {
		t.Errorf("compute&slot=(…/slot/current): %d %s", w.Code, w.Body)
	}
	w = serve(rt, "GET", "/"+fakeID+"/compute&slot=(/"+fakeID+"/slot/current&x=(/~meta@1.0/info/address))", "", nil)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"slot":3`) {
		t.Errorf("nested: %d %s", w.Code, w.Body)
	}
	for path, want := range map[string]struct {
		status int
		says   string
	}{
		"/" + fakeID + "/compute&slot=(/~meta@1.0/info)":          {400, "slot=(~meta@1.0/info) resolves to a message"},
		"/" + fakeID + "/compute&slot=(/" + fakeID + "/snapshot)": {400, "resolves to a message"},
		"/" + fakeID + "/compute&slot=(/~wao@1.0/x)":              {404, "slot=(~wao@1.0/x): device wao@1.0 is not supported"},
		"/" + fakeID + "/now&k=(/push)":                           {400, "k=(push): push needs a signed ans104@1.0 item"},
		"/(/~meta@1.0/info)/address":                              {400, "segment (a sub-resolution whose result becomes the base message)"},
	} {
		if w := serve(rt, "GET", path, "", nil); w.Code != want.status || !strings.Contains(w.Body.String(), want.says) {
			t.Errorf("%s: %d %s, want %d %q", path, w.Code, w.Body, want.status, want.says)
		}
	}
	if d.posts != 0 {
		t.Errorf("%d posts", d.posts)
	}
}
