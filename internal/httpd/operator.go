package httpd

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// TokenFile is the name of the operator token's file in a unit's (or `aogo dev`'s) data directory.
const TokenFile = "operator-token"

// LoadOrCreateToken returns the operator token stored at path, first writing a new random one (256 bits,
// base64url, file mode 0600) when there is none.
func LoadOrCreateToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		tok := strings.TrimSpace(string(b))
		if tok == "" {
			return "", fmt.Errorf("operator token %s is empty", path)
		}
		return tok, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("operator token: %w", err)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("operator token: %w", err)
	}
	tok := base64.RawURLEncoding.EncodeToString(raw[:])
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("operator token: %w", err)
	}
	// O_EXCL: two processes starting on one data dir agree on the first token written.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return LoadOrCreateToken(path)
	}
	if err != nil {
		return "", fmt.Errorf("operator token: %w", err)
	}
	if _, err := f.WriteString(tok + "\n"); err != nil {
		f.Close()
		return "", fmt.Errorf("operator token: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("operator token: %w", err)
	}
	return tok, nil
}

// Authorized reports whether r carries "Authorization: Bearer <token>". An empty token authorizes nothing.
func Authorized(r *http.Request, token string) bool {
	if token == "" {
		return false
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(token)) == 1
}

// RequireToken serves h only to requests Authorized by token: others get 401 (403 when no token is
// configured: the operator routes are then disabled) with a JSON error. It removes any CORS header an outer
// handler set, so a browser page can never read an operator answer, and answers a CORS preflight without
// granting anything.
func RequireToken(token string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		StripCORS(w)
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if !Authorized(r, token) {
			refuse(w, token)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func refuse(w http.ResponseWriter, token string) {
	status, msg := http.StatusUnauthorized, "operator route: send the operator token as \"Authorization: Bearer <token>\" (see the unit's "+TokenFile+" file)"
	if token == "" {
		status, msg = http.StatusForbidden, "operator routes are disabled: this unit has no operator token"
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="aogo operator"`)
	writeError(w, status, msg)
}

// StripCORS deletes the CORS headers set so far on w.
func StripCORS(w http.ResponseWriter) {
	h := w.Header()
	for k := range h {
		if strings.HasPrefix(k, "Access-Control-") {
			delete(h, k)
		}
	}
}

func writeError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(map[string]string{"error": msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}
