package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/vm"
)

// AttestationHeader carries the CU's signed attestation of a result: base64url (no padding) of a signed
// ANS-104 item (see package cu for its tags). Reference CUs do not send it.
const AttestationHeader = "X-Ao-Result-Attestation"

// WantAttestationHeader, set to any value on a result request, makes an aogo CU answer with the attestation,
// waiting for the memory hash it signs if need be. Without it the CU may answer as soon as the result is
// evaluated, with no attestation header when none is made yet (what aoconnect and other clients that do not
// read attestations get).
const WantAttestationHeader = "X-Ao-Want-Attestation"

// CU is a client of a Compute Unit (aogo's or the reference's: the routes are the same).
type CU struct {
	base string
	hc   *http.Client
}

// NewCU returns a client of the CU at baseURL (e.g. "http://127.0.0.1:6363"). hc nil means http.DefaultClient.
func NewCU(baseURL string, hc *http.Client) *CU {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &CU{base: strings.TrimRight(baseURL, "/"), hc: hc}
}

// URL is the CU's base URL.
func (c *CU) URL() string { return c.base }

// CUError is a non-2xx answer from a CU. Message is the "error" field of the JSON body when there is one,
// otherwise the body text.
type CUError struct {
	Status  int
	Message string
}

func (e *CUError) Error() string { return fmt.Sprintf("cu: HTTP %d: %s", e.Status, e.Message) }

// IsCUStatus reports whether err is a CUError with the given HTTP status.
func IsCUStatus(err error, status int) bool {
	var e *CUError
	return errors.As(err, &e) && e.Status == status
}

// CUInfo is the answer of GET /.
type CUInfo struct {
	Address   string `json:"address"`
	Timestamp int64  `json:"timestamp"`
}

// CUResult is the result of one message as GET /result returns it.
type CUResult struct {
	vm.Result
	// Body is the response body exactly as received; an attestation's Result-Hash is the SHA-256 of it.
	Body []byte
	// Attestation is the CU's signed attestation item (raw ANS-104 bytes), nil when the CU sent none.
	Attestation []byte
}

// CUQuery selects a range of results (GET /results and GET /cron). From and To are cursors from earlier edges
// or timestamps in ms; Sort is "ASC" (default) or "DESC"; Limit 0 means the CU's default.
type CUQuery struct {
	From, To string
	Sort     string
	Limit    int
}

func (q CUQuery) values() url.Values {
	v := url.Values{}
	if q.From != "" {
		v.Set("from", q.From)
	}
	if q.To != "" {
		v.Set("to", q.To)
	}
	if q.Sort != "" {
		v.Set("sort", q.Sort)
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	return v
}

// CUEdge is one result of a page with its cursor.
type CUEdge struct {
	Cursor string    `json:"cursor"`
	Node   vm.Result `json:"node"`
}

// CUPage is one page of results.
type CUPage struct {
	PageInfo struct {
		HasNextPage bool `json:"hasNextPage"`
	} `json:"pageInfo"`
	Edges []CUEdge `json:"edges"`
}

// DryRunMessage is the message JSON aoconnect's dryrun posts. Empty fields are omitted.
type DryRunMessage struct {
	ID     string         `json:"Id,omitempty"`
	Owner  string         `json:"Owner,omitempty"`
	Target string         `json:"Target,omitempty"`
	Data   string         `json:"Data,omitempty"`
	Anchor string         `json:"Anchor,omitempty"`
	Tags   []dataitem.Tag `json:"Tags"`
}

// StateInfo is what GET /state says about the memory it returns.
type StateInfo struct {
	Timestamp   int64  // Last-Timestamp header (ms)
	Ordinate    string // Last-Ordinate header (the nonce of the last evaluated message)
	BlockHeight int64  // Last-Block-Height header
}

// Info returns the CU's wallet address and clock (GET /).
func (c *CU) Info(ctx context.Context) (CUInfo, error) {
	var out CUInfo
	_, _, err := c.do(ctx, http.MethodGet, "/", nil, nil, &out)
	return out, err
}

// Result returns the result of message mid in process pid (GET /result/{mid}?process-id=), evaluating the
// process up to it if needed, with an aogo CU's attestation (it asks for one: WantAttestationHeader).
func (c *CU) Result(ctx context.Context, pid, mid string) (*CUResult, error) {
	out := &CUResult{}
	body, h, err := c.doWith(ctx, http.MethodGet, "/result/"+url.PathEscape(mid), url.Values{"process-id": {pid}},
		http.Header{WantAttestationHeader: {"1"}}, nil, &out.Result)
	if err != nil {
		return nil, err
	}
	out.Body = body
	if a := h.Get(AttestationHeader); a != "" {
		if out.Attestation, err = dataitem.DecodeB64(a); err != nil {
			return nil, fmt.Errorf("cu: result %s: bad %s header: %w", mid, AttestationHeader, err)
		}
	}
	return out, nil
}

// Results returns a page of the process's results (GET /results/{pid}).
func (c *CU) Results(ctx context.Context, pid string, q CUQuery) (*CUPage, error) {
	var out CUPage
	_, _, err := c.do(ctx, http.MethodGet, "/results/"+url.PathEscape(pid), q.values(), nil, &out)
	return &out, err
}

// Cron returns a page of the process's cron results (GET /cron/{pid}), evaluating up to q.To (or now) first.
// Sort is ignored by the CU: cron pages are always ascending.
func (c *CU) Cron(ctx context.Context, pid string, q CUQuery) (*CUPage, error) {
	var out CUPage
	_, _, err := c.do(ctx, http.MethodGet, "/cron/"+url.PathEscape(pid), q.values(), nil, &out)
	return &out, err
}

// DryRun evaluates msg against the process's latest state without changing it (POST /dry-run?process-id=).
func (c *CU) DryRun(ctx context.Context, pid string, msg DryRunMessage) (vm.Result, error) {
	if msg.Tags == nil {
		msg.Tags = []dataitem.Tag{}
	}
	body, err := json.Marshal(msg)
	if err != nil {
		return vm.Result{}, fmt.Errorf("cu: dry-run: %w", err)
	}
	var out vm.Result
	_, _, err = c.do(ctx, http.MethodPost, "/dry-run", url.Values{"process-id": {pid}}, body, &out)
	return out, err
}

// State returns the process's raw linear memory after the latest evaluated message (GET /state/{pid}).
func (c *CU) State(ctx context.Context, pid string) ([]byte, StateInfo, error) {
	body, h, err := c.do(ctx, http.MethodGet, "/state/"+url.PathEscape(pid), nil, nil, nil)
	if err != nil {
		return nil, StateInfo{}, err
	}
	info := StateInfo{Ordinate: h.Get("Last-Ordinate")}
	info.Timestamp, _ = strconv.ParseInt(h.Get("Last-Timestamp"), 10, 64)
	info.BlockHeight, _ = strconv.ParseInt(h.Get("Last-Block-Height"), 10, 64)
	return body, info, nil
}

// do performs one request. out nil means the body is returned undecoded.
func (c *CU) do(ctx context.Context, method, path string, q url.Values, body []byte, out any) ([]byte, http.Header, error) {
	return c.doWith(ctx, method, path, q, nil, body, out)
}

func (c *CU) doWith(ctx context.Context, method, path string, q url.Values, hdr http.Header, body []byte, out any) ([]byte, http.Header, error) {
	b, h, err := roundTripWith(ctx, c.hc, "cu", c.base, method, path, q, hdr, body, "application/json", out)
	if se, ok := err.(*statusError); ok {
		return nil, nil, &CUError{Status: se.status, Message: se.message}
	}
	return b, h, err
}
