package aocore

import (
	"container/list"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/aogo/aogo/client"
)

// patch@1.0 state exposure. An aos process publishes state with
//
//	Send({ device = 'patch@1.0', cache = { balance = "5" } })
//
// which leaves an outbox message without a Target, tagged device: patch@1.0, whose other tags (here `cache`,
// a JSON object) HyperBEAM's genesis-wasm device merges into the process's state instead of sending. The
// router does the same over the CU's results: the state is the deep merge, in evaluation order, of every
// patch message of every successful result, served at /<pid>~process@1.0/compute/cache/<key> and
// /<pid>~process@1.0/now/cache/<key> (after computing to the latest slot). Keys compare case-insensitively.
//
// Each process's merged state is kept (up to MaxPatchProcesses, least recently used out) with the cursor of
// the last result folded in, so a read folds only the results since the last one.

// Bounds of the patch state.
const (
	MaxPatchProcesses = 256     // processes whose merged state is kept
	MaxPatchBytes     = 1 << 20 // JSON size of one process's merged state; a process publishing more is refused
	patchPageLimit    = 1000    // results per CU request (the CU's maximum)
)

// patchMeta are the tags of a patch message that are its envelope, not state.
var patchMeta = map[string]bool{"data-protocol": true, "variant": true, "type": true, "reference": true, "device": true,
	"method": true, "anchor": true, "target": true, "from-process": true, "from-module": true, "pushed-for": true}

type patchStates struct {
	mu    sync.Mutex
	procs map[string]*list.Element // of *patchState
	lru   *list.List
}

type patchState struct {
	mu     sync.Mutex // held while folding new results in
	pid    string
	cursor string // of the last result folded in; "" before the first
	state  map[string]any
	size   int
	err    error // a process over MaxPatchBytes stays refused
}

func (ps *patchStates) get(pid string) *patchState {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.procs == nil {
		ps.procs, ps.lru = map[string]*list.Element{}, list.New()
	}
	if e, ok := ps.procs[pid]; ok {
		ps.lru.MoveToFront(e)
		return e.Value.(*patchState)
	}
	s := &patchState{pid: pid, state: map[string]any{}}
	ps.procs[pid] = ps.lru.PushFront(s)
	for ps.lru.Len() > MaxPatchProcesses {
		old := ps.lru.Back()
		ps.lru.Remove(old)
		delete(ps.procs, old.Value.(*patchState).pid)
	}
	return s
}

// cache serves …/compute/cache/<key…> and …/now/cache/<key…>: the process computed to its latest slot, then
// the value at the key path of its patch@1.0 state.
func (rt *Router) cache(req *request, pid string, keys []Segment) (*answer, error) {
	if len(keys) == 0 {
		return nil, errorf(http.StatusNotFound, "cache needs a key: …/cache/<key>")
	}
	for _, k := range keys {
		if k.Device != "" || k.HasValue || len(k.Params) > 0 {
			return nil, errorf(http.StatusBadRequest, "cache key %s: only plain keys are supported", keyName([]Segment{k}))
		}
	}
	ctx := req.r.Context()
	// Compute to the latest slot first, so the state includes every scheduled message.
	if _, err := rt.now(req, pid, nil); err != nil {
		return nil, err
	}
	s := rt.patches.get(pid)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.fold(ctx, rt.cfg.CU); err != nil {
		return nil, err
	}
	var v any = s.state
	path := "cache"
	for _, k := range append([]Segment{{Key: "cache"}}, keys...) {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, errorf(http.StatusNotFound, "patch@1.0 state of %s has no key %s", pid, path)
		}
		if v, ok = lookupFold(m, k.Key); !ok {
			if k.Key != "cache" {
				path += "/" + k.Key
			}
			return nil, errorf(http.StatusNotFound, "patch@1.0 state of %s has no key %s", pid, path)
		}
		if k.Key != "cache" {
			path += "/" + k.Key
		}
	}
	h := http.Header{}
	h.Set("process", pid)
	switch x := v.(type) {
	case string:
		return &answer{header: h, text: []byte(x)}, nil
	case json.Number:
		return &answer{header: h, text: []byte(x.String())}, nil
	case bool:
		return &answer{header: h, text: []byte(strconv.FormatBool(x))}, nil
	}
	return &answer{header: h, json: v}, nil
}

func lookupFold(m map[string]any, key string) (any, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

// fold merges the patch messages of the results after s.cursor into s.state.
func (s *patchState) fold(ctx context.Context, pr Compute) error {
	if s.err != nil {
		return s.err
	}
	for {
		page, err := pr.Results(ctx, s.pid, client.CUQuery{From: s.cursor, Sort: "ASC", Limit: patchPageLimit})
		if err != nil {
			return fmt.Errorf("patch@1.0 state of %s: results: %w", s.pid, err)
		}
		for _, e := range page.Edges {
			for _, raw := range e.Node.Messages {
				patch, ok := patchOf(raw)
				if !ok {
					continue
				}
				deepMerge(s.state, patch)
				b, _ := json.Marshal(s.state)
				if s.size = len(b); s.size > MaxPatchBytes {
					s.err = errorf(http.StatusInsufficientStorage, "patch@1.0 state of %s is over the %d-byte limit this node serves", s.pid, MaxPatchBytes)
					s.state = map[string]any{}
					return s.err
				}
			}
			s.cursor = e.Cursor
		}
		if !page.PageInfo.HasNextPage || len(page.Edges) == 0 {
			return nil
		}
	}
}

// patchOf returns the state a patch@1.0 outbox message carries (its tags and root keys other than the
// envelope), ok false when raw is not one.
func patchOf(raw json.RawMessage) (map[string]any, bool) {
	var msg map[string]json.RawMessage
	if json.Unmarshal(raw, &msg) != nil {
		return nil, false
	}
	out := map[string]any{}
	isPatch := false
	put := func(name string, v any) {
		k := strings.ToLower(name)
		if k == "device" {
			if s, _ := v.(string); strings.EqualFold(s, "patch@1.0") {
				isPatch = true
			}
		}
		if patchMeta[k] {
			return
		}
		out[k] = v
	}
	for k, v := range msg {
		switch k {
		case "Tags", "Target", "Anchor", "Data":
			continue
		}
		if val, ok := decodeNumbers(v); ok {
			put(k, val)
		}
	}
	var tags []struct {
		Name  string          `json:"name"`
		Value json.RawMessage `json:"value"`
	}
	if t, ok := msg["Tags"]; ok {
		json.Unmarshal(t, &tags)
	}
	for _, t := range tags {
		if val, ok := decodeNumbers(t.Value); ok {
			put(t.Name, val)
		}
	}
	if target, ok := msg["Target"]; ok && string(target) != "null" && string(target) != `""` {
		return nil, false // a message to send, even if it names patch@1.0
	}
	return out, isPatch
}

func decodeNumbers(raw json.RawMessage) (any, bool) {
	d := json.NewDecoder(strings.NewReader(string(raw)))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return nil, false
	}
	return v, true
}

// deepMerge merges src into dst: maps key by key (keys lowercased, as HyperBEAM's are), anything else replaces.
func deepMerge(dst, src map[string]any) {
	for k, v := range src {
		k = strings.ToLower(k)
		if sm, ok := v.(map[string]any); ok {
			dm, ok := dst[k].(map[string]any)
			if !ok {
				dm = map[string]any{}
				dst[k] = dm
			}
			deepMerge(dm, sm)
			continue
		}
		dst[k] = v
	}
}
