package devnet_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aogo/aogo/devnet"
	"github.com/aogo/aogo/vm"
)

// TestBadRequests: garbage sent to any unit gets a 4xx with a JSON error, over TCP and in-process alike, and
// the network keeps serving.
func TestBadRequests(t *testing.T) {
	n := startNet(t, t.TempDir())
	for _, hc := range []*http.Client{http.DefaultClient, n.HTTPClient()} {
		for _, tc := range []struct {
			method, path, body string
			status             int
		}{
			{"POST", "/mu", "not an item", 400},
			{"POST", "/mu?process-id=x", "", 400},
			{"POST", "/su", "\x01\x00garbage", 400},
			{"GET", "/cu/result/abc", "", 400},
			{"POST", "/cu/dry-run?process-id=" + strings.Repeat("A", 43), "{", 404}, // unknown process first
			{"POST", "/gateway/tx", "nope", 400},
		} {
			req, _ := http.NewRequest(tc.method, n.URL()+tc.path, strings.NewReader(tc.body))
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", tc.method, tc.path, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var e struct {
				Error string `json:"error"`
			}
			if resp.StatusCode != tc.status || json.Unmarshal(b, &e) != nil || e.Error == "" {
				t.Errorf("%s %s: %d %s, want %d with a JSON error", tc.method, tc.path, resp.StatusCode, b, tc.status)
			}
		}
		resp, err := hc.Get(n.URL() + "/nowhere")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET /nowhere: %d", resp.StatusCode)
		}
	}
	if _, err := devnet.Dial(context.Background(), n.URL(), nil, nil); err != nil {
		t.Fatalf("network no longer answers: %v", err)
	}
}

func FuzzOutputText(f *testing.F) {
	for _, s := range []string{`"text"`, `{"data":"x","prompt":"> "}`, `{"data":{"output":"o"}}`, `{"data":{"output":3}}`, `null`, `{"data":7}`, `[1,2]`, `{`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, out string) {
		_ = devnet.OutputText(vm.Result{Output: json.RawMessage(out)})
	})
}

func TestOutputText(t *testing.T) {
	for in, want := range map[string]string{
		`"text"`:                        "text",
		`{"data":"x","prompt":"> "}`:    "x",
		`{"data":{"output":"old aos"}}`: "old aos",
		`{"data":{"output":3}}`:         "3",
		`null`:                          "",
		`{"data":7}`:                    "7",
		`{"print":true}`:                `{"print":true}`,
	} {
		if got := devnet.OutputText(vm.Result{Output: json.RawMessage(in)}); got != want {
			t.Errorf("OutputText(%s) = %q, want %q", in, got, want)
		}
	}
}
