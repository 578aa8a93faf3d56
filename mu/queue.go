package mu

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// queue holds the tasks to work in memory; the store is the truth and the queue is rebuilt from it at start.
// Tasks due now are served first in, first out; tasks waiting for a retry sit in a heap by due time.
type queue struct {
	now func() time.Time

	mu      sync.Mutex
	ready   []Task
	delayed taskHeap
	wake    chan struct{}
}

func newQueue(now func() time.Time) *queue {
	return &queue{now: now, wake: make(chan struct{}, 1)}
}

func (q *queue) push(t Task) {
	q.mu.Lock()
	if !t.NextAt.IsZero() && t.NextAt.After(q.now()) {
		heap.Push(&q.delayed, t)
	} else {
		q.ready = append(q.ready, t)
	}
	q.mu.Unlock()
	q.signal()
}

func (q *queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// pop blocks until a task is due or ctx is done.
func (q *queue) pop(ctx context.Context) (Task, bool) {
	for {
		q.mu.Lock()
		now := q.now()
		for q.delayed.Len() > 0 && !q.delayed[0].NextAt.After(now) {
			q.ready = append(q.ready, heap.Pop(&q.delayed).(Task))
		}
		if len(q.ready) > 0 {
			t := q.ready[0]
			q.ready[0] = Task{}
			q.ready = q.ready[1:]
			more := len(q.ready) > 0
			q.mu.Unlock()
			if more {
				// Pass the wake-up on: one signal may stand for several pushes.
				q.signal()
			}
			return t, true
		}
		wait := time.Hour
		if q.delayed.Len() > 0 {
			wait = q.delayed[0].NextAt.Sub(now)
		}
		q.mu.Unlock()
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return Task{}, false
		case <-q.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// depth returns the number of tasks due now and waiting for a retry.
func (q *queue) depth() (ready, delayed int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.ready), q.delayed.Len()
}

type taskHeap []Task

func (h taskHeap) Len() int           { return len(h) }
func (h taskHeap) Less(i, j int) bool { return h[i].NextAt.Before(h[j].NextAt) }
func (h taskHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *taskHeap) Push(x any)        { *h = append(*h, x.(Task)) }
func (h *taskHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}
