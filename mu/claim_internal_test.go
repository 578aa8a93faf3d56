package mu

import (
	"context"
	"testing"
	"time"
)

// A task a worker pops while another goroutine still holds it (an operator unparks a task whose worker is
// still parking it) must run once the holder releases it, not be dropped.
func TestClaimOrDeferRequeuesOnRelease(t *testing.T) {
	m := &MU{inflight: map[int64]bool{}, deferred: map[int64]Task{}, q: newQueue(time.Now)}
	if !m.claim(7) {
		t.Fatal("first claim refused")
	}
	unparked := Task{ID: 7, Stage: StagePull}
	if m.claimOrDefer(unparked) {
		t.Fatal("a held task was claimed twice")
	}
	if ready, delayed := m.q.depth(); ready+delayed != 0 {
		t.Fatalf("deferred task queued before release: %d %d", ready, delayed)
	}
	m.release(7)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got, ok := m.q.pop(ctx)
	if !ok || got.ID != 7 || got.Stage != StagePull {
		t.Fatalf("after release: %+v %v", got, ok)
	}
	if !m.claimOrDefer(got) {
		t.Fatal("released task not claimable")
	}
	m.release(7)
	if ready, delayed := m.q.depth(); ready+delayed != 0 {
		t.Fatalf("a release with nothing deferred queued %d tasks", ready+delayed)
	}
}
