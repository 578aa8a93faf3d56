package explorer

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strconv"
	"strings"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/cu"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/internal/jsonmux"
	"github.com/aogo/aogo/su"
)

//go:embed web
var webFS embed.FS

// Limits of the API: pages, graphs and previews are bounded whatever the query asks.
const (
	defaultLimit  = 25
	maxLimit      = 200
	maxTagValue   = 256  // longest tag value the index keeps, and the longest search value
	previewBytes  = 4096 // data preview: text and JSON up to this, binary as hex of the first previewHex bytes
	previewHex    = 256
	graphMaxNodes = 200
	graphMaxDepth = 12
	recentResults = 10
)

func (e *Explorer) routes() http.Handler {
	mux := http.NewServeMux()
	web, _ := fs.Sub(webFS, "web")
	static := http.FileServerFS(web)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		// Mounted under a prefix, "/explorer" reaches here as "/": the pages' relative links need the slash.
		if p := strings.SplitN(r.RequestURI, "?", 2)[0]; !strings.HasSuffix(p, "/") {
			http.Redirect(w, r, p+"/", http.StatusMovedPermanently)
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		static.ServeHTTP(w, r)
	})
	for _, f := range []string{"app.js", "graph.js", "style.css"} {
		mux.Handle("GET /"+f, static)
	}
	mux.HandleFunc("GET /api/processes", e.handleProcesses)
	mux.HandleFunc("GET /api/processes/{pid}", e.handleProcess)
	mux.HandleFunc("GET /api/processes/{pid}/messages", e.handleMessages)
	mux.HandleFunc("GET /api/messages/{id}", e.handleMessage)
	mux.HandleFunc("GET /api/messages/{id}/graph", e.handleGraph)
	mux.HandleFunc("GET /api/search", e.handleSearch)
	mux.HandleFunc("GET /api/modules", e.handleModules)
	mux.HandleFunc("GET /api/stream", e.handleStream)
	return jsonmux.Errors(mux)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// fail answers an internal error (a store failure), or 499-ish silence when the client left.
func (e *Explorer) fail(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return
	}
	e.log.Warn("explorer: request failed", "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, err.Error())
}

// validID reports whether s looks like an ao id or Arweave address: 43 characters of base64url.
func validID(s string) bool {
	if len(s) != 43 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// validAddress also accepts an Ethereum address (0x and 40 hex digits).
func validAddress(s string) bool {
	if validID(s) {
		return true
	}
	if len(s) != 42 || !strings.HasPrefix(s, "0x") {
		return false
	}
	for _, c := range s[2:] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// badQuery is a query parameter error, answered 400.
type badQuery string

func (b badQuery) Error() string { return string(b) }

// intParam reads an optional non-negative integer query parameter.
func intParam(r *http.Request, name string, def, maxV int64) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, badQuery(fmt.Sprintf("%s must be a non-negative integer", name))
	}
	if maxV > 0 && n > maxV {
		return 0, badQuery(fmt.Sprintf("%s must be at most %d", name, maxV))
	}
	return n, nil
}

func limitParam(r *http.Request) (int, error) {
	n, err := intParam(r, "limit", defaultLimit, maxLimit)
	if err == nil && n == 0 {
		return 0, badQuery("limit must be at least 1")
	}
	return int(n), err
}

// pageParams reads limit and before (a Seq; 0 = from the newest), the paging of the newest-first lists.
func pageParams(r *http.Request) (limit int, before int64, err error) {
	if limit, err = limitParam(r); err != nil {
		return 0, 0, err
	}
	before, err = intParam(r, "before", 0, 0)
	return limit, before, err
}

// answerBad writes a badQuery as 400 and reports whether err was one (or any error, answered 500).
func (e *Explorer) answerErr(w http.ResponseWriter, r *http.Request, err error) {
	var b badQuery
	if errors.As(err, &b) {
		writeError(w, http.StatusBadRequest, b.Error())
		return
	}
	e.fail(w, r, err)
}

func (e *Explorer) handleProcesses(w http.ResponseWriter, r *http.Request) {
	limit, before, err := pageParams(r)
	if err != nil {
		e.answerErr(w, r, err)
		return
	}
	ps, err := e.cfg.Index.Processes(r.Context(), before, limit)
	if err != nil {
		e.fail(w, r, err)
		return
	}
	out := struct {
		Processes []processItem `json:"processes"`
		Next      *int64        `json:"next_before,omitempty"`
	}{Processes: []processItem{}}
	now := e.cfg.Now().UnixMilli()
	for _, p := range ps {
		rate, err := e.cfg.Index.Rate(r.Context(), p.ID, now/1000*1000-sparkSeconds*1000+1000, now/1000*1000+1000)
		if err != nil {
			e.fail(w, r, err)
			return
		}
		out.Processes = append(out.Processes, processItem{ProcessRow: p, Rate: rate})
	}
	if len(ps) == limit {
		out.Next = &ps[len(ps)-1].Seq
	}
	writeJSON(w, http.StatusOK, out)
}

// sparkSeconds is the span of a process's messages/s sparkline.
const sparkSeconds = 60

type processItem struct {
	ProcessRow
	// Rate is messages per second over the last sparkSeconds seconds, oldest first.
	Rate []int64 `json:"rate"`
}

type tagView struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

func tagViews(tags []dataitem.Tag) []tagView {
	out := make([]tagView, len(tags))
	for i, t := range tags {
		out[i] = tagView{t.Name, t.Value}
	}
	return out
}

type processView struct {
	processItem
	Tags         []tagView       `json:"tags"`
	ModuleFormat string          `json:"module_format,omitempty"`
	ModuleName   string          `json:"module_name,omitempty"`
	LatestOutput json.RawMessage `json:"latest_output"`
	Results      []resultItem    `json:"recent_results"`
	Children     []ProcessRow    `json:"children"`
	Cron         cronView        `json:"cron"`
	Attestation  *attestView     `json:"attestation"`
	MemoryHash   string          `json:"memory_hash,omitempty"` // hex, of the CU's newest evaluation that has one
	Verify       string          `json:"verify"`                // the command that recomputes and checks it
}

type cronView struct {
	Intervals []string `json:"intervals"` // the process's Cron-Interval tags
	Tags      []string `json:"tags"`      // its Cron-Tag-NAME=VALUE tags, as NAME=VALUE
	Monitored bool     `json:"monitored"` // whether the MU runs its cron (a subscription)
	Cursor    string   `json:"cursor"`    // the MU's cursor in its cron results
}

type resultItem struct {
	Seq       int64           `json:"seq"`
	Message   string          `json:"message,omitempty"` // "" for a cron message
	Slot      int64           `json:"slot"`
	Cron      string          `json:"cron,omitempty"`
	Timestamp int64           `json:"timestamp"`
	Output    json.RawMessage `json:"output"`
	Messages  int             `json:"messages"`
	Spawns    int             `json:"spawns"`
	Error     string          `json:"error,omitempty"`
}

type attestView struct {
	ID          string `json:"id"`
	Unit        string `json:"unit"` // the CU that signed it
	Slot        int64  `json:"slot"`
	Message     string `json:"message,omitempty"`
	ResultHash  string `json:"result_hash"`
	MemoryHash  string `json:"memory_hash"`
	Format      string `json:"format"`
	Timestamp   int64  `json:"timestamp"`
	SignatureOK bool   `json:"valid"` // the signature and Result-Hash check against the stored result
	Error       string `json:"error,omitempty"`
}

// resultBody is the part of a stored result the explorer shows.
type resultBody struct {
	Output      json.RawMessage   `json:"Output"`
	Messages    []json.RawMessage `json:"Messages"`
	Spawns      []json.RawMessage `json:"Spawns"`
	Assignments []json.RawMessage `json:"Assignments"`
	Error       *string           `json:"Error"`
	GasUsed     uint64            `json:"GasUsed"`
}

func resultOf(ev *cu.Eval) resultItem {
	var b resultBody
	json.Unmarshal(ev.Result, &b)
	out := resultItem{Seq: ev.Seq, Message: ev.Message, Slot: ev.Nonce, Cron: ev.Cron, Timestamp: ev.Timestamp,
		Output: b.Output, Messages: len(b.Messages), Spawns: len(b.Spawns)}
	if b.Error != nil {
		out.Error = *b.Error
	}
	if len(out.Output) == 0 {
		out.Output = json.RawMessage("null")
	}
	return out
}

func (e *Explorer) pathID(w http.ResponseWriter, r *http.Request, name string) (string, bool) {
	id := r.PathValue(name)
	if !validID(id) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%s must be a 43-character id", name))
		return "", false
	}
	return id, true
}

func (e *Explorer) handleProcess(w http.ResponseWriter, r *http.Request) {
	pid, ok := e.pathID(w, r, "pid")
	if !ok {
		return
	}
	ctx := r.Context()
	p, err := e.cfg.Index.Process(ctx, pid)
	if errors.Is(err, ErrNotFound) {
		writeError(w, http.StatusNotFound, "process "+pid+" not found")
		return
	}
	if err != nil {
		e.fail(w, r, err)
		return
	}
	now := e.cfg.Now().UnixMilli()
	rate, err := e.cfg.Index.Rate(ctx, pid, now/1000*1000-sparkSeconds*1000+1000, now/1000*1000+1000)
	if err != nil {
		e.fail(w, r, err)
		return
	}
	v := processView{processItem: processItem{ProcessRow: p, Rate: rate}, LatestOutput: json.RawMessage("null"),
		Results: []resultItem{}, Cron: cronView{Intervals: []string{}, Tags: []string{}},
		Verify: "aogo verify " + pid}
	if slot0, err := e.cfg.Log.Find(ctx, pid, pid); err == nil {
		if it, err := dataitem.Decode(slot0.Message); err == nil {
			v.Tags = tagViews(it.Tags)
			for _, t := range it.Tags {
				switch {
				case t.Name == ao.TagCronInterval:
					v.Cron.Intervals = append(v.Cron.Intervals, t.Value)
				case strings.HasPrefix(t.Name, ao.TagCronTagPrefix):
					v.Cron.Tags = append(v.Cron.Tags, strings.TrimPrefix(t.Name, ao.TagCronTagPrefix)+"="+t.Value)
				}
			}
		}
	}
	if v.Tags == nil {
		v.Tags = []tagView{}
	}
	if e.cfg.Items != nil && p.Module != "" {
		if tags, _, err := e.cfg.Items.Tags(ctx, p.Module); err == nil {
			v.ModuleFormat, _ = dataitem.Get(tags, ao.TagModuleFormat)
			v.ModuleName, _ = dataitem.Get(tags, "Name")
		}
	}
	if v.Children, err = e.cfg.Index.ProcessesBy(ctx, pid, "", maxLimit); err != nil {
		e.fail(w, r, err)
		return
	}
	if v.Children == nil {
		v.Children = []ProcessRow{}
	}
	if e.cfg.Links != nil {
		mons, err := e.cfg.Links.Monitors(ctx)
		if err != nil {
			e.fail(w, r, err)
			return
		}
		for _, m := range mons {
			if m.Process == pid {
				v.Cron.Monitored, v.Cron.Cursor = true, m.Cursor
			}
		}
	}
	if e.cfg.Results != nil {
		if err := e.addResults(ctx, pid, &v); err != nil {
			e.fail(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, v)
}

// attestScan is how many of the newest evaluations are read for the latest output, attestation and memory
// hash (results can be large: the page reads a bounded number of them).
const attestScan = 50

func (e *Explorer) addResults(ctx context.Context, pid string, v *processView) error {
	evals, _, err := e.cfg.Results.Evals(ctx, pid, cu.EvalQuery{Desc: true, Limit: attestScan})
	if err != nil {
		return fmt.Errorf("results of %s: %w", pid, err)
	}
	for i := range evals {
		ev := &evals[i]
		r := resultOf(ev)
		if i < recentResults {
			v.Results = append(v.Results, r)
		}
		if string(v.LatestOutput) == "null" && r.Error == "" && string(r.Output) != "null" {
			v.LatestOutput = r.Output
		}
		if v.MemoryHash == "" && len(ev.MemoryHash) > 0 {
			v.MemoryHash = fmt.Sprintf("%x", ev.MemoryHash)
		}
		if v.Attestation == nil && len(ev.Attestation) > 0 {
			v.Attestation = attestOf(ev)
		}
	}
	if v.MemoryHash == "" {
		if cp, err := e.cfg.Results.LatestCheckpoint(ctx, pid); err == nil && len(cp.MemoryHash) > 0 {
			v.MemoryHash = fmt.Sprintf("%x", cp.MemoryHash)
		}
	}
	return nil
}

func attestOf(ev *cu.Eval) *attestView {
	a, err := ao.VerifyAttestation(ev.Attestation, ev.Result)
	if err != nil {
		v := &attestView{Slot: ev.Nonce, Message: ev.Message, Error: err.Error()}
		if it, derr := dataitem.Decode(ev.Attestation); derr == nil {
			v.ID, v.Unit = it.ID(), it.OwnerAddress()
		}
		return v
	}
	return &attestView{ID: a.ID, Unit: a.Unit, Slot: a.Slot, Message: a.Message, ResultHash: a.ResultHash,
		MemoryHash: a.MemoryHash, Format: a.Format, Timestamp: a.Timestamp, SignatureOK: true}
}

func (e *Explorer) handleMessages(w http.ResponseWriter, r *http.Request) {
	pid, ok := e.pathID(w, r, "pid")
	if !ok {
		return
	}
	limit, err := limitParam(r)
	if err != nil {
		e.answerErr(w, r, err)
		return
	}
	q := r.URL.Query()
	mq := MessageQuery{Limit: limit, Desc: true}
	if q.Has("from") && q.Has("before") {
		writeError(w, http.StatusBadRequest, "give from or before, not both")
		return
	}
	if q.Has("from") {
		n, err := intParam(r, "from", 0, 0)
		if err != nil {
			e.answerErr(w, r, err)
			return
		}
		mq.From, mq.Desc = uint64(n), false
	} else if q.Has("before") {
		n, err := intParam(r, "before", 0, 0)
		if err != nil {
			e.answerErr(w, r, err)
			return
		}
		if n == 0 {
			writeError(w, http.StatusBadRequest, "before must be at least 1 (slot 0 has none before it)")
			return
		}
		mq.Before = uint64(n)
	}
	ctx := r.Context()
	if _, err := e.cfg.Index.Process(ctx, pid); errors.Is(err, ErrNotFound) {
		writeError(w, http.StatusNotFound, "process "+pid+" not found")
		return
	} else if err != nil {
		e.fail(w, r, err)
		return
	}
	ms, err := e.cfg.Index.Messages(ctx, pid, mq)
	if err != nil {
		e.fail(w, r, err)
		return
	}
	out := struct {
		Messages   []MessageRow `json:"messages"`
		NextFrom   *uint64      `json:"next_from,omitempty"`
		NextBefore *uint64      `json:"next_before,omitempty"`
	}{Messages: ms}
	if out.Messages == nil {
		out.Messages = []MessageRow{}
	}
	if len(ms) == limit {
		last := ms[len(ms)-1].Nonce
		if mq.Desc {
			if last > 0 {
				out.NextBefore = &last
			}
		} else {
			n := last + 1
			out.NextFrom = &n
		}
	}
	writeJSON(w, http.StatusOK, out)
}

type itemView struct {
	ID            string    `json:"id"`
	Owner         string    `json:"owner"` // the signer's address
	SignatureType int       `json:"signature_type"`
	Target        string    `json:"target,omitempty"`
	Anchor        string    `json:"anchor,omitempty"`
	Tags          []tagView `json:"tags"`
	Data          dataView  `json:"data"`
	SignatureOK   bool      `json:"signature_valid"`
}

type dataView struct {
	Size      int             `json:"size"`
	Kind      string          `json:"kind"` // empty, text, json or binary
	Text      string          `json:"text,omitempty"`
	JSON      json.RawMessage `json:"json,omitempty"` // pretty-printed by the page
	Hex       string          `json:"hex,omitempty"`
	Truncated bool            `json:"truncated,omitempty"`
}

func preview(data []byte) dataView {
	v := dataView{Size: len(data)}
	switch {
	case len(data) == 0:
		v.Kind = "empty"
	case len(data) <= previewBytes && json.Valid(data) && (data[0] == '{' || data[0] == '['):
		v.Kind, v.JSON = "json", json.RawMessage(data)
	case isText(data):
		v.Kind = "text"
		if len(data) > previewBytes {
			cut := previewBytes
			for cut > 0 && data[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
				cut--
			}
			data, v.Truncated = data[:cut], true
		}
		v.Text = string(data)
	default:
		v.Kind = "binary"
		if len(data) > previewHex {
			data, v.Truncated = data[:previewHex], true
		}
		v.Hex = fmt.Sprintf("%x", data)
	}
	return v
}

// isText: valid UTF-8 without control characters other than whitespace, judged on the preview's length.
func isText(b []byte) bool {
	if len(b) > previewBytes {
		b = b[:previewBytes]
	}
	s := string(b)
	for i, c := range s {
		if c == 0xFFFD && !strings.HasPrefix(s[i:], "\uFFFD") {
			// invalid UTF-8, unless cut in the middle of a sequence at the end
			if len(s)-i < 4 {
				return true
			}
			return false
		}
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' {
			return false
		}
	}
	return true
}

func itemOf(it *dataitem.Item) itemView {
	v := itemView{ID: it.ID(), Owner: it.OwnerAddress(), SignatureType: int(it.SignatureType), Target: it.TargetID(),
		Tags: tagViews(it.Tags), Data: preview(it.Data), SignatureOK: it.Verify() == nil}
	if len(it.Anchor) > 0 {
		v.Anchor = string(it.Anchor)
		if !isText(it.Anchor) {
			v.Anchor = dataitem.B64(it.Anchor)
		}
	}
	return v
}

type assignView struct {
	ID           string `json:"id"`
	Process      string `json:"process"`
	Slot         uint64 `json:"slot"`
	HashChain    string `json:"hash_chain"`
	HashChainOK  *bool  `json:"hash_chain_valid,omitempty"` // against the previous slot's (nil for slot 0 when unchecked)
	Timestamp    int64  `json:"timestamp"`
	BlockHeight  uint64 `json:"block_height"`
	Epoch        string `json:"epoch,omitempty"`
	Scheduler    string `json:"scheduler"` // the signer's address
	SignatureOK  bool   `json:"signature_valid"`
	PrevSlotLink string `json:"previous_assignment,omitempty"`
}

type linkView struct {
	ID      string `json:"id"`
	Process string `json:"process"`
	Kind    string `json:"kind"`
	Action  string `json:"action,omitempty"`
}

type messageView struct {
	ID         string       `json:"id"`
	Scheduled  bool         `json:"scheduled"` // in some process's log (false: e.g. a message to a wallet)
	Slots      []MessageRow `json:"slots"`     // every process it is scheduled on
	Process    string       `json:"process,omitempty"`
	Item       *itemView    `json:"item"`
	Assignment *assignView  `json:"assignment"`
	Result     *resultView  `json:"result"`
	CausedBy   []linkView   `json:"caused_by"`
	Caused     []linkView   `json:"caused"`
}

type resultView struct {
	Output      json.RawMessage   `json:"output"`
	Messages    []json.RawMessage `json:"messages"`
	Spawns      []json.RawMessage `json:"spawns"`
	Assignments []json.RawMessage `json:"assignments"`
	Error       string            `json:"error,omitempty"`
	GasUsed     uint64            `json:"gas_used"`
}

func (e *Explorer) handleMessage(w http.ResponseWriter, r *http.Request) {
	id, ok := e.pathID(w, r, "id")
	if !ok {
		return
	}
	process := r.URL.Query().Get("process")
	if process != "" && !validID(process) {
		writeError(w, http.StatusBadRequest, "process must be a 43-character id")
		return
	}
	ctx := r.Context()
	rows, err := e.cfg.Index.ByID(ctx, id, maxLimit)
	if err != nil {
		e.fail(w, r, err)
		return
	}
	v := messageView{ID: id, Slots: rows, CausedBy: []linkView{}, Caused: []linkView{}}
	if v.Slots == nil {
		v.Slots = []MessageRow{}
	}
	var row *MessageRow
	for i := range rows {
		if process == "" || rows[i].Process == process {
			row = &rows[i]
			break
		}
	}
	if row != nil {
		v.Scheduled, v.Process, v.ID = true, row.Process, row.ID // id may have named the assignment
		if err := e.addSlot(ctx, row, &v); err != nil {
			e.fail(w, r, err)
			return
		}
	} else if len(rows) > 0 {
		writeError(w, http.StatusNotFound, fmt.Sprintf("message %s is not scheduled on process %s", id, process))
		return
	}
	if v.Item == nil {
		// Not in the log: the gateway holds what the MU sent to wallets.
		if raw := e.itemFromGateway(ctx, id); raw != nil {
			iv := itemOf(raw)
			v.Item = &iv
		}
	}
	if e.cfg.Links != nil {
		if v.CausedBy, v.Caused, err = e.linksOf(ctx, v.ID); err != nil {
			e.fail(w, r, err)
			return
		}
	}
	if v.Item == nil && !v.Scheduled && len(v.CausedBy) == 0 {
		writeError(w, http.StatusNotFound, "message "+id+" not found")
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (e *Explorer) itemFromGateway(ctx context.Context, id string) *dataitem.Item {
	if e.cfg.Items == nil {
		return nil
	}
	raw, err := e.cfg.Items.Item(ctx, id)
	if err != nil {
		return nil
	}
	it, err := dataitem.Decode(raw)
	if err != nil || it.ID() != id {
		return nil
	}
	return it
}

func (e *Explorer) addSlot(ctx context.Context, row *MessageRow, v *messageView) error {
	slot, err := e.cfg.Log.Find(ctx, row.Process, row.ID)
	if errors.Is(err, su.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("slot of %s in %s: %w", row.ID, row.Process, err)
	}
	raw := slot.Message
	if raw == nil {
		raw, _ = e.cfg.Log.Item(ctx, slot.MessageID)
	}
	if it, err := dataitem.Decode(raw); err == nil {
		iv := itemOf(it)
		v.Item = &iv
	} else if it := e.itemFromGateway(ctx, slot.MessageID); it != nil {
		iv := itemOf(it)
		v.Item = &iv
	}
	av := &assignView{ID: slot.AssignmentID, Process: slot.Process, Slot: slot.Nonce, HashChain: slot.HashChain,
		Timestamp: slot.Timestamp, BlockHeight: slot.BlockHeight}
	if a, err := dataitem.Decode(slot.Assignment); err == nil {
		av.Scheduler = a.OwnerAddress()
		av.Epoch, _ = a.Tag(ao.TagEpoch)
		av.SignatureOK = a.Verify() == nil && a.ID() == slot.AssignmentID
	}
	// The hash chain: slot 0's comes from the process id, each next one from the previous assignment.
	var want string
	if slot.Nonce == 0 {
		want, err = ao.FirstHashChain(slot.Process)
	} else {
		var prev []su.Slot
		prev, err = e.cfg.Log.Page(ctx, slot.Process, su.PageQuery{ByNonce: true, From: int64(slot.Nonce) - 2, HasFrom: slot.Nonce >= 2, To: int64(slot.Nonce) - 1, HasTo: true, Limit: 1})
		if err == nil && len(prev) == 1 {
			av.PrevSlotLink = prev[0].AssignmentID
			want, err = ao.NextHashChain(prev[0].HashChain, prev[0].AssignmentID)
		}
	}
	if err == nil && want != "" {
		ok := want == slot.HashChain
		av.HashChainOK = &ok
	}
	v.Assignment = av
	if e.cfg.Results != nil {
		ev, err := e.cfg.Results.EvalByMessage(ctx, slot.Process, slot.MessageID)
		if err != nil && !errors.Is(err, cu.ErrNotFound) {
			return fmt.Errorf("result of %s: %w", slot.MessageID, err)
		}
		if ev != nil {
			var b resultBody
			json.Unmarshal(ev.Result, &b)
			rv := &resultView{Output: b.Output, Messages: b.Messages, Spawns: b.Spawns, Assignments: b.Assignments, GasUsed: b.GasUsed}
			if b.Error != nil {
				rv.Error = *b.Error
			}
			if len(rv.Output) == 0 {
				rv.Output = json.RawMessage("null")
			}
			v.Result = rv
		}
	}
	return nil
}

// linksOf returns what caused id and what id caused, each with the Action of the message when known.
func (e *Explorer) linksOf(ctx context.Context, id string) (by, caused []linkView, err error) {
	to, err := e.cfg.Links.LinksTo(ctx, id, maxLimit)
	if err != nil {
		return nil, nil, fmt.Errorf("links to %s: %w", id, err)
	}
	from, err := e.cfg.Links.LinksFrom(ctx, id, maxLimit)
	if err != nil {
		return nil, nil, fmt.Errorf("links from %s: %w", id, err)
	}
	by, caused = []linkView{}, []linkView{}
	budget := gatewayLookups
	for _, l := range to {
		if l.Parent == "" {
			by = append(by, linkView{Process: l.ParentProcess, Kind: "cron"})
			continue
		}
		by = append(by, linkView{ID: l.Parent, Process: l.ParentProcess, Kind: string(l.Kind), Action: e.actionOf(ctx, l.Parent, &budget)})
	}
	for _, l := range from {
		caused = append(caused, linkView{ID: l.Child, Process: l.ChildProcess, Kind: string(l.Kind), Action: e.actionOf(ctx, l.Child, &budget)})
	}
	return by, caused, nil
}

// gatewayLookups bounds the gateway reads one request makes to label messages that are not in the log.
const gatewayLookups = 16

// actionOf is the Action of an indexed message, or of an item on the gateway (messages sent to wallets) while
// the request's budget of gateway reads lasts.
func (e *Explorer) actionOf(ctx context.Context, id string, budget *int) string {
	rows, err := e.cfg.Index.ByID(ctx, id, 1)
	if err == nil && len(rows) > 0 {
		if rows[0].Action != "" || rows[0].Nonce == 0 {
			if rows[0].Nonce == 0 && rows[0].Action == "" {
				return "Process"
			}
			return rows[0].Action
		}
	}
	if *budget <= 0 {
		return ""
	}
	*budget--
	if it := e.itemFromGateway(ctx, id); it != nil {
		a, _ := it.Tag(ao.TagAction)
		return a
	}
	return ""
}

type graphNode struct {
	ID      string `json:"id"`
	Process string `json:"process"` // where it was sent (scheduled, or the wallet it went to)
	Kind    string `json:"kind"`    // message, push, spawn, assign
	Action  string `json:"action,omitempty"`
	Depth   int    `json:"depth"` // hops below the root (-1: the parent)
}

type graphEdge struct {
	From string `json:"from"`
	To   string `json:"to"`
	Kind string `json:"kind"`
}

type graphView struct {
	Root      string      `json:"root"`
	Parent    *graphNode  `json:"parent"`
	Nodes     []graphNode `json:"nodes"`
	Edges     []graphEdge `json:"edges"`
	Truncated bool        `json:"truncated"` // more nodes or depth than the graph's bounds
}

// handleGraph answers the tree of messages a message caused through cranking (breadth first, bounded by
// depth and node count) and the message that caused it.
func (e *Explorer) handleGraph(w http.ResponseWriter, r *http.Request) {
	id, ok := e.pathID(w, r, "id")
	if !ok {
		return
	}
	depth, err := intParam(r, "depth", 6, graphMaxDepth)
	if err != nil {
		e.answerErr(w, r, err)
		return
	}
	maxNodes, err := intParam(r, "max", 100, graphMaxNodes)
	if err != nil {
		e.answerErr(w, r, err)
		return
	}
	if e.cfg.Links == nil {
		writeError(w, http.StatusNotFound, "no message graph: this explorer reads no MU")
		return
	}
	ctx := r.Context()
	rows, err := e.cfg.Index.ByID(ctx, id, 1)
	if err != nil {
		e.fail(w, r, err)
		return
	}
	root := graphNode{ID: id, Kind: "message"}
	if len(rows) > 0 {
		root.ID, root.Process, root.Action = rows[0].ID, rows[0].Process, rows[0].Action
	}
	to, err := e.cfg.Links.LinksTo(ctx, root.ID, 1)
	if err != nil {
		e.fail(w, r, err)
		return
	}
	if len(rows) == 0 && len(to) == 0 {
		if it := e.itemFromGateway(ctx, id); it == nil {
			writeError(w, http.StatusNotFound, "message "+id+" not found")
			return
		}
	}
	g := graphView{Root: root.ID, Nodes: []graphNode{}, Edges: []graphEdge{}}
	budget := gatewayLookups
	if len(to) > 0 {
		root.Kind = string(to[0].Kind)
		if root.Process == "" {
			root.Process = to[0].ChildProcess
		}
		if to[0].Parent != "" {
			g.Parent = &graphNode{ID: to[0].Parent, Process: to[0].ParentProcess, Kind: "message", Action: e.actionOf(ctx, to[0].Parent, &budget), Depth: -1}
		}
	}
	if root.Action == "" {
		root.Action = e.actionOf(ctx, root.ID, &budget)
	}
	g.Nodes = append(g.Nodes, root)
	seen := map[string]bool{root.ID: true}
	level := []string{root.ID}
	for d := 1; len(level) > 0; d++ {
		var next []string
		for _, pid := range level {
			links, err := e.cfg.Links.LinksFrom(ctx, pid, graphMaxNodes+1)
			if err != nil {
				e.fail(w, r, err)
				return
			}
			for _, l := range links {
				if d > int(depth) || len(g.Nodes) >= int(maxNodes) {
					g.Truncated = true
					break
				}
				g.Edges = append(g.Edges, graphEdge{From: pid, To: l.Child, Kind: string(l.Kind)})
				if seen[l.Child] { // an assignment of a message already drawn: an edge, not a second node
					continue
				}
				seen[l.Child] = true
				g.Nodes = append(g.Nodes, graphNode{ID: l.Child, Process: l.ChildProcess, Kind: string(l.Kind), Action: e.actionOf(ctx, l.Child, &budget), Depth: d})
				next = append(next, l.Child)
			}
		}
		level = next
	}
	writeJSON(w, http.StatusOK, g)
}

type searchView struct {
	Query      string       `json:"query"`
	Kind       string       `json:"kind"` // id, owner or tag
	Processes  []ProcessRow `json:"processes"`
	Messages   []MessageRow `json:"messages"`
	NextBefore *int64       `json:"next_before,omitempty"`
}

// handleSearch: q is an id (process, message or assignment; an address also finds what it owns and sent),
// an owner address, or a tag as Name=Value.
func (e *Explorer) handleSearch(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	limit, before, err := pageParams(r)
	if err != nil {
		e.answerErr(w, r, err)
		return
	}
	ctx := r.Context()
	v := searchView{Query: q, Processes: []ProcessRow{}, Messages: []MessageRow{}}
	switch {
	case q == "":
		writeError(w, http.StatusBadRequest, "q is required: an id, an owner address or a tag Name=Value")
		return
	case strings.Contains(q, "="):
		name, value, _ := strings.Cut(q, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if name == "" || len(name) > maxTagValue || len(value) > maxTagValue {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("a tag search is Name=Value, each at most %d bytes", maxTagValue))
			return
		}
		v.Kind = "tag"
		if v.Messages, err = e.cfg.Index.Search(ctx, SearchQuery{TagName: name, TagValue: value, Before: before, Limit: int64(limit)}); err != nil {
			e.fail(w, r, err)
			return
		}
	case validAddress(q):
		v.Kind = "owner"
		if validID(q) {
			if p, err := e.cfg.Index.Process(ctx, q); err == nil {
				v.Kind = "id"
				v.Processes = append(v.Processes, p)
			}
			rows, err := e.cfg.Index.ByID(ctx, q, maxLimit)
			if err != nil {
				e.fail(w, r, err)
				return
			}
			if len(rows) > 0 {
				v.Kind = "id"
				v.Messages = rows
			}
		}
		if v.Kind == "owner" {
			if before == 0 {
				if v.Processes, err = e.cfg.Index.ProcessesBy(ctx, "", q, maxLimit); err != nil {
					e.fail(w, r, err)
					return
				}
			}
			if v.Messages, err = e.cfg.Index.Search(ctx, SearchQuery{Owner: q, Before: before, Limit: int64(limit)}); err != nil {
				e.fail(w, r, err)
				return
			}
		}
	default:
		writeError(w, http.StatusBadRequest, "q must be a 43-character id or address, an Ethereum address, or a tag Name=Value")
		return
	}
	if v.Processes == nil {
		v.Processes = []ProcessRow{}
	}
	if v.Messages == nil {
		v.Messages = []MessageRow{}
	}
	if v.Kind != "id" && len(v.Messages) == limit {
		v.NextBefore = &v.Messages[len(v.Messages)-1].Seq
	}
	writeJSON(w, http.StatusOK, v)
}

type moduleView struct {
	ModuleCount
	Format string    `json:"format,omitempty"`
	Name   string    `json:"name,omitempty"`
	Tags   []tagView `json:"tags"`
}

func (e *Explorer) handleModules(w http.ResponseWriter, r *http.Request) {
	limit, err := limitParam(r)
	if err != nil {
		e.answerErr(w, r, err)
		return
	}
	ms, err := e.cfg.Index.Modules(r.Context(), limit)
	if err != nil {
		e.fail(w, r, err)
		return
	}
	out := struct {
		Modules []moduleView `json:"modules"`
	}{Modules: []moduleView{}}
	for _, m := range ms {
		mv := moduleView{ModuleCount: m, Tags: []tagView{}}
		if e.cfg.Items != nil {
			if tags, _, err := e.cfg.Items.Tags(r.Context(), m.ID); err == nil {
				mv.Tags = tagViews(tags)
				mv.Format, _ = dataitem.Get(tags, ao.TagModuleFormat)
				mv.Name, _ = dataitem.Get(tags, "Name")
			}
		}
		out.Modules = append(out.Modules, mv)
	}
	writeJSON(w, http.StatusOK, out)
}
