package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// statusError is a non-2xx answer before the caller gives it its unit's error type.
type statusError struct {
	status  int
	message string // the "error" field of a JSON body when there is one, otherwise the body text
}

// roundTrip makes one request (no retries: callers own them) and decodes a 2xx JSON answer into out when out is
// not nil. A non-2xx answer comes back as *statusError; anything else is wrapped with unit, method and path.
func roundTrip(ctx context.Context, hc *http.Client, unit, base, method, path string, q url.Values, body []byte, contentType string, out any) ([]byte, http.Header, error) {
	return roundTripWith(ctx, hc, unit, base, method, path, q, nil, body, contentType, out)
}

// roundTripWith is roundTrip with extra request headers.
func roundTripWith(ctx context.Context, hc *http.Client, unit, base, method, path string, q url.Values, hdr http.Header, body []byte, contentType string, out any) ([]byte, http.Header, error) {
	u := base + path
	if len(q) > 0 {
		// url.Values encodes a flag such as "base-layer" as "base-layer=", which the units accept as present.
		u += "?" + q.Encode()
	}
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, r)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %s %s: %w", unit, method, path, err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %s %s: %w", unit, method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %s %s: read body: %w", unit, method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &statusError{status: resp.StatusCode, message: strings.TrimSpace(string(b))}
		var j struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(b, &j) == nil && j.Error != "" {
			e.message = j.Error
		}
		return nil, nil, e
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return nil, nil, fmt.Errorf("%s: %s %s: decode answer: %w", unit, method, path, err)
		}
	}
	return b, resp.Header, nil
}

func (e *statusError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.status, e.message) }
