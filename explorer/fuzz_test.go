package explorer_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"
)

// FuzzQueries: whatever a client puts in the search and paging parameters, the API answers 200 or 400 with
// JSON, never 500 and never a crash.
func FuzzQueries(f *testing.F) {
	fx := newFixture(f)
	pid := fx.spawn()
	fx.send(pid, nil, "Action", "Ping")
	for _, s := range []string{"Action=Ping", pid, "=", "a=b=c", "0x0123456789abcdef0123456789abcdef01234567", "", "\x00", "Name= spaced "} {
		f.Add(s, "10", "")
	}
	f.Add("Action=Ping", "-1", "9999999999999999999999")
	f.Fuzz(func(t *testing.T, q, limit, before string) {
		for _, path := range []string{
			"/api/search?" + url.Values{"q": {q}, "limit": {limit}, "before": {before}}.Encode(),
			"/api/processes/" + pid + "/messages?" + url.Values{"limit": {limit}, "before": {before}}.Encode(),
			"/api/processes?" + url.Values{"limit": {limit}, "before": {before}}.Encode(),
		} {
			resp, err := http.Get(fx.srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 && resp.StatusCode != 400 {
				t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
			}
			if !json.Valid(body) {
				t.Fatalf("%s: not JSON: %s", path, body)
			}
		}
	})
}
