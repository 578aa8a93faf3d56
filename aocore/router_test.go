package aocore

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/vm"
	"github.com/aogo/aogo/wallet"
)

// fakeUnits answer every call successfully, with a small fixed log: the router's own refusals are what the
// tests see.
type fakeUnits struct {
	posts   int
	pending bool // the SU does not know the pushed message yet (the MU is retrying its write)
}

var fakeID = strings.Repeat("A", 42) + "E" // canonical base64url of 32 bytes

func slotMsg(n string) *client.SUMessage {
	return &client.SUMessage{Assignment: client.SUItem{ID: strings.Repeat("A", 43),
		Tags: []dataitem.Tag{{Name: "Nonce", Value: n}, {Name: "Timestamp", Value: "1700000000000"}, {Name: "Message", Value: fakeID}}}}
}

func (f *fakeUnits) Post(context.Context, []byte) (client.SUPosted, error) {
	f.posts++
	return client.SUPosted{ID: fakeID, Timestamp: 1}, nil
}
func (f *fakeUnits) Message(context.Context, string, string) (*client.SUMessage, error) {
	if f.pending {
		return nil, &client.SUError{Status: 404, Message: "not found"}
	}
	return slotMsg("1"), nil
}
func (f *fakeUnits) Latest(context.Context, string) (*client.SUMessage, error) {
	return slotMsg("3"), nil
}
func (f *fakeUnits) Page(context.Context, string, client.SUQuery) (*client.SUPage, error) {
	p := &client.SUPage{}
	p.Edges = append(p.Edges, client.SUEdge{Node: *slotMsg("1"), Cursor: "1"})
	return p, nil
}
func (f *fakeUnits) Result(context.Context, string, string) (*client.CUResult, error) {
	return &client.CUResult{Body: []byte(`{"Output":"ok","Messages":[]}`)}, nil
}
func (f *fakeUnits) DryRun(context.Context, string, client.DryRunMessage) (vm.Result, error) {
	return vm.Result{}, nil
}
func (f *fakeUnits) Results(context.Context, string, client.CUQuery) (*client.CUPage, error) {
	p := &client.CUPage{}
	p.Edges = append(p.Edges, client.CUEdge{Cursor: "c1", Node: vm.Result{Messages: []json.RawMessage{
		json.RawMessage(`{"Tags":[{"name":"device","value":"patch@1.0"},{"name":"cache","value":{"k":"v","n":{"x":1}}}]}`)}}})
	return p, nil
}

type fakeMU struct{ f *fakeUnits }

func (m fakeMU) Post(context.Context, []byte) (string, error) { m.f.posts++; return fakeID, nil }

func newTestRouter(t testing.TB) (*Router, *fakeUnits) {
	f := &fakeUnits{}
	rt, err := New(Config{SU: f, CU: f, MU: fakeMU{f}, SchedulerAddress: "sched", Logger: nil})
	if err != nil {
		t.Fatal(err)
	}
	return rt, f
}

func signedMessage(t testing.TB, target string) []byte {
	w, err := wallet.Generate(wallet.ED25519)
	if err != nil {
		t.Fatal(err)
	}
	it := &dataitem.Item{Tags: []dataitem.Tag{{Name: "Data-Protocol", Value: "ao"}, {Name: "Type", Value: "Message"}, {Name: "Variant", Value: "ao.N.1"}}, Data: []byte("1984")}
	it.Target, _ = dataitem.DecodeB64(target)
	if err := it.Sign(w); err != nil {
		t.Fatal(err)
	}
	b, err := it.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func signedProcess(t testing.TB, tags ...dataitem.Tag) []byte {
	w, err := wallet.Generate(wallet.ED25519)
	if err != nil {
		t.Fatal(err)
	}
	it := &dataitem.Item{Tags: append([]dataitem.Tag{{Name: "Data-Protocol", Value: "ao"}, {Name: "Type", Value: "Process"},
		{Name: "Variant", Value: "ao.N.1"}, {Name: "Module", Value: fakeID}, {Name: "Scheduler", Value: "sched"}}, tags...), Data: []byte("1984")}
	if err := it.Sign(w); err != nil {
		t.Fatal(err)
	}
	b, err := it.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func serve(rt *Router, method, path, ct string, body []byte) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "http://node"+path, bytes.NewReader(body))
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	w := httptest.NewRecorder()
	rt.ServeHTTP(w, r)
	return w
}

func TestRouterRoutes(t *testing.T) {
	rt, f := newTestRouter(t)
	msg := signedMessage(t, fakeID)
	for _, c := range []struct {
		method, path string
		body         []byte
		status       int
		want         string // in the body
	}{
		{"GET", "/~meta@1.0/info/address", nil, 200, "sched"},
		{"GET", "/~meta@1.0/info", nil, 200, `"process@1.0"`},
		{"POST", "/" + fakeID + "~process@1.0/push", msg, 200, `"slot":1`},
		{"POST", "/" + fakeID + "/~push@1.0/push", msg, 200, `"slot":1`},
		{"POST", "/" + fakeID + "~process@1.0/schedule", msg, 200, `"slot":1`},
		{"POST", "/" + fakeID + "/~scheduler@1.0/schedule", msg, 200, `"slot":1`},
		{"GET", "/~scheduler@1.0/schedule?target=" + fakeID + "&from=1&to=1", nil, 200, `"edges"`},
		{"GET", "/" + fakeID + "/slot/current", nil, 200, "3"},
		{"GET", "/" + fakeID + "~process@1.0/slot", nil, 200, "3"},
		{"POST", "/" + fakeID + "~process@1.0/compute/results=1", msg, 200, `"raw":{"Output":"ok"`},
		{"GET", "/" + fakeID + "~process@1.0/compute&slot=1", nil, 200, `"raw":{"Output":"ok"`},
		{"GET", "/" + fakeID + "~process@1.0/compute/" + fakeID, nil, 200, `"raw":{"Output":"ok"`},
		{"GET", "/" + fakeID + "~process@1.0/now", nil, 200, `"slot":3`},
		{"POST", "/" + fakeID + "~process@1.0/as=execution/compute&Action=Info", msg, 200, `"raw"`},
		{"GET", "/" + fakeID + "~process@1.0/now/cache/k", nil, 200, "v"},
		{"GET", "/" + fakeID + "/compute/cache/N/x", nil, 200, "1"},
		{"GET", "/" + fakeID + "/compute/cache/n", nil, 200, `{"x":1}`},
		{"GET", "/" + fakeID + "/now/cache/zz", nil, 404, "no key cache/zz"},
		{"GET", "/" + fakeID + "~process@1.0/push", nil, 400, "needs a signed ans104@1.0 item"},
		{"GET", "/" + fakeID + "~wasm64@1.0/init", nil, 404, "device wasm64@1.0 is not supported"},
		{"GET", "/" + fakeID + "~process@1.0/snapshot", nil, 404, "key snapshot is not supported"},
		{"GET", "/" + fakeID + "~process@1.0/compute/results=x", nil, 400, "neither a slot number nor a message id"},
		{"GET", "/", nil, 404, "empty AO-Core path"},
		{"POST", "/push", signedProcess(t, dataitem.Tag{Name: "device", Value: "process@1.0"}, dataitem.Tag{Name: "execution-device", Value: "genesis-wasm@1.0"}), 200, `"process"`},
		{"POST", "/push", signedProcess(t, dataitem.Tag{Name: "Execution-Device", Value: "lua@5.3a"}), 400, "execution-device lua@5.3a is not supported"},
		{"POST", "/push", signedProcess(t, dataitem.Tag{Name: "device", Value: "process@2.0"}), 400, "device process@2.0 is not supported"},
	} {
		ct := ""
		if c.body != nil {
			ct = "application/ans104"
		}
		w := serve(rt, c.method, c.path, ct, c.body)
		if w.Code != c.status || !strings.Contains(w.Body.String(), c.want) {
			t.Errorf("%s %s: %d %s, want %d with %q", c.method, c.path, w.Code, w.Body.String(), c.status, c.want)
		}
	}
	if f.posts != 5 {
		t.Errorf("%d posts to the units, want 5 (2 pushes, 2 schedules, 1 spawn)", f.posts)
	}
}

// TestPushPending: a push the MU took but could not schedule yet is answered 202 with its id, not an error.
func TestPushPending(t *testing.T) {
	f := &fakeUnits{pending: true}
	rt, err := New(Config{SU: f, CU: f, MU: fakeMU{f}, SlotWait: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	w := serve(rt, "POST", "/"+fakeID+"~process@1.0/push", "application/ans104", signedMessage(t, fakeID))
	if w.Code != 202 || w.Header().Get("id") != fakeID || strings.Contains(w.Body.String(), "slot") {
		t.Fatalf("%d %v %s", w.Code, w.Header(), w.Body.String())
	}
}

// TestBodyBound: a body over Config.MaxBody is refused 413, declared or not, and reaches no unit.
func TestBodyBound(t *testing.T) {
	f := &fakeUnits{}
	rt, err := New(Config{SU: f, CU: f, MU: fakeMU{f}, MaxBody: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, declared := range []bool{true, false} {
		r := httptest.NewRequest("POST", "http://node/"+fakeID+"~process@1.0/push", io.MultiReader(bytes.NewReader(make([]byte, 1001))))
		if declared {
			r.ContentLength = 1001
		} else {
			r.ContentLength = -1
		}
		r.Header.Set("Content-Type", "application/ans104")
		w := httptest.NewRecorder()
		rt.ServeHTTP(w, r)
		if w.Code != 413 || !strings.Contains(w.Body.String(), "over the 1000-byte limit") || f.posts != 0 {
			t.Errorf("declared %v: %d %s", declared, w.Code, w.Body.String())
		}
	}
}

func TestPatchMerge(t *testing.T) {
	st := map[string]any{}
	for _, m := range []string{
		`{"Tags":[{"name":"Device","value":"patch@1.0"},{"name":"Cache","value":{"A":"1","m":{"x":"1"}}},{"name":"Reference","value":"1"}]}`,
		`{"Target":"abc","Tags":[{"name":"device","value":"patch@1.0"},{"name":"cache","value":{"a":"sent, not merged"}}]}`,
		`{"Tags":[{"name":"Action","value":"Hello"}]}`,
		`{"device":"patch@1.0","cache":{"m":{"y":2}}}`,
	} {
		if p, ok := patchOf(json.RawMessage(m)); ok {
			deepMerge(st, p)
		}
	}
	b, _ := json.Marshal(st)
	if string(b) != `{"cache":{"a":"1","m":{"x":"1","y":2}}}` {
		t.Fatalf("merged state %s", b)
	}
}

// FuzzRouter: any method, path, headers and body get an answer: never a panic, JSON errors with a 4xx (or
// 501/507), and nothing posted to a unit unless the body was a verifying item.
func FuzzRouter(f *testing.F) {
	msg := signedMessage(f, fakeID)
	for _, p := range []string{"/~meta@1.0/info", "/" + fakeID + "~process@1.0/push", "/" + fakeID + "/now/cache/k",
		"/" + fakeID + "~process@1.0/as=execution/compute&A=B", "/~scheduler@1.0/schedule?target=" + fakeID, "/push"} {
		f.Add("POST", p, "application/ans104", msg)
		f.Add("GET", p, "", []byte(nil))
	}
	f.Fuzz(func(t *testing.T, method, path, ct string, body []byte) {
		switch method {
		case "GET", "POST", "PUT", "DELETE", "OPTIONS":
		default:
			method = "POST"
		}
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		rt, fu := newTestRouter(t)
		r, err := http.NewRequest(method, "http://node"+path, bytes.NewReader(body))
		if err != nil {
			return // not a request net/http would deliver
		}
		r.Header.Set("Content-Type", ct)
		w := httptest.NewRecorder()
		rt.ServeHTTP(w, r)
		res := w.Result()
		b, _ := io.ReadAll(res.Body)
		switch {
		case res.StatusCode == 200 || res.StatusCode == 204:
		case res.StatusCode >= 400 && res.StatusCode < 500, res.StatusCode == 501, res.StatusCode == 507:
			var e map[string]string
			if json.Unmarshal(b, &e) != nil || e["error"] == "" {
				t.Fatalf("%s %s: %d without a JSON error: %q", method, path, res.StatusCode, b)
			}
		default:
			t.Fatalf("%s %s: status %d: %s", method, path, res.StatusCode, b)
		}
		if fu.posts > 0 {
			// (msg differs between fuzz workers: each makes its own wallet; what matters is that it verifies)
			it, err := dataitem.Decode(body)
			if err != nil || it.Verify() != nil {
				t.Fatalf("%s %s: a body that is not a verifying item reached a unit (%d bytes)", method, path, len(body))
			}
		}
	})
}

func TestRecentSlotsBounded(t *testing.T) {
	var s recentSlots
	for i := range int64(maxRecentSlots + 10) {
		s.put("p", i, "m"+strconv.FormatInt(i, 10))
	}
	if _, ok := s.get("p", 5); ok {
		t.Error("the oldest entries should be forgotten")
	}
	if id, ok := s.get("p", maxRecentSlots+9); !ok || id != "m"+strconv.Itoa(maxRecentSlots+9) {
		t.Errorf("newest: %q %v", id, ok)
	}
	if len(s.ids) != maxRecentSlots {
		t.Errorf("%d entries kept", len(s.ids))
	}
}
