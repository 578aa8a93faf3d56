package explorer_test

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/cu"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/mu"
	"github.com/aogo/aogo/su"
)

// bulk schedules n messages of the user on pid in batches (one SU commit and one index pass per batch), with
// tags Action (Ping/Pong), Round=i and Batch=i/1000; it returns the ids.
func (f *fixture) bulk(pid string, n int) []string {
	f.t.Helper()
	ids := make([]string, 0, n)
	for start := 0; start < n; start += 1000 {
		var slots []su.Slot
		for i := start; i < min(start+1000, n); i++ {
			action := "Ping"
			if i%2 == 1 {
				action = "Pong"
			}
			it := f.item(f.user, pid, []byte("payload"), "Data-Protocol", "ao", "Type", "Message", "Action", action,
				"Round", fmt.Sprint(i), "Batch", fmt.Sprint(i/1000))
			head := f.heads[pid]
			chain, err := ao.NextHashChain(head.HashChain, head.AssignmentID)
			if err != nil {
				f.t.Fatal(err)
			}
			f.now++
			a := &dataitem.Item{Tags: ao.AssignmentTags(pid, head.Nonce+1, chain, 7, f.now, it.ID(), nil)}
			if err := a.Sign(f.sched); err != nil {
				f.t.Fatal(err)
			}
			araw, _ := a.Bytes()
			mraw, _ := it.Bytes()
			s := su.Slot{Process: pid, Nonce: head.Nonce + 1, Timestamp: f.now, BlockHeight: 7, HashChain: chain,
				AssignmentID: a.ID(), MessageID: it.ID(), Assignment: araw, Message: mraw}
			f.heads[pid] = s
			slots = append(slots, s)
			ids = append(ids, it.ID())
		}
		if err := f.su.Commit(f.ctx, slots, nil); err != nil {
			f.t.Fatal(err)
		}
		// The CU's results of the batch, every tenth one attested (the page reads the newest attestation).
		evals := make([]cu.Eval, len(slots))
		for i, s := range slots {
			seq := f.seq[pid]
			f.seq[pid]++
			evals[i] = cu.Eval{Process: pid, Seq: seq, Message: s.MessageID, Nonce: int64(s.Nonce), Timestamp: s.Timestamp,
				BlockHeight: 7, HashChain: s.HashChain, MemoryHash: []byte{1, 2, 3},
				Result: []byte(`{"Output":{"data":"pong"},"Messages":[],"Spawns":[],"Assignments":[],"GasUsed":0}`)}
			if seq%10 == 0 {
				var err error
				if evals[i].Attestation, err = cu.Attest(f.cuw, &evals[i]); err != nil {
					f.t.Fatal(err)
				}
			}
		}
		if err := f.cu.SaveEvals(f.ctx, evals); err != nil {
			f.t.Fatal(err)
		}
		if err := f.ex.IndexProcess(f.ctx, pid); err != nil {
			f.t.Fatal(err)
		}
	}
	return ids
}

var big struct {
	once sync.Once
	f    *fixture
	pid  string
	ids  []string
	// small is a process of two slots beside it: the same calls on it are the comparison.
	small, smallMsg string
}

// BenchmarkAPI100k measures each API call on a process with 100,000 messages (and CU results, every tenth
// attested), reporting the median latency of each as p50-ms; the small-* calls ask the same of a two-slot
// process beside it, for comparison in the same run. Building the log takes a minute:
//
//	go test -run '^$' -bench BenchmarkAPI100k -benchtime 200x ./explorer/
func BenchmarkAPI100k(b *testing.B) {
	big.once.Do(func() {
		start := time.Now()
		f := newFixture(b)
		big.f = f
		big.pid = f.spawn("Name", "Big")
		f.result(big.pid, big.pid, 0, `{"Output":null,"Messages":[],"Spawns":[],"Assignments":[],"GasUsed":0}`, false)
		for range 20 {
			big.small = f.spawn()
			big.smallMsg = f.send(big.small, nil, "Action", "Hello")
		}
		big.ids = f.bulk(big.pid, 100_000)
		// The middle message caused a fan-out of ten, each of which caused one more.
		mid := big.ids[50_000]
		var kids [][2]string
		for i := range 10 {
			kids = append(kids, [2]string{big.ids[50_001+i], big.pid})
		}
		f.crank(mid, big.pid, mu.KindPush, kids...)
		for i := range 10 {
			f.crank(big.ids[50_001+i], big.pid, mu.KindPush, [2]string{big.ids[60_000+i], big.pid})
		}
		b.Logf("built a 100,000-message process in %v", time.Since(start).Round(time.Second))
	})
	f, pid, ids := big.f, big.pid, big.ids
	calls := []struct{ name, path string }{
		{"small-process", "/api/processes/" + big.small},
		{"small-messages-newest", "/api/processes/" + big.small + "/messages"},
		{"small-message", "/api/messages/" + big.smallMsg},
		{"small-search-tag", "/api/search?q=Action%3DHello"},
		{"processes", "/api/processes"},
		{"process", "/api/processes/" + pid},
		{"messages-newest", "/api/processes/" + pid + "/messages"},
		{"messages-before-50000", "/api/processes/" + pid + "/messages?before=50000"},
		{"messages-from-90000", "/api/processes/" + pid + "/messages?from=90000"},
		{"message", "/api/messages/" + ids[50_000]},
		{"graph", "/api/messages/" + ids[50_000] + "/graph"},
		{"search-tag-common", "/api/search?q=Action%3DPing"},
		{"search-tag-rare", "/api/search?q=Round%3D77777"},
		{"search-tag-deep-page", "/api/search?q=Action%3DPong&before=1000"},
		{"search-owner", "/api/search?q=" + f.user.Address()},
		{"search-id", "/api/search?q=" + ids[99_999]},
		{"modules", "/api/modules"},
	}
	for _, c := range calls {
		b.Run(c.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			for b.Loop() {
				t0 := time.Now()
				resp, err := http.Get(f.srv.URL + c.path)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("%s: %d", c.path, resp.StatusCode)
				}
				lat = append(lat, time.Since(t0))
			}
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		})
	}
}
