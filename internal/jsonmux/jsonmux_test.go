package jsonmux_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aogo/aogo/internal/jsonmux"
)

func TestErrors(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /thing/{id}", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "handler's own 404", http.StatusNotFound)
	})
	mux.HandleFunc("POST /{$}", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	h := jsonmux.Errors(mux)
	for _, c := range []struct {
		method, path string
		status       int
		json         string // substring of the error, "" = not JSON
	}{
		{"GET", "/nope/a/b", 404, "no route for GET /nope/a/b"},
		{"DELETE", "/thing/x", 405, "method DELETE is not allowed on /thing/x"},
		{"GET", "/", 405, "allowed: POST"},
		{"POST", "/", 200, ""},
		{"GET", "/thing/x", 404, ""}, // a matched route's own answer is left alone
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, nil))
		if rec.Code != c.status {
			t.Errorf("%s %s: status %d, want %d", c.method, c.path, rec.Code, c.status)
		}
		if c.json == "" {
			if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
				t.Errorf("%s %s: a matched route's answer was rewritten: %s", c.method, c.path, rec.Body)
			}
			continue
		}
		var body map[string]string
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: Content-Type %q", c.method, c.path, ct)
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || !strings.Contains(body["error"], c.json) {
			t.Errorf("%s %s: body %q, want a JSON error containing %q", c.method, c.path, rec.Body, c.json)
		}
	}
}
