package su_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aogo/aogo/su"
)

// FuzzPost feeds arbitrary bodies and queries to the write route: the SU must answer 2xx or 4xx, never crash or
// 5xx.
func FuzzPost(f *testing.F) {
	f.Add([]byte("x"), "")
	f.Add(processItem(f, userWallet, suWallet.Address()), "")
	f.Add([]byte{}, "process-id=a&assign=b&exclude=,")
	e := startF(f)
	f.Fuzz(func(t *testing.T, body []byte, query string) {
		req, err := http.NewRequest(http.MethodPost, "/?"+query, bytes.NewReader(body))
		if err != nil {
			return
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("POST /?%s: %d %s", query, rec.Code, rec.Body)
		}
	})
}

// FuzzGet fuzzes the read routes' path and query parsing (GET /{id}?from&to&limit&from-nonce…).
func FuzzGet(f *testing.F) {
	f.Add("abc", "from=1&to=2&limit=3")
	f.Add("abc", "from-nonce=-1&to-nonce=x")
	f.Add("processes", "")
	e := startF(f)
	f.Fuzz(func(t *testing.T, id, query string) {
		req, err := http.NewRequest(http.MethodGet, "/"+id+"?"+query, nil)
		if err != nil {
			return
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("GET /%s?%s: %d %s", id, query, rec.Code, rec.Body)
		}
	})
}

func startF(f *testing.F) http.Handler {
	return start(f, "", su.Config{}).unit.Handler()
}
