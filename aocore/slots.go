package aocore

import (
	"strconv"
	"sync"
)

// maxRecentSlots bounds the slot → message id memory of recent pushes.
const maxRecentSlots = 4096

// recentSlots remembers the message id of slots this router assigned (push, schedule), so that the result
// request aoconnect sends right after a push (compute/results=<slot>) needs no SU lookup. A slot's message
// never changes once assigned, so an entry is never stale; the oldest are forgotten first.
type recentSlots struct {
	mu    sync.Mutex
	ids   map[string]string
	order []string // ring of keys, oldest at next
	next  int
}

func slotKey(pid string, slot int64) string { return pid + "/" + strconv.FormatInt(slot, 10) }

func (s *recentSlots) put(pid string, slot int64, id string) {
	if slot < 0 || id == "" {
		return
	}
	k := slotKey(pid, slot)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ids == nil {
		s.ids, s.order = map[string]string{}, make([]string, 0, maxRecentSlots)
	}
	if _, ok := s.ids[k]; ok {
		return
	}
	if len(s.order) < maxRecentSlots {
		s.order = append(s.order, k)
	} else {
		delete(s.ids, s.order[s.next])
		s.order[s.next] = k
		s.next = (s.next + 1) % maxRecentSlots
	}
	s.ids[k] = id
}

func (s *recentSlots) get(pid string, slot int64) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.ids[slotKey(pid, slot)]
	return id, ok
}
