package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aogo/aogo/dataitem"
)

// Client talks to an Arweave gateway: aogo's embedded one or a public one (arweave.net, …). It does no retries;
// callers that need them own them.
//
// The client learns once (GET /info) whether the peer is aogo's embedded gateway, which takes ANS-104 items at
// POST /tx, or an Arweave node, arlocal or a public gateway, which take only base-layer transactions: to those
// it uploads each item or bundle as the data of a transaction signed by Signer (see Upload), and it reads item
// data at GET /{id}.
type Client struct {
	base string
	hc   *http.Client
	// GraphQLURL is where GraphQL queries go; NewClient sets it to baseURL + "/graphql".
	GraphQLURL string
	// Signer signs the base-layer transactions that carry uploads to an Arweave node; it must be an Arweave RSA
	// key (the base layer knows no other). Nil: uploads to such a peer fail with an error saying so. Set it
	// before the first upload.
	Signer dataitem.Signer
	// MaxAnswer bounds the bytes of one answer the client reads into memory (an item, its data, a GraphQL
	// page); a larger one fails with a *TooLargeError (errors.Is ErrTooLarge) before it is read whole. 0 means
	// DefaultMaxAnswer. Raise it to read larger items; stream very large data with Range requests instead.
	MaxAnswer int64

	peerMu      sync.Mutex
	kind        peerKind
	network     string
	minted      map[string]bool // arlocal wallet records made (see arlocalWallets)
	inlineLimit int             // tests: MaxInlineData when 0
}

// DefaultMaxAnswer is Client.MaxAnswer's default: 256 MiB, above any module and message, as aogo verify's
// WeaveDrive reads.
const DefaultMaxAnswer = 256 << 20

// maxErrorAnswer bounds what is read of a non-2xx answer: its message is all that is kept.
const maxErrorAnswer = 64 << 10

// NewClient returns a client for the gateway at baseURL (e.g. "http://127.0.0.1:4000"). hc nil means
// http.DefaultClient.
func NewClient(baseURL string, hc *http.Client) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	base := strings.TrimRight(baseURL, "/")
	return &Client{base: base, hc: hc, GraphQLURL: base + "/graphql"}
}

// BaseURL is the gateway's base URL, without a trailing slash.
func (c *Client) BaseURL() string { return c.base }

// Upload posts a signed ANS-104 item (a plain item, or a bundle item whose nested items the gateway indexes too)
// or a bare binary bundle to POST /tx. Re-uploading an item the gateway has is not an error.
//
// To an Arweave node the upload goes as a base-layer transaction whose data is an ANS-104 bundle of the item (or
// the bundle as it is), tagged Bundle-Format: binary, Bundle-Version: 2.0.0, anchored on GET /tx_anchor, paying
// GET /price/{size} and signed by Signer; data over MaxInlineData follows as chunks (POST /chunk). The node
// indexes the items once it unbundles the transaction; items it already lists are not sent again.
func (c *Client) Upload(ctx context.Context, raw []byte) error {
	_, err := c.UploadResult(ctx, raw)
	return err
}

// UploadResult is Upload returning the gateway's answer (id, timestamp, block height). From an Arweave node it is
// the first item's id, the local time and block height 0: the transaction is pending until mined.
func (c *Client) UploadResult(ctx context.Context, raw []byte) (UploadResult, error) {
	var res UploadResult
	kind, network, err := c.peer(ctx)
	if err != nil {
		return res, err
	}
	if kind == peerL1 {
		return c.uploadL1(ctx, raw, network)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/tx", bytes.NewReader(raw))
	if err != nil {
		return res, fmt.Errorf("gateway: upload: %w", err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	body, _, err := c.do(req)
	if err != nil {
		return res, err
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return res, fmt.Errorf("gateway: upload: decode answer: %w", err)
	}
	return res, nil
}

// Raw returns an item's data and its content type (GET /raw/{id}; GET /{id} from an Arweave node or arlocal,
// which have no /raw).
func (c *Client) Raw(ctx context.Context, id string) ([]byte, string, error) {
	l1, err := c.isL1(ctx)
	if err != nil {
		return nil, "", err
	}
	if l1 {
		return c.get(ctx, "/"+url.PathEscape(id))
	}
	return c.get(ctx, "/raw/"+url.PathEscape(id))
}

// Item returns the whole signed item, raw ANS-104 bytes: GET /item/{id}, an aogo extension. Other gateways have
// no such endpoint: the item is rebuilt from their GraphQL fields and data, and kept only if it verifies as id.
func (c *Client) Item(ctx context.Context, id string) ([]byte, error) {
	l1, err := c.isL1(ctx)
	if err != nil {
		return nil, err
	}
	if l1 {
		return c.itemL1(ctx, id)
	}
	b, _, err := c.get(ctx, "/item/"+url.PathEscape(id))
	return b, err
}

// Exists reports whether the gateway has id, an item or a transaction (HEAD /raw/{id}, or HEAD /{id} on an
// Arweave node).
func (c *Client) Exists(ctx context.Context, id string) (bool, error) {
	l1, err := c.isL1(ctx)
	if err != nil {
		return false, err
	}
	path := "/raw/" + url.PathEscape(id)
	if l1 {
		path = "/" + url.PathEscape(id)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, c.base+path, nil)
	if err != nil {
		return false, fmt.Errorf("gateway: %w", err)
	}
	_, _, err = c.do(req)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrNotFound):
		return false, nil
	}
	return false, err
}

// Confirmations returns the number of confirmations of base-layer transaction id (GET /tx/{id}/status).
func (c *Client) Confirmations(ctx context.Context, id string) (uint64, error) {
	st, err := c.Status(ctx, id)
	return st.NumberOfConfirmations, err
}

// Info returns GET /info.
func (c *Client) Info(ctx context.Context) (Info, error) {
	var info Info
	b, _, err := c.get(ctx, "/info")
	if err != nil {
		return info, err
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return info, fmt.Errorf("gateway: info: decode: %w", err)
	}
	return info, nil
}

// Height returns the gateway's current block height.
func (c *Client) Height(ctx context.Context) (uint64, error) {
	info, err := c.Info(ctx)
	return info.Height, err
}

// Status returns GET /tx/{id}/status; ErrNotFound when the gateway does not know id. A transaction an Arweave
// node holds but has not mined yet (its answer is "Pending") has a zero Status.
func (c *Client) Status(ctx context.Context, id string) (Status, error) {
	var st Status
	b, _, err := c.get(ctx, "/tx/"+url.PathEscape(id)+"/status")
	if err != nil {
		return st, err
	}
	if string(bytes.TrimSpace(b)) == "Pending" {
		return st, nil
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("gateway: status %s: decode: %w", id, err)
	}
	return st, nil
}

// TransactionsQuery is the GraphQL text Transactions sends; its variables are named after TxQuery's fields.
const TransactionsQuery = `query Transactions($ids: [ID!], $owners: [String!], $recipients: [String!], $tags: [TagFilter!], $bundledIn: [ID!], $first: Int, $after: String, $sort: SortOrder) {
  transactions(ids: $ids, owners: $owners, recipients: $recipients, tags: $tags, bundledIn: $bundledIn, first: $first, after: $after, sort: $sort) {
    pageInfo { hasNextPage }
    edges {
      cursor
      node {
        id anchor signature recipient
        owner { address key }
        fee { winston ar }
        quantity { winston ar }
        data { size type }
        tags { name value }
        block { id height timestamp previous }
        bundledIn { id }
      }
    }
  }
}`

// Transactions runs one page of the GraphQL transactions query.
func (c *Client) Transactions(ctx context.Context, q TxQuery) (TxPage, error) {
	vars := map[string]any{}
	if q.IDs != nil {
		vars["ids"] = q.IDs
	}
	if q.Owners != nil {
		vars["owners"] = q.Owners
	}
	if q.Recipients != nil {
		vars["recipients"] = q.Recipients
	}
	if q.Tags != nil {
		vars["tags"] = q.Tags
	}
	if q.BundledIn != nil {
		vars["bundledIn"] = q.BundledIn
	}
	if q.First > 0 {
		vars["first"] = q.First
	}
	if q.After != "" {
		vars["after"] = q.After
	}
	if q.Sort != "" {
		vars["sort"] = q.Sort
	}
	var out struct {
		Transactions struct {
			PageInfo struct {
				HasNextPage bool `json:"hasNextPage"`
			} `json:"pageInfo"`
			Edges []TxEdge `json:"edges"`
		} `json:"transactions"`
	}
	if err := c.GraphQL(ctx, TransactionsQuery, vars, &out); err != nil {
		return TxPage{}, err
	}
	return TxPage{Edges: out.Transactions.Edges, HasNextPage: out.Transactions.PageInfo.HasNextPage}, nil
}

// Transaction returns the GraphQL node of one item; ErrNotFound when the gateway does not know it.
func (c *Client) Transaction(ctx context.Context, id string) (*Transaction, error) {
	page, err := c.Transactions(ctx, TxQuery{IDs: []string{id}, First: 1})
	if err != nil {
		return nil, err
	}
	if len(page.Edges) == 0 {
		return nil, fmt.Errorf("transaction %s: %w", id, ErrNotFound)
	}
	return &page.Edges[0].Node, nil
}

// Tags returns an item's tags and its owner's address, e.g. to read a module's or a process's tags.
func (c *Client) Tags(ctx context.Context, id string) ([]dataitem.Tag, string, error) {
	tx, err := c.Transaction(ctx, id)
	if err != nil {
		return nil, "", err
	}
	return tx.Tags, tx.Owner.Address, nil
}

// SchedulerLocation returns the Url and Time-To-Live of the newest Scheduler-Location item owned by address, as
// ao's scheduler-utils finds it. ErrNotFound when there is none.
func (c *Client) SchedulerLocation(ctx context.Context, address string) (string, time.Duration, error) {
	page, err := c.Transactions(ctx, TxQuery{
		Owners: []string{address},
		Tags: []TagFilter{
			{Name: "Data-Protocol", Values: []string{"ao"}},
			{Name: "Type", Values: []string{"Scheduler-Location"}},
		},
		Sort:  SortHeightDesc,
		First: 1,
	})
	if err != nil {
		return "", 0, err
	}
	if len(page.Edges) == 0 {
		return "", 0, fmt.Errorf("scheduler location of %s: %w", address, ErrNotFound)
	}
	var u, ttl string
	for _, t := range page.Edges[0].Node.Tags {
		switch strings.ToLower(t.Name) {
		case "url":
			u = t.Value
		case "time-to-live":
			ttl = t.Value
		}
	}
	if u == "" || ttl == "" {
		return "", 0, fmt.Errorf("scheduler location of %s: item %s lacks Url or Time-To-Live: %w", address, page.Edges[0].Node.ID, ErrInvalid)
	}
	ms, err := strconv.ParseInt(ttl, 10, 64)
	if err != nil || ms < 0 {
		return "", 0, fmt.Errorf("scheduler location of %s: Time-To-Live %q is not a number of ms: %w", address, ttl, ErrInvalid)
	}
	return u, time.Duration(ms) * time.Millisecond, nil
}

// BlocksQuery is the GraphQL text Blocks sends.
const BlocksQuery = `query Blocks($min: Int, $max: Int, $first: Int, $after: String) {
  blocks(height: {min: $min, max: $max}, sort: HEIGHT_ASC, first: $first, after: $after) {
    pageInfo { hasNextPage }
    edges { cursor node { id height timestamp previous } }
  }
}`

// Blocks returns the blocks with min <= height <= max that exist, in height order, paging as needed.
func (c *Client) Blocks(ctx context.Context, min, max uint64) ([]Block, error) {
	var blocks []Block
	after := ""
	for {
		vars := map[string]any{"min": min, "max": max, "first": 100}
		if after != "" {
			vars["after"] = after
		}
		var out struct {
			Blocks struct {
				PageInfo struct {
					HasNextPage bool `json:"hasNextPage"`
				} `json:"pageInfo"`
				Edges []struct {
					Cursor string `json:"cursor"`
					Node   Block  `json:"node"`
				} `json:"edges"`
			} `json:"blocks"`
		}
		if err := c.GraphQL(ctx, BlocksQuery, vars, &out); err != nil {
			return nil, err
		}
		for _, e := range out.Blocks.Edges {
			blocks = append(blocks, e.Node)
			after = e.Cursor
		}
		if !out.Blocks.PageInfo.HasNextPage || len(out.Blocks.Edges) == 0 {
			return blocks, nil
		}
	}
}

// GraphQL posts query with variables and decodes the answer's "data" into out. An answer carrying "errors" is a
// *GraphQLError.
func (c *Client) GraphQL(ctx context.Context, query string, variables map[string]any, out any) error {
	reqBody, err := json.Marshal(map[string]any{"query": query, "variables": variables})
	if err != nil {
		return fmt.Errorf("gateway: graphql: encode: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.GraphQLURL, bytes.NewReader(reqBody))
	if err != nil {
		return fmt.Errorf("gateway: graphql: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	body, _, err := c.do(req)
	if err != nil {
		var he *HTTPError
		// A GraphQL error may come with a 400; report it as one.
		if !asHTTPError(err, &he) || len(body) == 0 {
			return err
		}
	}
	var resp struct {
		Data   json.RawMessage `json:"data"`
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if jerr := json.Unmarshal(body, &resp); jerr != nil {
		if err != nil {
			return err
		}
		return fmt.Errorf("gateway: graphql: decode answer: %w", jerr)
	}
	if len(resp.Errors) > 0 {
		ge := &GraphQLError{}
		for _, e := range resp.Errors {
			ge.Messages = append(ge.Messages, e.Message)
		}
		return ge
	}
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(resp.Data, out); err != nil {
		return fmt.Errorf("gateway: graphql: decode data: %w", err)
	}
	return nil
}

func (c *Client) get(ctx context.Context, path string) ([]byte, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, "", fmt.Errorf("gateway: %w", err)
	}
	return c.do(req)
}

// do sends req and returns the body and content type. On a non-2xx status it returns the body too, with an
// *HTTPError.
func (c *Client) do(req *http.Request) ([]byte, string, error) {
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("gateway: %s %s: %w", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	ok := resp.StatusCode/100 == 2
	limit := c.MaxAnswer
	if limit <= 0 {
		limit = DefaultMaxAnswer
	}
	if !ok {
		limit = min(limit, maxErrorAnswer)
	}
	if ok && resp.ContentLength > limit {
		return nil, "", &TooLargeError{Method: req.Method, URL: req.URL.String(), Limit: limit, Size: resp.ContentLength}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, "", fmt.Errorf("gateway: %s %s: read body: %w", req.Method, req.URL, err)
	}
	if int64(len(body)) > limit {
		if ok {
			return nil, "", &TooLargeError{Method: req.Method, URL: req.URL.String(), Limit: limit, Size: -1}
		}
		body = body[:limit]
	}
	if !ok {
		return body, "", &HTTPError{Method: req.Method, URL: req.URL.String(), Status: resp.StatusCode, Message: errorMessage(body)}
	}
	return body, resp.Header.Get("Content-Type"), nil
}

func errorMessage(body []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return e.Error
	}
	const max = 200
	if len(body) > max {
		return string(body[:max]) + "…"
	}
	return string(body)
}
