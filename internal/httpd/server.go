package httpd

import (
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Limits bound how long a connection may be held and how many may be open. Zero fields take the defaults of
// DefaultLimits.
type Limits struct {
	// ReadHeaderTimeout bounds reading a request's headers (slowloris).
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included (slow bodies). The largest bodies the units
	// take (10 MiB items, 256 MiB gateway bundles) then need at least their size / ReadTimeout of bandwidth.
	ReadTimeout time.Duration
	// WriteTimeout bounds a request from the end of its headers to the end of its answer (clients that never
	// read). It must cover the longest legitimate request: a CU result waits for an evaluation, which the
	// compute limit bounds to seconds, and a CU state download extends its own deadline by its size.
	WriteTimeout time.Duration
	// IdleTimeout bounds a keep-alive connection between requests.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's header block.
	MaxHeaderBytes int
	// MaxConns caps the connections open at once; a connection over the cap is closed as soon as it is
	// accepted, before anything is read from it.
	MaxConns int
}

// DefaultLimits are the limits of every aogo server.
func DefaultLimits() Limits {
	return Limits{
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    64 << 10,
		MaxConns:          2048,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.ReadHeaderTimeout <= 0 {
		l.ReadHeaderTimeout = d.ReadHeaderTimeout
	}
	if l.ReadTimeout <= 0 {
		l.ReadTimeout = d.ReadTimeout
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = d.WriteTimeout
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = d.IdleTimeout
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = d.MaxHeaderBytes
	}
	if l.MaxConns <= 0 {
		l.MaxConns = d.MaxConns
	}
	return l
}

// NewServer returns a server of h with lim's timeouts and connection cap (zero fields: DefaultLimits). log,
// when not nil, receives the server's own error lines (TLS, panics, accept errors) at warning level.
func NewServer(h http.Handler, lim Limits, log *slog.Logger) *http.Server {
	lim = lim.withDefaults()
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: lim.ReadHeaderTimeout,
		ReadTimeout:       lim.ReadTimeout,
		WriteTimeout:      lim.WriteTimeout,
		IdleTimeout:       lim.IdleTimeout,
		MaxHeaderBytes:    lim.MaxHeaderBytes,
		ConnState:         (&connCap{max: lim.MaxConns}).track,
	}
	if log != nil {
		srv.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	}
	return srv
}

// connCap counts open connections through http.Server.ConnState and closes any beyond max the moment it is
// accepted: the server's goroutine for it then ends on its first read, having allocated nothing more. (A
// listener that stops accepting would leave the excess in the kernel's backlog instead; closing answers the
// client at once and keeps the cap a property of the server alone.)
type connCap struct {
	mu   sync.Mutex
	max  int
	open int
}

func (c *connCap) track(conn net.Conn, state http.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch state {
	case http.StateNew:
		c.open++
		if c.open > c.max {
			// Closed here; the server still reports StateClosed for it, which undoes the count.
			conn.Close()
		}
	case http.StateClosed, http.StateHijacked:
		c.open--
	}
}
