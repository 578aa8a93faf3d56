package devnet

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// localTransport answers requests addressed to the network's own host by calling its handler directly, and
// sends everything else (an external gateway) over the network. The units of a dev network talk to each other
// through their real public URLs, so what they publish (the Scheduler-Location) is what outside clients use,
// but a call between two units costs a function call instead of a loopback TCP round trip.
type localTransport struct {
	host string
	h    http.Handler
	next http.RoundTripper
}

func (t *localTransport) RoundTrip(req *http.Request) (resp *http.Response, err error) {
	if req.URL.Host != t.host || req.URL.Scheme != "http" {
		return t.next.RoundTrip(req)
	}
	sreq := req.Clone(req.Context())
	sreq.URL = &url.URL{Path: req.URL.Path, RawPath: req.URL.RawPath, RawQuery: req.URL.RawQuery}
	sreq.RequestURI = req.URL.RequestURI()
	sreq.Host = req.URL.Host
	sreq.RemoteAddr = "127.0.0.1:0"
	sreq.Proto, sreq.ProtoMajor, sreq.ProtoMinor = "HTTP/1.1", 1, 1
	if sreq.Body == nil {
		sreq.Body = http.NoBody
	}
	defer sreq.Body.Close()
	rec := &recorder{header: http.Header{}}
	defer func() {
		// A handler that panics fails this request only, as net/http's server would make it.
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				resp, err = nil, fmt.Errorf("%s %s: handler aborted", req.Method, req.URL)
				return
			}
			resp, err = nil, fmt.Errorf("%s %s: handler panic: %v", req.Method, req.URL, p)
		}
	}()
	t.h.ServeHTTP(rec, sreq)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	body := rec.body.Bytes()
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", rec.status, http.StatusText(rec.status)),
		StatusCode:    rec.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        rec.header,
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}, nil
}

// recorder is the http.ResponseWriter of an in-process request: it keeps the whole response in memory (the
// units exchange small JSON bodies and items of at most a few MiB).
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

func (r *recorder) Flush() {}
