package su

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

// Gateway is a plain net/http client of an Arweave-like gateway, covering what the SU needs: POST /tx
// (Uploader), GET /info (HeightSource), and HEAD /raw/{id}, GET /tx/{id}/status (MessageSource).
type Gateway struct {
	base string
	hc   *http.Client
}

var (
	_ Uploader      = (*Gateway)(nil)
	_ HeightSource  = (*Gateway)(nil)
	_ MessageSource = (*Gateway)(nil)
)

// NewGateway returns a client of the gateway at baseURL. hc nil means http.DefaultClient.
func NewGateway(baseURL string, hc *http.Client) *Gateway {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Gateway{base: strings.TrimRight(baseURL, "/"), hc: hc}
}

// Upload posts an item, or a binary bundle of items, to POST /tx.
func (g *Gateway) Upload(ctx context.Context, raw []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.base+"/tx", bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("gateway upload: %w", err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	_, err = g.do(req, "upload")
	return err
}

// Height returns the current block height (GET /info).
func (g *Gateway) Height(ctx context.Context) (uint64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.base+"/info", nil)
	if err != nil {
		return 0, fmt.Errorf("gateway info: %w", err)
	}
	b, err := g.do(req, "info")
	if err != nil {
		return 0, err
	}
	var info struct {
		Height json.Number `json:"height"`
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return 0, fmt.Errorf("gateway info: decode: %w", err)
	}
	h, err := info.Height.Int64()
	if err != nil || h < 0 {
		return 0, fmt.Errorf("gateway info: bad height %q", info.Height)
	}
	return uint64(h), nil
}

// Exists reports whether the gateway has id (HEAD /raw/{id}).
func (g *Gateway) Exists(ctx context.Context, id string) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, g.base+"/raw/"+url.PathEscape(id), nil)
	if err != nil {
		return false, fmt.Errorf("gateway raw: %w", err)
	}
	resp, err := g.hc.Do(req)
	if err != nil {
		return false, fmt.Errorf("gateway raw %s: %w", id, err)
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return false, nil
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return true, nil
	}
	return false, fmt.Errorf("gateway raw %s: HTTP %d", id, resp.StatusCode)
}

// Confirmations returns number_of_confirmations of base-layer transaction id (GET /tx/{id}/status).
func (g *Gateway) Confirmations(ctx context.Context, id string) (uint64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.base+"/tx/"+url.PathEscape(id)+"/status", nil)
	if err != nil {
		return 0, fmt.Errorf("gateway tx status: %w", err)
	}
	b, err := g.do(req, "tx status")
	if err != nil {
		return 0, err
	}
	var st struct {
		Confirmations uint64 `json:"number_of_confirmations"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return 0, fmt.Errorf("gateway tx status %s: decode: %w", id, err)
	}
	return st.Confirmations, nil
}

// gatewayStatusError is a non-2xx answer from the gateway.
type gatewayStatusError struct {
	op     string
	status int
	body   string
}

func (e *gatewayStatusError) Error() string {
	return fmt.Sprintf("gateway %s: HTTP %d: %s", e.op, e.status, e.body)
}

func (g *Gateway) do(req *http.Request, op string) ([]byte, error) {
	resp, err := g.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("gateway %s: %w", op, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("gateway %s: read: %w", op, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &gatewayStatusError{op: op, status: resp.StatusCode, body: strings.TrimSpace(string(b))}
	}
	return b, nil
}
