package su_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/su"
)

// TestHeadEviction keeps at most two process heads in memory while five processes are written in turn: every
// evicted head is read back from the store, the logs stay gap-free and chained, and a re-post of an item whose
// head was evicted still answers with its first slot.
func TestHeadEviction(t *testing.T) {
	e := start(t, "", su.Config{MaxProcs: 2})
	ctx := ctxT(t)
	pids := make([]string, 5)
	for i := range pids {
		pids[i] = e.spawn(t)
	}
	first := map[string]client.SUPosted{}
	raws := map[string][]byte{}
	for round := range 3 {
		for _, pid := range pids {
			raw := messageItem(t, e.user, pid, fmt.Sprint(round))
			p, err := e.c.Post(ctx, raw)
			if err != nil {
				t.Fatal(err)
			}
			if round == 0 {
				first[pid], raws[pid] = p, raw
			}
		}
	}
	if n := metric(t, e.srv.URL, "aogo_su_process_heads"); n > 2 {
		t.Fatalf("%d heads cached, want at most 2", n)
	}
	if n := metric(t, e.srv.URL, "aogo_su_process_heads_evicted_total"); n == 0 {
		t.Fatal("no head was evicted")
	}
	for _, pid := range pids {
		again, err := e.c.Post(ctx, raws[pid])
		if err != nil || again != first[pid] {
			t.Fatalf("re-post after eviction: %+v, %v; first %+v", again, err, first[pid])
		}
		log := readLog(t, e.c, pid, 100)
		if len(log) != 4 {
			t.Fatalf("log of %s has %d slots, want 4", pid, len(log))
		}
		if err := client.VerifySULog(pid, log); err != nil {
			t.Fatal(err)
		}
	}
}

// TestHeadEvictionUnderLoad writes four processes from six writers with room for one head: heads are dropped
// and reloaded while other writes of the same process are in flight, which must never fork a log.
func TestHeadEvictionUnderLoad(t *testing.T) {
	e := start(t, "", su.Config{MaxProcs: 1})
	ctx := ctxT(t)
	pids := []string{e.spawn(t), e.spawn(t), e.spawn(t), e.spawn(t)}
	const writers, per = 6, 30
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				if _, err := e.c.Post(ctx, messageItem(t, e.user, pids[(w+i)%len(pids)], fmt.Sprint(w, "/", i))); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	total := 0
	for _, pid := range pids {
		log := readLog(t, e.c, pid, 100)
		if err := client.VerifySULog(pid, log); err != nil {
			t.Fatal(err)
		}
		total += len(log) - 1
	}
	if total != writers*per {
		t.Fatalf("%d messages in the logs, want %d", total, writers*per)
	}
}
