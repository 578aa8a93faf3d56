package aocore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/vm"
)

// Scheduler is what the router needs of the SU (client.SU has it).
type Scheduler interface {
	Post(ctx context.Context, item []byte) (client.SUPosted, error)
	Message(ctx context.Context, id, pid string) (*client.SUMessage, error)
	Latest(ctx context.Context, pid string) (*client.SUMessage, error)
	Page(ctx context.Context, pid string, q client.SUQuery) (*client.SUPage, error)
}

// Compute is what the router needs of the CU (client.CU has it).
type Compute interface {
	Result(ctx context.Context, pid, mid string) (*client.CUResult, error)
	DryRun(ctx context.Context, pid string, msg client.DryRunMessage) (vm.Result, error)
	// Results pages the computed results, for the patch@1.0 state (patch.go).
	Results(ctx context.Context, pid string, q client.CUQuery) (*client.CUPage, error)
}

// Messenger is what the router needs of the MU (client.MU has it): push is the MU's POST /, so a pushed
// message's outbox is cranked exactly once, by the same durable queue as a legacy client's.
type Messenger interface {
	Post(ctx context.Context, item []byte) (string, error)
}

// RequestVerifier is the httpsig@1.0 hook for signed requests: Verify checks the RFC 9421 signature of r
// (whose body, already read, is body) in HyperBEAM's profile and returns the signer's address. Package httpsig
// implements it; until it is wired (Config.Verifier), requests carrying Signature / Signature-Input headers
// are answered 501.
type RequestVerifier interface {
	Verify(r *http.Request, body []byte) (signer string, err error)
}

// ResponseSigner is the httpsig@1.0 hook for answers: Sign adds the Signature and Signature-Input (and
// Content-Digest) headers of an answer with status and body, signed with the node's key, to h. It is called
// when the request asks accept-codec: httpsig@1.0.
type ResponseSigner interface {
	Sign(h http.Header, status int, body []byte) error
}

// Config configures a Router. SU, CU and MU are required.
type Config struct {
	SU Scheduler
	CU Compute
	MU Messenger
	// SchedulerAddress is the SU's wallet address: GET /~meta@1.0/info/address answers it, and aoconnect's
	// spawn puts it in the Scheduler (and, by default, the Authority) tag.
	SchedulerAddress string
	// Info is extra node information GET /~meta@1.0/info shows (unit URLs, say).
	Info map[string]string
	// Verifier and Signer are the httpsig@1.0 codec (see RequestVerifier, ResponseSigner); nil: not wired.
	Verifier RequestVerifier
	Signer   ResponseSigner
	// MaxBody bounds a request body; default 10 MiB, the SU's item limit.
	MaxBody int64
	// SlotWait is how long a push waits for its message's slot when the MU's write is being retried; default 10 s.
	SlotWait time.Duration
	Logger   *slog.Logger
}

// Router serves the AO-Core routes (doc.go lists them).
type Router struct {
	cfg     Config
	log     *slog.Logger
	patches patchStates
	slots   recentSlots
}

// New returns a Router. It starts nothing.
func New(cfg Config) (*Router, error) {
	if cfg.SU == nil || cfg.CU == nil || cfg.MU == nil {
		return nil, errors.New("aocore: Config.SU, CU and MU are required")
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 10 << 20
	}
	if cfg.SlotWait <= 0 {
		cfg.SlotWait = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Router{cfg: cfg, log: cfg.Logger}, nil
}

// Devices this router resolves; anything else is refused naming it.
var supportedDevices = []string{"meta@1.0", "process@1.0", "scheduler@1.0", "push@1.0"}

// httpError is an answer other than 200, with its status; every error of a route becomes one in one place
// (statusOf).
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func errorf(status int, format string, args ...any) error {
	return &httpError{status: status, msg: fmt.Sprintf(format, args...)}
}

// statusOf maps an error to its HTTP status: ours carry one; a unit's 4xx passes through (the client's input
// was bad); anything else from a unit is a 502.
func statusOf(err error) int {
	var he *httpError
	if errors.As(err, &he) {
		return he.status
	}
	var pe *PathError
	if errors.As(err, &pe) {
		return http.StatusBadRequest
	}
	var se *client.SUError
	if errors.As(err, &se) && se.Status >= 400 && se.Status < 500 {
		return se.Status
	}
	var ce *client.CUError
	if errors.As(err, &ce) && ce.Status >= 400 && ce.Status < 500 {
		return ce.Status
	}
	var me *client.MUError
	if errors.As(err, &me) && me.Status >= 400 && me.Status < 500 {
		return me.Status
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return http.StatusGatewayTimeout
	}
	return http.StatusBadGateway
}

// request is one parsed request: its path, its verified item (nil without an ans104 body) and the answer
// being built.
type request struct {
	r      *http.Request
	path   *Path
	item   *dataitem.Item
	body   []byte
	signer string // the httpsig signer, when a Verifier checked one
	// signAnswer: the client asked accept-codec: httpsig@1.0 (header or item tag)
	signAnswer bool
}

// answer is a route's answer: 200 unless status says otherwise.
type answer struct {
	status int
	header http.Header
	json   any    // encoded as the body when text is nil
	text   []byte // a text/plain body
}

// ServeHTTP parses, authenticates and resolves one request.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	if r.Method == http.MethodOptions {
		w.Header().Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		w.Header().Set("Access-Control-Allow-Headers", "*")
		w.Header().Set("Access-Control-Expose-Headers", "*")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("Access-Control-Expose-Headers", "*")
	req, err := rt.read(w, r)
	var a *answer
	if err == nil {
		a, err = rt.resolve(req)
	}
	if err != nil {
		st := statusOf(err)
		if st >= 500 {
			rt.log.Warn("aocore: request failed", "path", r.URL.Path, "status", st, "err", err)
		}
		writeJSON(w, st, map[string]string{"error": err.Error()})
		return
	}
	var body []byte
	if a.text != nil {
		body = a.text
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	} else {
		body, _ = json.Marshal(a.json)
		w.Header().Set("Content-Type", "application/json")
	}
	for k, vs := range a.header {
		w.Header()[k] = vs
	}
	status := http.StatusOK
	if a.status != 0 {
		status = a.status
	}
	if req.signAnswer && rt.cfg.Signer != nil {
		if err := rt.cfg.Signer.Sign(w.Header(), status, body); err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "httpsig@1.0: sign answer: " + err.Error()})
			return
		}
	}
	w.WriteHeader(status)
	w.Write(body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// read parses the path and reads, decodes and verifies the body, before any route runs: a request that
// fails here reaches no unit.
func (rt *Router) read(w http.ResponseWriter, r *http.Request) (*request, error) {
	p, err := ParsePath(r.URL.EscapedPath(), r.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	req := &request{r: r, path: p}
	if r.ContentLength > rt.cfg.MaxBody {
		return nil, errorf(http.StatusRequestEntityTooLarge, "body over the %d-byte limit", rt.cfg.MaxBody)
	}
	if req.body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, rt.cfg.MaxBody)); err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return nil, errorf(http.StatusRequestEntityTooLarge, "body over the %d-byte limit", rt.cfg.MaxBody)
		}
		return nil, errorf(http.StatusBadRequest, "read body: %v", err)
	}
	if hasCodec(r.Header.Get("Accept-Codec"), "httpsig@1.0") {
		if rt.cfg.Signer == nil {
			return nil, errorf(http.StatusNotImplemented, "accept-codec: httpsig@1.0: this node has no httpsig@1.0 response signer wired (aocore.Config.Signer)")
		}
		req.signAnswer = true
	}
	if r.Header.Get("Signature") != "" || r.Header.Get("Signature-Input") != "" {
		if rt.cfg.Verifier == nil {
			return nil, errorf(http.StatusNotImplemented, "httpsig@1.0 signed requests are not supported yet: this node has no HTTP Message Signatures verifier wired (aocore.Config.Verifier); send an ans104@1.0 body (Content-Type: application/ans104)")
		}
		if req.signer, err = rt.cfg.Verifier.Verify(r, req.body); err != nil {
			return nil, errorf(http.StatusBadRequest, "httpsig@1.0: %v", err)
		}
		return req, nil
	}
	if len(req.body) == 0 {
		return req, nil
	}
	ct := strings.ToLower(r.Header.Get("Content-Type"))
	if !strings.HasPrefix(ct, "application/ans104") && !strings.EqualFold(r.Header.Get("Codec-Device"), "ans104@1.0") {
		return nil, errorf(http.StatusUnsupportedMediaType, "request body codec %q is not supported: send a signed ans104@1.0 item (Content-Type: application/ans104)", firstNonEmpty(r.Header.Get("Codec-Device"), ct))
	}
	it, err := dataitem.Decode(req.body)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "ans104@1.0 body is not a valid ANS-104 data item: %v", err)
	}
	if err := it.Verify(); err != nil {
		return nil, errorf(http.StatusBadRequest, "ans104@1.0 body: data item %s does not verify: %v", it.ID(), err)
	}
	req.item = it
	if v, ok := tagFold(it.Tags, "accept-codec"); ok && hasCodec(v, "httpsig@1.0") {
		// aoconnect's spawn and results ask this in their item; answered unsigned until a Signer is wired
		// (doc.go), since aoconnect reads the answer either way.
		req.signAnswer = true
	}
	return req, nil
}

func hasCodec(v, codec string) bool {
	for _, f := range strings.Split(v, ",") {
		if strings.EqualFold(strings.TrimSpace(f), codec) {
			return true
		}
	}
	return false
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// tagFold returns the value of the first tag whose name is name, ignoring case (AO-Core keys are
// case-insensitive).
func tagFold(tags []dataitem.Tag, name string) (string, bool) {
	for _, t := range tags {
		if strings.EqualFold(t.Name, name) {
			return t.Value, true
		}
	}
	return "", false
}

// isID reports whether s looks like an Arweave id (43 base64url characters).
func isID(s string) bool {
	if len(s) != 43 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func unsupportedDevice(dev string) error {
	return errorf(http.StatusNotFound, "device %s is not supported by this node (supported: %s)", dev, strings.Join(supportedDevices, ", "))
}

// resolve routes a parsed request to its device.
func (rt *Router) resolve(req *request) (*answer, error) {
	segs := req.path.Segments
	if len(segs) == 0 {
		return nil, errorf(http.StatusNotFound, "empty AO-Core path: try /~meta@1.0/info")
	}
	for _, s := range segs {
		if s.Sub != nil {
			return nil, errorf(http.StatusBadRequest, "sub-path (%s) is not supported by this node's AO-Core router", strings.TrimPrefix(s.Sub.String(), "/"))
		}
		for _, p := range s.Params {
			if p.Sub != nil {
				return nil, errorf(http.StatusBadRequest, "sub-path value %s=(…) is not supported by this node's AO-Core router", p.Key)
			}
		}
	}
	first := segs[0]
	switch {
	case first.Key == "" && first.Device == "meta@1.0":
		return rt.meta(req, segs[1:])
	case first.Key == "" && first.Device == "scheduler@1.0":
		return rt.scheduler(req, "", segs[1:])
	case first.Key == "" && first.Device == "push@1.0" && len(segs) == 2 && strings.EqualFold(segs[1].Key, "push"),
		first.Device == "" && strings.EqualFold(first.Key, "push") && len(segs) == 1:
		return rt.push(req, "")
	case first.Key == "":
		return nil, unsupportedDevice(first.Device)
	case isID(first.Key):
		return rt.process(req, first, segs[1:])
	}
	return nil, errorf(http.StatusNotFound, "%q is neither a process id nor a key this node resolves at the root (supported: /~meta@1.0/…, /~scheduler@1.0/…, /push, /<process id>/…)", first.Key)
}

// meta serves ~meta@1.0: info and info/address.
func (rt *Router) meta(req *request, rest []Segment) (*answer, error) {
	if len(rest) == 0 || !strings.EqualFold(rest[0].Key, "info") || rest[0].Device != "" {
		return nil, errorf(http.StatusNotFound, "~meta@1.0 key %s is not supported (supported: info, info/address)", keyName(rest))
	}
	if len(rest) == 1 {
		info := map[string]any{"address": rt.cfg.SchedulerAddress, "devices": supportedDevices,
			"codecs": rt.codecs(), "variants": []string{ao.Variant, "ao.N.1"}}
		for k, v := range rt.cfg.Info {
			info[k] = v
		}
		return &answer{json: info}, nil
	}
	if len(rest) == 2 && strings.EqualFold(rest[1].Key, "address") {
		return &answer{text: []byte(rt.cfg.SchedulerAddress)}, nil
	}
	return nil, errorf(http.StatusNotFound, "~meta@1.0 key info/%s is not supported (supported: info, info/address)", keyName(rest[1:]))
}

func (rt *Router) codecs() []string {
	c := []string{"ans104@1.0", "json@1.0"}
	if rt.cfg.Verifier != nil {
		c = append(c, "httpsig@1.0")
	}
	return c
}

func keyName(segs []Segment) string {
	if len(segs) == 0 {
		return `""`
	}
	s := segs[0]
	if s.Device != "" {
		return s.Key + "~" + s.Device
	}
	return s.Key
}

// process serves /<pid>[~process@1.0]/…: the keys of ~process@1.0, and ~scheduler@1.0 / ~push@1.0 after it.
func (rt *Router) process(req *request, first Segment, rest []Segment) (*answer, error) {
	pid := first.Key
	switch first.Device {
	case "", "process@1.0":
	case "scheduler@1.0":
		return rt.scheduler(req, pid, rest)
	case "push@1.0":
		if len(rest) == 1 && strings.EqualFold(rest[0].Key, "push") {
			return rt.push(req, pid)
		}
		return nil, errorf(http.StatusNotFound, "~push@1.0 key %s is not supported (supported: push)", keyName(rest))
	default:
		return nil, unsupportedDevice(first.Device)
	}
	if len(rest) == 0 {
		return nil, errorf(http.StatusNotFound, "~process@1.0 needs a key (supported: push, schedule, compute, now, slot, as=execution/compute)")
	}
	k := rest[0]
	if k.Key == "" {
		switch k.Device {
		case "scheduler@1.0":
			return rt.scheduler(req, pid, rest[1:])
		case "push@1.0":
			if len(rest) == 2 && strings.EqualFold(rest[1].Key, "push") {
				return rt.push(req, pid)
			}
			return nil, errorf(http.StatusNotFound, "~push@1.0 key %s is not supported (supported: push)", keyName(rest[1:]))
		}
		return nil, unsupportedDevice(k.Device)
	}
	if k.Device != "" && k.Device != "process@1.0" {
		return nil, unsupportedDevice(k.Device)
	}
	switch strings.ToLower(k.Key) {
	case "push":
		if len(rest) > 1 {
			return nil, errorf(http.StatusNotFound, "~process@1.0 push/%s is not supported", keyName(rest[1:]))
		}
		return rt.push(req, pid)
	case "schedule":
		return rt.schedule(req, pid, rest[1:])
	case "compute":
		return rt.compute(req, pid, k, rest[1:])
	case "now":
		return rt.now(req, pid, rest[1:])
	case "slot":
		return rt.slot(req, pid, rest[1:])
	case "as":
		if !strings.EqualFold(k.Value, "execution") || len(rest) != 2 || !strings.EqualFold(rest[1].Key, "compute") {
			return nil, errorf(http.StatusNotFound, "~process@1.0 as=%s is not supported (supported: as=execution/compute&Tag=Value…)", k.Value)
		}
		return rt.dryRun(req, pid, rest[1])
	}
	return nil, errorf(http.StatusNotFound, "~process@1.0 key %s is not supported (supported: push, schedule, compute, now, slot, as=execution/compute)", keyName(rest))
}

// needItem is the signed item a writing route needs.
func needItem(req *request, route string) (*dataitem.Item, error) {
	if req.item == nil {
		return nil, errorf(http.StatusBadRequest, "%s needs a signed ans104@1.0 item as the body (Content-Type: application/ans104)", route)
	}
	if req.r.Method != http.MethodPost {
		return nil, errorf(http.StatusMethodNotAllowed, "%s is POST only", route)
	}
	return req.item, nil
}

// push hands the item to the MU (which schedules it and cranks its outbox, exactly once) and answers its
// slot. A Process item is a spawn: the answer carries the new process id in header `process`.
func (rt *Router) push(req *request, pid string) (*answer, error) {
	it, err := needItem(req, "push")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(req.r.Context()), time.Minute)
	defer cancel()
	switch ao.TypeOf(it.Tags) {
	case ao.TypeProcess:
		if pid != "" {
			return nil, errorf(http.StatusBadRequest, "push of Process item %s to process %s: spawn with POST /push", it.ID(), pid)
		}
		if err := ao.CheckProcess(it); err != nil {
			return nil, errorf(http.StatusBadRequest, "spawn: %v", err)
		}
		if err := checkProcessDevices(it.Tags); err != nil {
			return nil, err
		}
		id, err := rt.cfg.MU.Post(ctx, req.body)
		if err != nil {
			return nil, fmt.Errorf("spawn %s: %w", it.ID(), err)
		}
		h := http.Header{}
		h.Set("process", id)
		h.Set("id", id)
		h.Set("slot", "0")
		return &answer{header: h, json: map[string]any{"process": id, "id": id, "slot": 0}}, nil
	case ao.TypeMessage:
		if err := ao.CheckMessage(it); err != nil {
			return nil, errorf(http.StatusBadRequest, "push: %v", err)
		}
		if pid == "" {
			pid = it.TargetID()
		} else if it.TargetID() != pid {
			return nil, errorf(http.StatusBadRequest, "push to %s: the item's target is %s", pid, it.TargetID())
		}
		id, err := rt.cfg.MU.Post(ctx, req.body)
		if err != nil {
			return nil, fmt.Errorf("push %s: %w", it.ID(), err)
		}
		sm, err := rt.waitSlot(ctx, id, pid)
		if client.IsSUStatus(err, http.StatusNotFound) {
			// The MU holds the message durably and is retrying its write (an SU that was down): it will be
			// scheduled, the slot is not known yet.
			h := http.Header{}
			h.Set("process", pid)
			h.Set("id", id)
			return &answer{status: http.StatusAccepted, header: h, json: map[string]any{"process": pid, "id": id}}, nil
		}
		if err != nil {
			return nil, fmt.Errorf("push %s: the MU took it, but its slot: %w", id, err)
		}
		rt.slots.put(pid, sm.Nonce(), id)
		return slotAnswer(pid, id, sm), nil
	}
	return nil, errorf(http.StatusBadRequest, "push: item %s is not an ao Message or Process (needs Data-Protocol: ao and Type)", it.ID())
}

// processDevices are the device tags of a Process item aoconnect's spawn sets and the only value of each this
// node runs: processes execute on the CU's wasm machines, as HyperBEAM's genesis-wasm@1.0 runs them on a
// legacy CU. A tag left out is fine (legacy-style items have none).
var processDevices = map[string]string{"device": "process@1.0", "scheduler-device": "scheduler@1.0",
	"push-device": "push@1.0", "execution-device": "genesis-wasm@1.0"}

// checkProcessDevices refuses a spawn asking for a device this node does not run, naming it, rather than run
// it on another one.
func checkProcessDevices(tags []dataitem.Tag) error {
	for _, t := range tags {
		if want, ok := processDevices[strings.ToLower(t.Name)]; ok && !strings.EqualFold(t.Value, want) {
			return errorf(http.StatusBadRequest, "spawn: %s %s is not supported by this node (supported: %s)", strings.ToLower(t.Name), t.Value, want)
		}
	}
	return nil
}

// waitSlot finds the slot of message id, which the MU has accepted: at once when its inline write succeeded,
// after the MU's retry otherwise.
func (rt *Router) waitSlot(ctx context.Context, id, pid string) (*client.SUMessage, error) {
	deadline := time.Now().Add(rt.cfg.SlotWait)
	for {
		sm, err := rt.cfg.SU.Message(ctx, id, pid)
		if err == nil || !client.IsSUStatus(err, http.StatusNotFound) || time.Now().After(deadline) {
			return sm, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func slotAnswer(pid, id string, sm *client.SUMessage) *answer {
	h := http.Header{}
	h.Set("slot", strconv.FormatInt(sm.Nonce(), 10))
	h.Set("timestamp", strconv.FormatInt(sm.Timestamp(), 10))
	h.Set("process", pid)
	h.Set("id", id)
	h.Set("message", id)
	return &answer{header: h, json: map[string]any{"slot": sm.Nonce(), "timestamp": sm.Timestamp(), "process": pid, "id": id}}
}

// schedule: POST assigns the item a slot on the SU without cranking (the route the reference MU forwards
// ao.N.1 messages to; it cranks itself); GET lists the log in the legacy SU page format.
func (rt *Router) schedule(req *request, pid string, rest []Segment) (*answer, error) {
	if len(rest) > 0 {
		return nil, errorf(http.StatusNotFound, "schedule/%s is not supported", keyName(rest))
	}
	if req.r.Method == http.MethodGet {
		return rt.schedulePage(req, pid)
	}
	it, err := needItem(req, "schedule")
	if err != nil {
		return nil, err
	}
	switch ao.TypeOf(it.Tags) {
	case ao.TypeMessage:
		if err := ao.CheckMessage(it); err != nil {
			return nil, errorf(http.StatusBadRequest, "schedule: %v", err)
		}
		if pid != "" && it.TargetID() != pid {
			return nil, errorf(http.StatusBadRequest, "schedule on %s: the item's target is %s", pid, it.TargetID())
		}
		pid = it.TargetID()
	case ao.TypeProcess:
		if err := ao.CheckProcess(it); err != nil {
			return nil, errorf(http.StatusBadRequest, "schedule: %v", err)
		}
		if pid != "" && pid != it.ID() {
			return nil, errorf(http.StatusBadRequest, "schedule of Process %s on %s", it.ID(), pid)
		}
		pid = it.ID()
	default:
		return nil, errorf(http.StatusBadRequest, "schedule: item %s is not an ao Message or Process", it.ID())
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(req.r.Context()), time.Minute)
	defer cancel()
	posted, err := rt.cfg.SU.Post(ctx, req.body)
	if err != nil {
		return nil, fmt.Errorf("schedule %s: %w", it.ID(), err)
	}
	sm, err := rt.cfg.SU.Message(ctx, posted.ID, pid)
	if err != nil {
		return nil, fmt.Errorf("schedule %s: slot: %w", it.ID(), err)
	}
	rt.slots.put(pid, sm.Nonce(), posted.ID)
	return slotAnswer(pid, posted.ID, sm), nil
}

// Default and largest page of GET …/schedule.
const (
	defaultPageLimit = 100
	maxPageLimit     = 1000
)

// schedulePage answers the log of a process (target= when not in the path) from slot from to slot to,
// inclusive, in the legacy SU page format (accept=application/aos-2, the only format served).
func (rt *Router) schedulePage(req *request, pid string) (*answer, error) {
	q := map[string]string{}
	for _, p := range append(req.path.Query, lastParams(req.path)...) {
		q[strings.ToLower(p.Key)] = p.Value
	}
	if pid == "" {
		pid = q["target"]
	}
	if !isID(pid) {
		return nil, errorf(http.StatusBadRequest, "schedule: target %q is not a process id", pid)
	}
	if a := q["accept"]; a != "" && !strings.EqualFold(a, "application/aos-2") && !strings.EqualFold(a, "application/json") {
		return nil, errorf(http.StatusNotAcceptable, "schedule: accept %q is not supported (supported: application/aos-2)", a)
	}
	sq := client.SUQuery{Limit: defaultPageLimit}
	if v, ok := q["from"]; ok && v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return nil, errorf(http.StatusBadRequest, "schedule: from %q is not a slot", v)
		}
		from := n - 1 // the SU's from-nonce is exclusive
		sq.FromNonce = &from
	} else {
		from := int64(-1)
		sq.FromNonce = &from
	}
	if v, ok := q["to"]; ok && v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return nil, errorf(http.StatusBadRequest, "schedule: to %q is not a slot", v)
		}
		sq.ToNonce = &n
	}
	if v, ok := q["limit"]; ok && v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return nil, errorf(http.StatusBadRequest, "schedule: limit %q is not a positive number", v)
		}
		sq.Limit = min(n, maxPageLimit)
	}
	page, err := rt.cfg.SU.Page(req.r.Context(), pid, sq)
	if err != nil {
		return nil, fmt.Errorf("schedule of %s: %w", pid, err)
	}
	return &answer{json: page}, nil
}

// lastParams are the parameters of the path's last segment (…/schedule&from=1).
func lastParams(p *Path) []Param {
	if len(p.Segments) == 0 {
		return nil
	}
	return p.Segments[len(p.Segments)-1].Params
}

// scheduler serves ~scheduler@1.0: schedule (GET page, POST assign) and slot.
func (rt *Router) scheduler(req *request, pid string, rest []Segment) (*answer, error) {
	if len(rest) == 0 {
		return nil, errorf(http.StatusNotFound, "~scheduler@1.0 needs a key (supported: schedule, slot)")
	}
	switch strings.ToLower(rest[0].Key) {
	case "schedule":
		return rt.schedule(req, pid, rest[1:])
	case "slot":
		if pid == "" {
			for _, p := range append(req.path.Query, rest[0].Params...) {
				if p.Is("target") {
					pid = p.Value
				}
			}
		}
		return rt.slot(req, pid, rest[1:])
	}
	return nil, errorf(http.StatusNotFound, "~scheduler@1.0 key %s is not supported (supported: schedule, slot)", keyName(rest))
}

// slot answers the process's latest slot as text (slot, slot/current).
func (rt *Router) slot(req *request, pid string, rest []Segment) (*answer, error) {
	if len(rest) > 1 || len(rest) == 1 && !strings.EqualFold(rest[0].Key, "current") {
		return nil, errorf(http.StatusNotFound, "slot/%s is not supported (supported: slot, slot/current)", keyName(rest))
	}
	if !isID(pid) {
		return nil, errorf(http.StatusBadRequest, "slot: %q is not a process id", pid)
	}
	sm, err := rt.cfg.SU.Latest(req.r.Context(), pid)
	if err != nil {
		return nil, fmt.Errorf("slot of %s: %w", pid, err)
	}
	return &answer{text: []byte(strconv.FormatInt(sm.Nonce(), 10))}, nil
}

// compute serves compute&slot=N, compute=N, compute/N, compute/results=<slot|id> and compute/results.
func (rt *Router) compute(req *request, pid string, k Segment, rest []Segment) (*answer, error) {
	which := ""
	if k.HasValue {
		which = k.Value
	}
	for _, p := range k.Params {
		if p.Is("slot") || p.Is("compute") || p.Is("results") {
			which = p.Value
		}
	}
	for _, p := range req.path.Query {
		if which == "" && (p.Is("slot") || p.Is("compute")) {
			which = p.Value
		}
	}
	switch {
	case len(rest) == 0:
	case strings.EqualFold(rest[0].Key, "cache") && rest[0].Device == "" && !rest[0].HasValue:
		if which != "" {
			return nil, errorf(http.StatusNotFound, "compute&slot=%s/cache: patch@1.0 state is served at the latest slot only (…/compute/cache/<key>, …/now/cache/<key>)", which)
		}
		return rt.cache(req, pid, rest[1:])
	case len(rest) == 1 && strings.EqualFold(rest[0].Key, "results") && rest[0].Device == "":
		if rest[0].HasValue {
			which = rest[0].Value
		}
	case len(rest) == 1 && which == "" && rest[0].Device == "" && !rest[0].HasValue:
		which = rest[0].Key // compute/<slot or id>
	default:
		return nil, errorf(http.StatusNotFound, "compute/%s is not supported (supported: compute/results=<slot|id>, compute&slot=N)", keyName(rest))
	}
	if which == "" {
		return rt.now(req, pid, nil)
	}
	return rt.result(req, pid, which)
}

// result answers {"raw": result} for a slot number or a message id.
func (rt *Router) result(req *request, pid, which string) (*answer, error) {
	ctx := req.r.Context()
	mid := which
	var slot int64 = -1
	if !isID(which) {
		n, err := strconv.ParseInt(which, 10, 64)
		if err != nil || n < 0 {
			return nil, errorf(http.StatusBadRequest, "compute: %q is neither a slot number nor a message id", which)
		}
		slot = n
		var ok bool
		if mid, ok = rt.slots.get(pid, n); !ok {
			from := n - 1
			page, err := rt.cfg.SU.Page(ctx, pid, client.SUQuery{FromNonce: &from, ToNonce: &n, Limit: 1})
			if err != nil {
				return nil, fmt.Errorf("compute slot %d of %s: %w", n, pid, err)
			}
			if len(page.Edges) == 0 {
				return nil, errorf(http.StatusNotFound, "process %s has no slot %d", pid, n)
			}
			mid = page.Edges[0].Node.MessageID()
			rt.slots.put(pid, n, mid)
		}
	}
	res, err := rt.cfg.CU.Result(ctx, pid, mid)
	if err != nil {
		return nil, fmt.Errorf("compute %s of %s: %w", which, pid, err)
	}
	out := map[string]any{"raw": json.RawMessage(res.Body), "process": pid, "id": mid}
	h := http.Header{}
	h.Set("process", pid)
	if slot >= 0 {
		out["slot"] = slot
		h.Set("slot", strconv.FormatInt(slot, 10))
	}
	return &answer{header: h, json: out}, nil
}

// now answers the result of the latest slot ({"raw": …, "slot"}).
func (rt *Router) now(req *request, pid string, rest []Segment) (*answer, error) {
	if len(rest) > 0 && strings.EqualFold(rest[0].Key, "cache") && rest[0].Device == "" && !rest[0].HasValue {
		return rt.cache(req, pid, rest[1:])
	}
	if len(rest) > 0 {
		return nil, errorf(http.StatusNotFound, "now/%s is not supported (supported: now, now/cache/<key>)", keyName(rest))
	}
	sm, err := rt.cfg.SU.Latest(req.r.Context(), pid)
	if err != nil {
		return nil, fmt.Errorf("now of %s: %w", pid, err)
	}
	return rt.result(req, pid, strconv.FormatInt(sm.Nonce(), 10))
}

// dryRun evaluates a message made of the compute segment's parameters (its tags, in order) and the request
// item's data, owner and tags against the latest state, leaving it unchanged.
func (rt *Router) dryRun(req *request, pid string, k Segment) (*answer, error) {
	msg := client.DryRunMessage{Target: pid, Data: "1984"}
	seen := map[string]bool{}
	for _, p := range append(append([]Param{}, k.Params...), req.path.Query...) {
		msg.Tags = append(msg.Tags, dataitem.Tag{Name: p.Key, Value: p.Value})
		seen[strings.ToLower(p.Key)] = true
	}
	if it := req.item; it != nil {
		msg.ID, msg.Owner, msg.Data = it.ID(), it.OwnerAddress(), string(it.Data)
		for _, t := range it.Tags {
			if !seen[strings.ToLower(t.Name)] {
				msg.Tags = append(msg.Tags, t)
			}
		}
	} else if req.signer != "" {
		msg.Owner = req.signer
	}
	res, err := rt.cfg.CU.DryRun(req.r.Context(), pid, msg)
	if err != nil {
		return nil, fmt.Errorf("dry-run on %s: %w", pid, err)
	}
	return &answer{json: map[string]any{"raw": res, "process": pid}}, nil
}

// compile-time checks that the unit clients are what the router needs.
var (
	_ Scheduler = (*client.SU)(nil)
	_ Compute   = (*client.CU)(nil)
	_ Messenger = (*client.MU)(nil)
)
