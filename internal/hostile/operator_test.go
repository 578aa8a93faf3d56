package hostile

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/cu"
	"github.com/aogo/aogo/gateway"
	"github.com/aogo/aogo/internal/httpd"
	"github.com/aogo/aogo/mu"
	"github.com/aogo/aogo/store/sqlite"
	"github.com/aogo/aogo/su"
)

type answer struct {
	status int
	cors   string
	body   map[string]any
}

func call(t testing.TB, method, url, token string, hdr ...string) answer {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	req.Header.Set("Origin", "https://evil.example")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, cors: resp.Header.Get("Access-Control-Allow-Origin")}
	if json.Unmarshal(b, &a.body) != nil {
		a.body = map[string]any{"text": string(b)}
	}
	return a
}

// units serves an SU, a CU and an MU with the operator token; it returns their base URLs.
func units(t *testing.T, token string) (suURL, cuURL, muURL string) {
	t.Helper()
	_, suURL = startSU(t, su.Config{OperatorToken: token})
	dir := t.TempDir()
	cuStore, err := sqlite.OpenCU(filepath.Join(dir, "cu.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cuStore.Close() })
	c, err := cu.New(cu.Config{Wallet: newWallet(t), Scheduler: cu.FixedScheduler(client.NewSU(suURL, nil)),
		Modules: gateway.NewClient("http://127.0.0.1:1", nil), Store: cuStore, DataDir: dir, Logger: quiet(), OperatorToken: token})
	if err != nil {
		t.Fatal(err)
	}
	cuURL = serve(t, c.Handler(), httpd.Limits{})
	muStore, err := sqlite.OpenMU(filepath.Join(dir, "mu.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { muStore.Close() })
	m, err := mu.New(mu.Config{Wallet: newWallet(t), Store: muStore, CUs: []string{cuURL}, Logger: quiet(), OperatorToken: token})
	if err != nil {
		t.Fatal(err)
	}
	muURL = serve(t, m.Handler(), httpd.Limits{})
	return suURL, cuURL, muURL
}

// Operator routes answer only the operator token and never carry CORS headers; the protocol routes keep
// "Access-Control-Allow-Origin: *" for aoconnect in browsers.
func TestHostileOperatorRoutes(t *testing.T) {
	suURL, cuURL, muURL := units(t, testToken)
	operator := []struct{ method, url string }{
		{"GET", suURL + "/metrics"}, {"GET", cuURL + "/metrics"}, {"GET", muURL + "/metrics"},
		{"POST", muURL + "/parked/1/retry"},
	}
	for _, r := range operator {
		for _, tok := range []string{"", "wrong-token"} {
			if a := call(t, r.method, r.url, tok); a.status != http.StatusUnauthorized || a.cors != "" || a.body["error"] == nil {
				t.Errorf("%s %s with token %q: %d, CORS %q, %v; want 401, no CORS, a JSON error", r.method, r.url, tok, a.status, a.cors, a.body)
			}
		}
		a := call(t, r.method, r.url, testToken)
		if a.status == http.StatusUnauthorized || a.status == http.StatusForbidden || a.cors != "" {
			t.Errorf("%s %s with the token: %d, CORS %q", r.method, r.url, a.status, a.cors)
		}
		// A browser's preflight for it is granted nothing.
		if a := call(t, "OPTIONS", r.url, "", "Access-Control-Request-Method", r.method, "Access-Control-Request-Headers", "authorization"); a.cors != "" {
			t.Errorf("OPTIONS %s: CORS %q", r.url, a.cors)
		}
	}
	// The MU's status: its name for anyone, the queue and parked tasks for the operator.
	if a := call(t, "GET", muURL+"/", ""); a.status != 200 || a.body["queue"] != nil || a.body["parked"] != nil || a.cors != "*" {
		t.Errorf("MU GET / without the token: %d %v CORS %q; want the unit's name only", a.status, a.body, a.cors)
	}
	if a := call(t, "GET", muURL+"/", testToken); a.status != 200 || a.body["queue"] == nil || a.cors != "" {
		t.Errorf("MU GET / with the token: %d %v CORS %q; want the status without CORS", a.status, a.body, a.cors)
	}
	// Protocol routes keep CORS.
	for _, u := range []string{suURL + "/", cuURL + "/", muURL + "/"} {
		if a := call(t, "GET", u, ""); a.status != 200 || a.cors != "*" {
			t.Errorf("GET %s: %d CORS %q, want 200 with *", u, a.status, a.cors)
		}
	}
	// A unit with no token refuses its operator routes to everyone.
	noSU, _, _ := units(t, "")
	if a := call(t, "GET", noSU+"/metrics", ""); a.status != http.StatusForbidden {
		t.Errorf("metrics of a unit without a token: %d, want 403", a.status)
	}
}

// On a loopback address, a request naming another host (a DNS-rebinding page) is refused.
func TestHostileDNSRebinding(t *testing.T) {
	suURL, _, _ := units(t, testToken)
	req, _ := http.NewRequest("POST", suURL+"/", strings.NewReader("x"))
	req.Host = "evil.example:80"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST with Host evil.example: %d, want 403", resp.StatusCode)
	}
	for _, host := range []string{"localhost", strings.TrimPrefix(suURL, "http://")} {
		req, _ := http.NewRequest("GET", suURL+"/", nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET / with Host %s: %d", host, resp.StatusCode)
		}
	}
}

// Malformed items get a 4xx JSON error and cost the unit nothing: it serves the next request.
func TestHostileMalformedItems(t *testing.T) {
	suURL, _, muURL := units(t, testToken)
	gw := openGateway(t, gateway.Config{})
	gwURL := serve(t, gw, httpd.Limits{})
	w := newWallet(t)
	good := signed(t, w, "", []byte("x"), tag("Data-Protocol", "ao"))
	bad := map[string][]byte{
		"empty":     {},
		"garbage":   []byte("not an item"),
		"truncated": good[:len(good)/2],
		"bad sig":   append(append([]byte{}, good[:10]...), append([]byte{good[10] ^ 1}, good[11:]...)...),
		"huge tags": append(append(append([]byte{}, good[:2]...), bytes.Repeat([]byte{0xff}, 64)...), good[66:]...),
	}
	for name, body := range bad {
		for _, u := range []string{suURL + "/", muURL + "/", gwURL + "/tx"} {
			resp, err := http.Post(u, "application/octet-stream", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			var out map[string]any
			json.NewDecoder(resp.Body).Decode(&out)
			resp.Body.Close()
			if resp.StatusCode < 400 || resp.StatusCode > 499 || out["error"] == nil {
				t.Errorf("%s to %s: %d %v, want 4xx with a JSON error", name, u, resp.StatusCode, out)
			}
		}
	}
	if a := call(t, "GET", suURL+"/", ""); a.status != 200 {
		t.Errorf("SU after malformed items: %d", a.status)
	}
}
