package httpd

import (
	"net"
	"net/http"
	"strings"
)

// CheckHost guards a server listening on a loopback address against DNS rebinding: a web page on
// evil.example whose name is made to resolve to 127.0.0.1 reaches the server as a same-origin request, but its
// Host header still names evil.example. Requests whose Host is not a loopback name (localhost, *.localhost,
// 127.0.0.0/8, ::1) get 403. A server on any other address is reached by whatever names its operator gave it,
// so h is returned as it is.
func CheckHost(h http.Handler, addr net.Addr) http.Handler {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || !tcp.IP.IsLoopback() {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !LoopbackHost(r.Host) {
			StripCORS(w)
			writeError(w, http.StatusForbidden, "host "+quote(r.Host)+" is not a loopback name: this server answers only localhost or 127.0.0.1 (DNS rebinding guard)")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// LoopbackHost reports whether a Host header (with or without a port) names the loopback interface.
func LoopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

func quote(s string) string {
	if len(s) > 100 {
		s = s[:100] + "…"
	}
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}
