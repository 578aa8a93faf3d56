package weavedrive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/aogo/aogo/gateway"
)

// maxHeader bounds a transaction header or block body read from the gateway.
const maxHeader = 4 << 20

// Gateway is a Source and an Index over an Arweave gateway or node (aogo's embedded gateway, arlocal,
// arweave.net): HEAD /{id} (then /raw/{id}) for sizes, Range GETs for bytes, /tx/{id}, /block/height/{h},
// GraphQL for attestations.
type Gateway struct {
	base string
	hc   *http.Client
	gc   *gateway.Client
}

// NewGateway returns a Gateway at baseURL (nil hc: a client with a 2-minute timeout).
func NewGateway(baseURL string, hc *http.Client) *Gateway {
	if hc == nil {
		hc = &http.Client{Timeout: readTimeout}
	}
	base := strings.TrimRight(baseURL, "/")
	return &Gateway{base: base, hc: hc, gc: gateway.NewClient(base, hc)}
}

func (g *Gateway) do(ctx context.Context, method, path string, hdr map[string]string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, g.base+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept-Encoding", "identity")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return g.hc.Do(req)
}

// Size implements Source: HEAD /{id}, then HEAD /raw/{id}, as the reference drive; then, for nodes whose
// HEAD has no Content-Length (arlocal), GET /{id} with Range bytes=0-0 (Content-Range, or Content-Length
// of a 200), closed without reading the body.
func (g *Gateway) Size(ctx context.Context, id string) (int64, bool, error) {
	var lastErr error
	for _, p := range []string{"/" + id, "/raw/" + id} {
		resp, err := g.do(ctx, http.MethodHead, p, nil)
		if err != nil {
			lastErr = err
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			if n, err := strconv.ParseInt(resp.Header.Get("Content-Length"), 10, 64); err == nil && n >= 0 {
				return n, true, nil
			}
		}
		if resp.StatusCode >= 500 {
			lastErr = fmt.Errorf("HEAD %s: %s", p, resp.Status)
		}
	}
	resp, err := g.do(ctx, http.MethodGet, "/"+id, map[string]string{"Range": "bytes=0-0"})
	if err != nil {
		return 0, false, errors.Join(lastErr, err)
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusPartialContent:
		cr := resp.Header.Get("Content-Range")
		if i := strings.LastIndexByte(cr, '/'); i >= 0 {
			if n, err := strconv.ParseInt(cr[i+1:], 10, 64); err == nil && n >= 0 {
				return n, true, nil
			}
		}
	case http.StatusOK:
		if resp.ContentLength >= 0 {
			return resp.ContentLength, true, nil
		}
	case http.StatusRequestedRangeNotSatisfiable:
		return 0, true, nil // empty data
	}
	if resp.StatusCode >= 500 {
		lastErr = errors.Join(lastErr, fmt.Errorf("GET /%s: %s", id, resp.Status))
	}
	if lastErr != nil {
		return 0, false, lastErr
	}
	return 0, false, nil
}

// ReadRange implements Source: GET /{id} with Range; a server that ignores Range (200) is read past off.
func (g *Gateway) ReadRange(ctx context.Context, id string, off, n int64) ([]byte, error) {
	if n <= 0 {
		return nil, nil
	}
	resp, err := g.do(ctx, http.MethodGet, "/"+id, map[string]string{"Range": fmt.Sprintf("bytes=%d-%d", off, off+n-1)})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body io.Reader = resp.Body
	switch resp.StatusCode {
	case http.StatusPartialContent:
	case http.StatusOK:
		if _, err := io.CopyN(io.Discard, resp.Body, off); err != nil {
			return nil, fmt.Errorf("skip to %d: %w", off, err)
		}
	default:
		return nil, fmt.Errorf("GET /%s: %s", id, resp.Status)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(body, b); err != nil {
		return nil, err
	}
	return b, nil
}

func (g *Gateway) get(ctx context.Context, path string) ([]byte, bool, error) {
	resp, err := g.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, false, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusAccepted: // 202: pending
		return nil, false, nil
	default:
		return nil, false, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxHeader+1))
	if err != nil {
		return nil, false, err
	}
	if len(b) > maxHeader {
		return nil, false, fmt.Errorf("GET %s: more than %d bytes", path, maxHeader)
	}
	return b, true, nil
}

// Tx implements Source: GET /tx/{id}.
func (g *Gateway) Tx(ctx context.Context, id string) ([]byte, bool, error) {
	return g.get(ctx, "/tx/"+id)
}

// Block implements Source: GET /block/height/{h}.
func (g *Gateway) Block(ctx context.Context, h int64) ([]byte, bool, error) {
	return g.get(ctx, "/block/height/"+strconv.FormatInt(h, 10))
}

const earliestQuery = `query Earliest($owners: [String!], $tags: [TagFilter!], $max: Int) {
  transactions(owners: $owners, tags: $tags, block: {min: 0, max: $max}, sort: HEIGHT_ASC, first: 1) {
    edges { node { id block { height } } }
  }
}`

// Earliest implements Index with one GraphQL query.
func (g *Gateway) Earliest(ctx context.Context, q Query, max int64) (int64, bool, error) {
	tags := make([]map[string]any, len(q.Tags))
	for i, t := range q.Tags {
		tags[i] = map[string]any{"name": t.Name, "values": []string{t.Value}}
	}
	var out struct {
		Transactions struct {
			Edges []struct {
				Node struct {
					Block *struct {
						Height int64 `json:"height"`
					} `json:"block"`
				} `json:"node"`
			} `json:"edges"`
		} `json:"transactions"`
	}
	err := g.gc.GraphQL(ctx, earliestQuery, map[string]any{"owners": q.Owners, "tags": tags, "max": max}, &out)
	if err != nil {
		return 0, false, err
	}
	for _, e := range out.Transactions.Edges {
		if e.Node.Block != nil && e.Node.Block.Height <= max {
			return e.Node.Block.Height, true, nil
		}
	}
	return 0, false, nil
}

// Height implements Index.
func (g *Gateway) Height(ctx context.Context) (int64, error) {
	h, err := g.gc.Height(ctx)
	if err != nil {
		return 0, err
	}
	if h > 1<<62 {
		return 0, errors.New("gateway height out of range")
	}
	return int64(h), nil
}

// DefaultCacheBytes bounds a CU's content cache unless configured otherwise.
const DefaultCacheBytes = 1 << 30

// ForGateway is the drive of a CU: admission and bytes from the gateway at baseURL, data blocks in a
// content cache in cacheDir bounded to cacheBytes.
func ForGateway(baseURL string, hc *http.Client, cacheDir string, cacheBytes int64) (*Drive, error) {
	c, err := OpenCache(cacheDir, cacheBytes)
	if err != nil {
		return nil, err
	}
	g := NewGateway(baseURL, hc)
	return New(g, Options{Index: g, Cache: c}), nil
}
