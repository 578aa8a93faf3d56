package su_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/su"
)

// failingStore fails the next failNext commits; a failing commit first signals entered and waits for hold, so a
// test can queue more slots behind it.
type failingStore struct {
	su.Store
	mu       sync.Mutex
	failNext int
	conflict bool // fail with a *su.ConflictError naming the batch's processes, as if another replica wrote
	entered  chan struct{}
	hold     chan struct{}
}

var errInjected = errors.New("injected commit failure")

func (f *failingStore) Commit(ctx context.Context, slots []su.Slot, uploads [][]byte) error {
	f.mu.Lock()
	fail := f.failNext > 0
	if fail {
		f.failNext--
	}
	entered, hold, conflict := f.entered, f.hold, f.conflict
	f.mu.Unlock()
	if !fail {
		return f.Store.Commit(ctx, slots, uploads)
	}
	if entered != nil {
		entered <- struct{}{}
	}
	if hold != nil {
		<-hold
	}
	if conflict {
		var pids []string
		for _, s := range slots {
			if !slices.Contains(pids, s.Process) {
				pids = append(pids, s.Process)
			}
		}
		return &su.ConflictError{Processes: pids}
	}
	return errInjected
}

// waitEntered waits until a failing commit has started (and holds).
func (f *failingStore) waitEntered(t *testing.T) {
	t.Helper()
	select {
	case <-f.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the failing commit never started")
	}
}

// TestDuplicateOfRefusedSlotIsPlacedAgain: a second copy of an item waits on the first copy's queued slot; when a
// replica conflict refuses that slot (nothing written), the copy must be placed again like the first, not fail
// with "the first copy of this item failed" (a flake CI once hit with two replicas).
func TestDuplicateOfRefusedSlotIsPlacedAgain(t *testing.T) {
	fs := &failingStore{}
	e := startWrapped(t, "", su.Config{}, func(s su.Store) su.Store { fs.Store = s; return fs })
	ctx := ctxT(t)
	pid := e.spawn(t)
	fs.mu.Lock()
	fs.failNext, fs.conflict, fs.entered, fs.hold = 1, true, make(chan struct{}, 1), make(chan struct{})
	fs.mu.Unlock()

	raw := messageItem(t, e.user, pid, "twice")
	res := make([]client.SUPosted, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	post := func(i int) {
		defer wg.Done()
		res[i], errs[i] = e.c.Post(ctx, raw)
	}
	posts := metric(t, e.srv.URL, "aogo_su_posts_total")
	wg.Add(1)
	go post(0)
	fs.waitEntered(t)
	wg.Add(1)
	go post(1)
	waitFor(t, "the second copy to arrive", func() bool { return metric(t, e.srv.URL, "aogo_su_posts_total") == posts+2 })
	time.Sleep(50 * time.Millisecond) // lets the copy reach its wait on the queued first copy (taking the process lock is all that is left)
	close(fs.hold)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("copy %d: %v", i, err)
		}
	}
	if res[0].ID != res[1].ID || res[0].Timestamp != res[1].Timestamp {
		t.Fatalf("the copies were answered with different slots: %+v, %+v", res[0], res[1])
	}
	if n := metric(t, e.srv.URL, "aogo_su_slots_replaced_total"); n < 1 {
		t.Fatalf("%d placements after the refusal, want at least 1", n)
	}
	if log := readLog(t, e.c, pid, 100); len(log) != 2 {
		t.Fatalf("log has %d slots, want 2 (process, the item once)", len(log))
	}
}

// metric reads one counter or gauge from /metrics.
func metric(t *testing.T, base, name string) int64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + ` (\d+)$`).FindStringSubmatch(get(t, base+"/metrics", 200))
	if m == nil {
		t.Fatalf("no metric %s", name)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n
}

// TestCommitFailureKeepsLogGapFree fails one group commit while later slots of the same process wait, signed on
// the lost head, behind it: those must be refused (the generation fence), and the log must go on from the last
// durable slot with no gap and an unbroken hash chain.
func TestCommitFailureKeepsLogGapFree(t *testing.T) {
	fs := &failingStore{}
	e := startWrapped(t, "", su.Config{}, func(s su.Store) su.Store { fs.Store = s; return fs })
	ctx := ctxT(t)
	pid := e.spawn(t)
	for i := range 3 {
		if _, err := e.c.Post(ctx, messageItem(t, e.user, pid, "before "+strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	fs.mu.Lock()
	fs.failNext, fs.entered, fs.hold = 1, make(chan struct{}, 1), make(chan struct{})
	fs.mu.Unlock()

	lost := [][]byte{messageItem(t, e.user, pid, "lost 0"), messageItem(t, e.user, pid, "lost 1"), messageItem(t, e.user, pid, "lost 2")}
	errs := make([]error, len(lost))
	var wg sync.WaitGroup
	post := func(i int) {
		defer wg.Done()
		_, errs[i] = e.c.Post(ctx, lost[i])
	}
	queued := metric(t, e.srv.URL, "aogo_su_slots_queued_total")
	wg.Add(1)
	go post(0)
	fs.waitEntered(t)
	for i := 1; i < len(lost); i++ {
		wg.Add(1)
		go post(i)
	}
	waitFor(t, "slots queued behind the failing commit", func() bool {
		return metric(t, e.srv.URL, "aogo_su_slots_queued_total") == queued+int64(len(lost))
	})
	close(fs.hold)
	wg.Wait()
	for i, err := range errs {
		if !client.IsSUStatus(err, 500) {
			t.Fatalf("write %d on the failed head: %v, want HTTP 500", i, err)
		}
	}
	if n := metric(t, e.srv.URL, "aogo_su_commit_errors_total"); n != 1 {
		t.Fatalf("%d failed commits, want 1", n)
	}

	// The next writes reload the head from the store and continue the log; a refused item can be posted again.
	for _, raw := range [][]byte{lost[1], messageItem(t, e.user, pid, "after 0"), messageItem(t, e.user, pid, "after 1")} {
		if _, err := e.c.Post(ctx, raw); err != nil {
			t.Fatal(err)
		}
	}
	log := readLog(t, e.c, pid, 100)
	if len(log) != 7 {
		t.Fatalf("log has %d slots, want 7 (process, 3 before, 3 after)", len(log))
	}
	if err := client.VerifySULog(pid, log); err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, m := range log {
		ids[m.MessageID()] = true
	}
	if !ids[idOf(t, lost[1])] || ids[idOf(t, lost[0])] || ids[idOf(t, lost[2])] {
		t.Fatalf("log holds the wrong items: re-posted %v, lost %v %v", ids[idOf(t, lost[1])], ids[idOf(t, lost[0])], ids[idOf(t, lost[2])])
	}
}

// TestOnCommitNamesCommittedProcesses: the commit hook hears of every process that got a slot, once per
// commit, after the writers have their answers.
func TestOnCommitNamesCommittedProcesses(t *testing.T) {
	heard := make(chan []string, 100)
	e := start(t, "", su.Config{OnCommit: func(pids []string) { heard <- pids }})
	ctx := ctxT(t)
	a, b := e.spawn(t, tag("Name", "a")), e.spawn(t, tag("Name", "b"))
	want := map[string]int{a: 1, b: 1}
	var wg sync.WaitGroup
	for i := range 20 {
		pid := a
		if i%2 == 1 {
			pid = b
		}
		want[pid]++
		wg.Go(func() {
			if _, err := e.c.Post(ctx, messageItem(t, e.user, pid, fmt.Sprintf("m%d", i))); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got := map[string]int{}
	var commits int
	deadline := time.After(10 * time.Second)
	for got[a] < 2 || got[b] < 2 { // the spawn and at least one message each
		select {
		case pids := <-heard:
			commits++
			if !slices.IsSorted(pids) || len(slices.Compact(slices.Clone(pids))) != len(pids) {
				t.Fatalf("hook got %v: want each process once, sorted", pids)
			}
			for _, p := range pids {
				got[p]++
			}
		case <-deadline:
			t.Fatalf("hook heard %v in %d commits", got, commits)
		}
	}
	for pid := range want {
		if got[pid] == 0 || got[pid] > want[pid] {
			t.Fatalf("process %s named in %d commits, want 1..%d", pid, got[pid], want[pid])
		}
	}
}
