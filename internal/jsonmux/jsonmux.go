// Package jsonmux gives an http.ServeMux's own refusals the units' error shape: a request no route matches is
// answered 404 (or 405 with Allow, when the path has routes for other methods) with a JSON body
// {"error": "..."}, like every other error of every unit, instead of the mux's plain text.
package jsonmux

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// Errors serves mux, rewriting the body of the 404 and 405 answers the mux itself gives when no pattern
// matches. Answers of matched routes pass untouched, whatever their status.
func Errors(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(&unmatched{ResponseWriter: w, r: r}, r)
	})
}

// unmatched replaces the mux's plain-text 404/405 body with JSON; other answers (the mux's redirects of
// unclean paths) pass through.
type unmatched struct {
	http.ResponseWriter
	r       *http.Request
	swallow bool
}

func (u *unmatched) WriteHeader(code int) {
	var msg string
	switch code {
	case http.StatusNotFound:
		msg = fmt.Sprintf("no route for %s %s", u.r.Method, u.r.URL.Path)
	case http.StatusMethodNotAllowed:
		msg = fmt.Sprintf("method %s is not allowed on %s (allowed: %s)", u.r.Method, u.r.URL.Path, u.Header().Get("Allow"))
	default:
		u.ResponseWriter.WriteHeader(code)
		return
	}
	body, _ := json.Marshal(map[string]string{"error": msg})
	h := u.Header()
	h.Set("Content-Type", "application/json")
	h.Del("X-Content-Type-Options")
	h.Del("Content-Length")
	u.ResponseWriter.WriteHeader(code)
	if u.r.Method != http.MethodHead {
		u.ResponseWriter.Write(body)
	}
	u.swallow = true
}

func (u *unmatched) Write(b []byte) (int, error) {
	if u.swallow {
		return len(b), nil // the mux's plain-text body
	}
	return u.ResponseWriter.Write(b)
}
