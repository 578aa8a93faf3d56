// Package client holds small Go clients of the aogo units' HTTP APIs (and of the reference units, which share
// them). Clients make exactly one HTTP request per call: no hidden retries, the caller owns retry policy.
package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/dataitem"
)

// SU is a client of a Scheduler Unit.
type SU struct {
	base string
	hc   *http.Client
}

// NewSU returns a client of the SU at baseURL (e.g. "http://127.0.0.1:9000"). hc nil means http.DefaultClient.
func NewSU(baseURL string, hc *http.Client) *SU {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &SU{base: strings.TrimRight(baseURL, "/"), hc: hc}
}

// URL is the SU's base URL.
func (c *SU) URL() string { return c.base }

// SUError is a non-2xx answer from an SU. Message is the "error" field of the JSON body when there is one,
// otherwise the body text.
type SUError struct {
	Status  int
	Message string
}

func (e *SUError) Error() string { return fmt.Sprintf("su: HTTP %d: %s", e.Status, e.Message) }

// IsSUStatus reports whether err is an SUError with the given HTTP status.
func IsSUStatus(err error, status int) bool {
	var e *SUError
	return errors.As(err, &e) && e.Status == status
}

// SUOwner is an item owner as the SU shows it.
type SUOwner struct {
	Address string `json:"address"`
	Key     string `json:"key"`
}

// SUItem is a message or an assignment in the SU's JSON. Data is nil for assignments; Anchor is nil when the
// item has none (and for assignments unless show-anchor was asked).
type SUItem struct {
	ID        string         `json:"id"`
	Owner     SUOwner        `json:"owner"`
	Data      *string        `json:"data,omitempty"`
	Tags      []dataitem.Tag `json:"tags"`
	Signature string         `json:"signature"`
	Anchor    *string        `json:"anchor"`
	Target    *string        `json:"target"`
}

// Fields is the signed item this JSON describes, for ao.VerifyItem: the SU's message or assignment as the CU
// and `aogo verify` check it.
func (it *SUItem) Fields() ao.ItemFields {
	f := ao.ItemFields{ID: it.ID, OwnerKey: it.Owner.Key, Signature: it.Signature, Tags: it.Tags}
	if it.Anchor != nil {
		f.Anchor = *it.Anchor
	}
	if it.Target != nil {
		f.Target = *it.Target
	}
	if it.Data != nil {
		f.Data = []byte(*it.Data)
	}
	return f
}

// Tag returns the value of the first tag named name.
func (it *SUItem) Tag(name string) string {
	v, _ := dataitem.Get(it.Tags, name)
	return v
}

// SUMessage is one scheduled slot: the message (nil for an assignment of a message the SU does not hold) and its
// assignment.
type SUMessage struct {
	Message    *SUItem `json:"message"`
	Assignment SUItem  `json:"assignment"`
}

// Nonce is the slot number from the assignment's Nonce tag (-1 if absent or malformed).
func (m *SUMessage) Nonce() int64 {
	n, err := strconv.ParseInt(m.Assignment.Tag("Nonce"), 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// Timestamp is the assignment's Timestamp tag in ms (-1 if absent or malformed).
func (m *SUMessage) Timestamp() int64 {
	n, err := strconv.ParseInt(m.Assignment.Tag("Timestamp"), 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// MessageID is the id of the scheduled message: the message's id, else the assignment's Message tag, else (the
// Process's own slot) the Process tag.
func (m *SUMessage) MessageID() string {
	if m.Message != nil {
		return m.Message.ID
	}
	if id := m.Assignment.Tag("Message"); id != "" {
		return id
	}
	return m.Assignment.Tag("Process")
}

// SUEdge is one entry of a page.
type SUEdge struct {
	Node   SUMessage `json:"node"`
	Cursor string    `json:"cursor"`
}

// SUPage is one page of a process's log.
type SUPage struct {
	PageInfo struct {
		HasNextPage bool `json:"has_next_page"`
	} `json:"page_info"`
	Edges []SUEdge `json:"edges"`
}

// SUProcess is the SU's ProcessInner JSON (GET /processes/{pid}).
type SUProcess struct {
	ProcessID string         `json:"process_id"`
	Block     string         `json:"block"`
	Owner     SUOwner        `json:"owner"`
	Tags      []dataitem.Tag `json:"tags"`
	Timestamp int64          `json:"timestamp"`
	Data      *string        `json:"data"`
	Anchor    *string        `json:"anchor"`
	Signature *string        `json:"signature"`
	Target    *string        `json:"target"`
}

// SUPosted is the answer to a write: the slot's timestamp and the id (the item's id, or the assignment's id on
// the assign path).
type SUPosted struct {
	Timestamp int64  `json:"timestamp"`
	ID        string `json:"id"`
}

// SUInfo is the answer of GET /.
type SUInfo struct {
	Timestamp int64
	Address   string
}

// SUTimestamp is the answer of GET /timestamp.
type SUTimestamp struct {
	Timestamp   int64
	BlockHeight uint64
}

// Info returns the SU's wallet address and clock (GET /).
func (c *SU) Info(ctx context.Context) (SUInfo, error) {
	var raw struct {
		Timestamp json.Number `json:"timestamp"`
		Address   string      `json:"address"`
	}
	if err := c.do(ctx, http.MethodGet, "/", nil, nil, &raw); err != nil {
		return SUInfo{}, err
	}
	ts, err := raw.Timestamp.Int64()
	if err != nil {
		return SUInfo{}, fmt.Errorf("su: bad timestamp %q: %w", raw.Timestamp, err)
	}
	return SUInfo{Timestamp: ts, Address: raw.Address}, nil
}

// Timestamp returns the SU's clock and the current block height (GET /timestamp).
func (c *SU) Timestamp(ctx context.Context) (SUTimestamp, error) {
	var raw struct {
		Timestamp   json.Number     `json:"timestamp"`
		BlockHeight json.RawMessage `json:"block_height"`
	}
	if err := c.do(ctx, http.MethodGet, "/timestamp", nil, nil, &raw); err != nil {
		return SUTimestamp{}, err
	}
	ts, err := raw.Timestamp.Int64()
	if err != nil {
		return SUTimestamp{}, fmt.Errorf("su: bad timestamp %q: %w", raw.Timestamp, err)
	}
	// block_height is a 12-digit zero-padded string (not a valid JSON number); ParseUint takes the zeros.
	h, err := strconv.ParseUint(strings.Trim(string(raw.BlockHeight), `"`), 10, 64)
	if err != nil {
		return SUTimestamp{}, fmt.Errorf("su: bad block_height %q: %w", raw.BlockHeight, err)
	}
	return SUTimestamp{Timestamp: ts, BlockHeight: h}, nil
}

// Post schedules a signed Process or Message item (POST /, body = the ANS-104 bytes).
func (c *SU) Post(ctx context.Context, item []byte) (SUPosted, error) {
	var out SUPosted
	err := c.do(ctx, http.MethodPost, "/", nil, item, &out)
	return out, err
}

// Assign schedules an existing message id onto process pid (POST /?process-id=&assign=). baseLayer asks for an
// Arweave base-layer transaction; exclude lists fields the process should not see (Data, Tags, …).
func (c *SU) Assign(ctx context.Context, pid, id string, baseLayer bool, exclude []string) (SUPosted, error) {
	q := url.Values{"process-id": {pid}, "assign": {id}}
	if baseLayer {
		q.Set("base-layer", "")
	}
	if len(exclude) > 0 {
		q.Set("exclude", strings.Join(exclude, ","))
	}
	var out SUPosted
	err := c.do(ctx, http.MethodPost, "/", q, nil, &out)
	return out, err
}

// Process returns a process's own item and slot data (GET /processes/{pid}).
func (c *SU) Process(ctx context.Context, pid string) (*SUProcess, error) {
	var out SUProcess
	if err := c.do(ctx, http.MethodGet, "/processes/"+url.PathEscape(pid), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Message returns the slot of message (or assignment) id in process pid (GET /{id}?process-id=).
func (c *SU) Message(ctx context.Context, id, pid string) (*SUMessage, error) {
	var out SUMessage
	if err := c.do(ctx, http.MethodGet, "/"+url.PathEscape(id), url.Values{"process-id": {pid}}, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Latest returns the last slot of process pid (GET /{pid}/latest).
func (c *SU) Latest(ctx context.Context, pid string) (*SUMessage, error) {
	var out SUMessage
	if err := c.do(ctx, http.MethodGet, "/"+url.PathEscape(pid)+"/latest", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SUQuery selects a range of a process's log. Timestamp mode (the default): From is exclusive, To inclusive,
// both ms, 0 = unbounded. Nonce mode (when FromNonce or ToNonce is set): FromNonce exclusive (-1 includes the
// Process itself), ToNonce inclusive. Limit is the page size (0 = the SU's default, 100).
type SUQuery struct {
	From, To           int64
	FromNonce, ToNonce *int64
	Limit              int
	ShowAnchor         bool
}

func (q SUQuery) values(pid string) url.Values {
	v := url.Values{"process-id": {pid}}
	if q.From != 0 {
		v.Set("from", strconv.FormatInt(q.From, 10))
	}
	if q.To != 0 {
		v.Set("to", strconv.FormatInt(q.To, 10))
	}
	if q.FromNonce != nil {
		v.Set("from-nonce", strconv.FormatInt(*q.FromNonce, 10))
	}
	if q.ToNonce != nil {
		v.Set("to-nonce", strconv.FormatInt(*q.ToNonce, 10))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.ShowAnchor {
		v.Set("show-anchor", "1")
	}
	return v
}

// Page fetches one page of process pid's log (GET /{pid}?process-id=…).
func (c *SU) Page(ctx context.Context, pid string, q SUQuery) (*SUPage, error) {
	var out SUPage
	if err := c.do(ctx, http.MethodGet, "/"+url.PathEscape(pid), q.values(pid), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Messages iterates over every slot of pid that q selects, fetching pages as it goes (each next page starts
// after the last edge's cursor). It stops at the first error, which it yields.
func (c *SU) Messages(ctx context.Context, pid string, q SUQuery) iter.Seq2[*SUMessage, error] {
	return func(yield func(*SUMessage, error) bool) {
		nonceMode := q.FromNonce != nil || q.ToNonce != nil
		for {
			p, err := c.Page(ctx, pid, q)
			if err != nil {
				yield(nil, err)
				return
			}
			for i := range p.Edges {
				if !yield(&p.Edges[i].Node, nil) {
					return
				}
			}
			if !p.PageInfo.HasNextPage || len(p.Edges) == 0 {
				return
			}
			cur, err := strconv.ParseInt(p.Edges[len(p.Edges)-1].Cursor, 10, 64)
			if err != nil {
				yield(nil, fmt.Errorf("su: bad cursor %q: %w", p.Edges[len(p.Edges)-1].Cursor, err))
				return
			}
			if nonceMode {
				q.FromNonce = &cur
			} else {
				q.From = cur
			}
		}
	}
}

// Health checks GET /health.
func (c *SU) Health(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "/health", nil, nil, nil)
}

func (c *SU) do(ctx context.Context, method, path string, q url.Values, body []byte, out any) error {
	_, _, err := roundTrip(ctx, c.hc, "su", c.base, method, path, q, body, "application/octet-stream", out)
	if se, ok := err.(*statusError); ok {
		return &SUError{Status: se.status, Message: se.message}
	}
	return err
}

// VerifyAssignment checks the assignment's signature against its owner. The SU must have been asked with
// ShowAnchor (the random anchor is part of what is signed). Arweave (RSA, 512-byte owner) and ed25519 (32-byte
// owner) SU wallets are recognised.
func (m *SUMessage) VerifyAssignment() error {
	a := &m.Assignment
	owner, err := dataitem.DecodeB64(a.Owner.Key)
	if err != nil {
		return fmt.Errorf("assignment %s: owner: %w", a.ID, err)
	}
	sig, err := dataitem.DecodeB64(a.Signature)
	if err != nil {
		return fmt.Errorf("assignment %s: signature: %w", a.ID, err)
	}
	it := &dataitem.Item{Owner: owner, Signature: sig, Tags: a.Tags}
	switch len(owner) {
	case 512:
		it.SignatureType = dataitem.Arweave
	case 32:
		it.SignatureType = dataitem.ED25519
	default:
		return fmt.Errorf("assignment %s: unknown owner key of %d bytes", a.ID, len(owner))
	}
	if a.Anchor != nil {
		if it.Anchor, err = dataitem.DecodeB64(*a.Anchor); err != nil {
			return fmt.Errorf("assignment %s: anchor (ask with ShowAnchor): %w", a.ID, err)
		}
	}
	if a.Target != nil && *a.Target != "" {
		if it.Target, err = dataitem.DecodeB64(*a.Target); err != nil {
			return fmt.Errorf("assignment %s: target: %w", a.ID, err)
		}
	}
	if it.ID() != a.ID {
		return fmt.Errorf("assignment %s: id is not the hash of its signature", a.ID)
	}
	if err := it.Verify(); err != nil {
		return fmt.Errorf("assignment %s: %w", a.ID, err)
	}
	return nil
}

// VerifySULog checks a whole log of process pid as read from its SU (in nonce order, with ShowAnchor): nonces
// 0..n-1 with no gap or repeat, slot 0 is the Process itself, Process tags name pid, timestamps strictly
// increase, the Hash-Chain recomputes from the process id, and every assignment signature verifies.
func VerifySULog(pid string, log []*SUMessage) error {
	var prev *SUMessage
	for i, m := range log {
		if n := m.Nonce(); n != int64(i) {
			return fmt.Errorf("slot %d has Nonce %d", i, n)
		}
		if p := m.Assignment.Tag("Process"); p != pid {
			return fmt.Errorf("slot %d: Process tag %q, want %s", i, p, pid)
		}
		var want string
		var err error
		if prev == nil {
			if m.MessageID() != pid {
				return fmt.Errorf("slot 0 is %s, not the process", m.MessageID())
			}
			want, err = ao.FirstHashChain(pid)
		} else {
			if m.Timestamp() <= prev.Timestamp() {
				return fmt.Errorf("slot %d: timestamp %d not after %d", i, m.Timestamp(), prev.Timestamp())
			}
			want, err = ao.NextHashChain(prev.Assignment.Tag("Hash-Chain"), prev.Assignment.ID)
		}
		if err != nil {
			return fmt.Errorf("slot %d: %w", i, err)
		}
		if got := m.Assignment.Tag("Hash-Chain"); got != want {
			return fmt.Errorf("slot %d: Hash-Chain %s, want %s", i, got, want)
		}
		if err := m.VerifyAssignment(); err != nil {
			return fmt.Errorf("slot %d: %w", i, err)
		}
		prev = m
	}
	return nil
}
