package verify

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/cu"
)

// The replay is the CU's own evaluation (package cu), run in this process on the log the verifier has
// checked: feed is its Scheduler (it serves the checked slots, nothing else), evalStore its Store (every
// evaluation is handed to the comparison as it is saved; checkpoints become the verifier's own), cachedItems
// its item source (modules and assigned messages from the source, once). Results are then byte-identical to
// what an honest CU computes from the same log.

// feed serves the checked slots of one process to the embedded CU as an SU would.
type feed struct {
	pid  string
	proc *client.SUProcess

	mu    sync.Mutex
	slots []client.SUMessage // checked, not yet evaluated, ascending nonces
	byMsg map[string]int     // message id → index in slots
}

func newFeed(pid string, proc *client.SUProcess) *feed {
	return &feed{pid: pid, proc: proc, byMsg: map[string]int{}}
}

// add appends checked slots.
func (f *feed) add(slots []Slot) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range slots {
		f.byMsg[slots[i].Node.MessageID()] = len(f.slots)
		f.slots = append(f.slots, slots[i].Node)
	}
}

// reset drops every slot (they were evaluated).
func (f *feed) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.slots = f.slots[:0]
	clear(f.byMsg)
}

func (f *feed) Process(_ context.Context, pid string) (*client.SUProcess, error) {
	if pid != f.pid {
		return nil, &client.SUError{Status: http.StatusNotFound, Message: "not the process being verified"}
	}
	return f.proc, nil
}

func (f *feed) Page(_ context.Context, pid string, q client.SUQuery) (*client.SUPage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	page := &client.SUPage{}
	limit := q.Limit
	if limit <= 0 {
		limit = 1000
	}
	for _, s := range f.slots {
		n := s.Nonce()
		if q.FromNonce != nil && n <= *q.FromNonce || q.ToNonce != nil && n > *q.ToNonce {
			continue
		}
		if len(page.Edges) == limit {
			page.PageInfo.HasNextPage = true
			break
		}
		page.Edges = append(page.Edges, client.SUEdge{Node: s})
	}
	return page, nil
}

func (f *feed) Message(_ context.Context, id, pid string) (*client.SUMessage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i, ok := f.byMsg[id]
	if !ok || pid != f.pid {
		return nil, &client.SUError{Status: http.StatusNotFound, Message: "message not in the checked log"}
	}
	s := f.slots[i]
	return &s, nil
}

func (f *feed) Timestamp(context.Context) (client.SUTimestamp, error) {
	return client.SUTimestamp{}, fmt.Errorf("verify: the replay has no clock")
}

// cachedItems serves the messages of the current window (the source read them already) and reads anything
// else (the module) from the source's item store.
type cachedItems struct {
	next Items
	mu   sync.Mutex
	raw  map[string][]byte
}

func (c *cachedItems) put(slots []Slot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.raw)
	for _, s := range slots {
		if s.Node.Message == nil && s.Message != nil {
			c.raw[s.Node.MessageID()] = s.Message
		}
	}
}

func (c *cachedItems) Item(ctx context.Context, id string) ([]byte, error) {
	c.mu.Lock()
	raw, ok := c.raw[id]
	c.mu.Unlock()
	if ok {
		return raw, nil
	}
	if c.next == nil {
		return nil, fmt.Errorf("item %s: no item source (give a gateway)", id)
	}
	return c.next.Item(ctx, id)
}

// evalStore is the embedded CU's store: it keeps only what the replay needs now (the evaluations of the
// current window, the ids of messages assigned from elsewhere, the latest checkpoint) and hands every
// evaluation to onEval and every checkpoint to onCheckpoint.
type evalStore struct {
	onEval       func(ev *cu.Eval)
	onCheckpoint func(cp cu.Checkpoint) error

	mu       sync.Mutex
	window   map[string]*cu.Eval // message id → evaluation, current window
	assigned map[string]bool     // ids of messages evaluated from assignments without their message
	cp       *cu.Checkpoint
}

func newEvalStore() *evalStore {
	return &evalStore{window: map[string]*cu.Eval{}, assigned: map[string]bool{}}
}

func (s *evalStore) SaveEvals(_ context.Context, evals []cu.Eval) error {
	for i := range evals {
		ev := evals[i]
		if ev.Message != "" {
			s.mu.Lock()
			s.window[ev.Message] = &ev
			s.mu.Unlock()
		}
		s.onEval(&ev)
	}
	return nil
}

// markAssigned records that mid was evaluated from an assignment: a second assignment of it is dropped.
func (s *evalStore) markAssigned(mid string) {
	s.mu.Lock()
	s.assigned[mid] = true
	s.mu.Unlock()
}

func (s *evalStore) newWindow() {
	s.mu.Lock()
	clear(s.window)
	s.mu.Unlock()
}

func (s *evalStore) EvalByMessage(_ context.Context, pid, mid string) (*cu.Eval, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ev, ok := s.window[mid]; ok {
		return ev, nil
	}
	if s.assigned[mid] {
		return &cu.Eval{Process: pid, Message: mid}, nil
	}
	return nil, cu.ErrNotFound
}

func (s *evalStore) Evals(context.Context, string, cu.EvalQuery) ([]cu.Eval, bool, error) {
	return nil, false, nil
}

func (s *evalStore) SetAttestation(context.Context, string, int64, []byte) error { return nil }

func (s *evalStore) SaveCheckpoint(_ context.Context, cp cu.Checkpoint) error {
	if s.onCheckpoint != nil {
		if err := s.onCheckpoint(cp); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.cp = &cp
	s.mu.Unlock()
	return nil
}

func (s *evalStore) LatestCheckpoint(context.Context, string) (*cu.Checkpoint, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cp == nil {
		return nil, cu.ErrNotFound
	}
	cp := *s.cp
	return &cp, nil
}
