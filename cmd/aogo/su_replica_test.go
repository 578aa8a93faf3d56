package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/gateway"
	"github.com/aogo/aogo/internal/testenv"
	"github.com/aogo/aogo/wallet"
)

// countingGateway is an aogo-like gateway that counts how often each item id is uploaded to it (POST /tx, an
// item or a bundle). The SU asks GET /info for the block height and the kind of peer.
func countingGateway(t *testing.T) (string, func() (map[string]int, int)) {
	var mu sync.Mutex
	seen := map[string]int{}
	uploads := 0
	mux := http.NewServeMux()
	mux.HandleFunc("POST /tx", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var items []*dataitem.Item
		if it, err := dataitem.Decode(b); err == nil && it.Verify() == nil {
			items = []*dataitem.Item{it}
		} else if items, err = dataitem.VerifyBundle(b); err != nil {
			http.Error(w, `{"error":"neither an item nor a bundle"}`, 400)
			return
		}
		mu.Lock()
		uploads++
		for _, it := range items {
			seen[it.ID()]++
		}
		mu.Unlock()
		fmt.Fprint(w, `{"id":"ok"}`)
	})
	mux.HandleFunc("GET /info", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"network":%q,"height":1000}`, gateway.Network)
	})
	mux.HandleFunc("HEAD /raw/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL, func() (map[string]int, int) {
		mu.Lock()
		defer mu.Unlock()
		out := make(map[string]int, len(seen))
		for k, v := range seen {
			out[k] = v
		}
		return out, uploads
	}
}

// TestSUReplicasSurviveKills runs two `aogo su` processes with one wallet on one PostgreSQL database and a
// gateway, posts to both from several senders (each item re-sent, to either replica, until acknowledged), and
// kills one replica with SIGKILL again and again (restarting it each time). The other must go on taking writes;
// afterwards every acknowledged message is in its log exactly once, the logs are dense with a valid hash chain
// and assignment signatures by the shared wallet, and every item of the logs reached the gateway. An item goes
// out twice only when a replica died between the gateway's answer and the dequeue, so duplicates are bounded
// by kills × upload batch (two replicas draining the queue at once would send nearly every item twice).
func TestSUReplicasSurviveKills(t *testing.T) {
	dsn := testenv.PostgresSchemaDSN(t)
	bin := aogoBinary(t)
	w, err := wallet.Generate(wallet.ED25519)
	if err != nil {
		t.Fatal(err)
	}
	wpath := filepath.Join(t.TempDir(), "su-wallet.json")
	if err := w.Save(wpath); err != nil {
		t.Fatal(err)
	}
	gwURL, gwCounts := countingGateway(t)
	const uploadBatch = 8
	dirs := []string{t.TempDir(), t.TempDir()}
	start := func(i int) *unitProc {
		return startUnit(t, bin, "su", "--data", dirs[i], "--wallet", wpath, "--store", dsn, "--gateway", gwURL,
			"--upload-batch", fmt.Sprint(uploadBatch))
	}
	t0 := time.Now()
	procs := []*unitProc{start(0), start(1)}
	t.Logf("%v: replicas up", time.Since(t0))
	defer func() {
		for _, p := range procs {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
	}()
	hc := &http.Client{Timeout: 5 * time.Second}
	var replicas [2]atomic.Pointer[client.SU]
	for i, p := range procs {
		replicas[i].Store(client.NewSU("http://"+p.addr, hc))
	}
	ctx := context.Background()
	user, _ := wallet.Generate(wallet.ED25519)
	sign := func(target string, tags ...dataitem.Tag) []byte { return signRandom(t, user, target, tags...) }
	var pids []string
	for i := range 3 {
		res, err := replicas[i%2].Load().Post(ctx, sign("", dataitem.Tag{Name: "Data-Protocol", Value: "ao"}, dataitem.Tag{Name: "Type", Value: "Process"},
			dataitem.Tag{Name: "Module", Value: dataitem.B64(make([]byte, 32))}, dataitem.Tag{Name: "Scheduler", Value: w.Address()}))
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, res.ID)
	}

	var (
		mu      sync.Mutex
		acked   = map[string]string{} // message id → process
		lastAck atomic.Int64          // unix ms of the newest acknowledgement
		stop    atomic.Bool
		wg      sync.WaitGroup
	)
	for s := range 6 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				pid := pids[(s+i)%len(pids)]
				raw := sign(pid, dataitem.Tag{Name: "Data-Protocol", Value: "ao"}, dataitem.Tag{Name: "Type", Value: "Message"})
				// Alternate replicas; re-send the same item until one acknowledges it, so that a copy written
				// before a kill, or by the other replica, must not get a second slot.
				for r := s + i; !stop.Load(); r++ {
					res, err := replicas[r%2].Load().Post(ctx, raw)
					if err == nil {
						mu.Lock()
						acked[res.ID] = pid
						mu.Unlock()
						lastAck.Store(time.Now().UnixMilli())
						break
					}
					time.Sleep(5 * time.Millisecond)
				}
			}
		})
	}
	const kills = 8
	for k := range kills {
		time.Sleep(time.Duration(600+rand.IntN(600)) * time.Millisecond)
		i := rand.IntN(2)
		procs[i].cmd.Process.Kill() // SIGKILL: no shutdown path runs
		procs[i].cmd.Wait()
		killed := time.Now().UnixMilli()
		// The other replica carries on alone.
		deadline := time.Now().Add(10 * time.Second)
		for lastAck.Load() <= killed+100 {
			if time.Now().After(deadline) {
				t.Fatalf("kill %d: no write acknowledged within 10 s while replica %d was down", k, i)
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Logf("%v: kill %d of replica %d, the other acknowledged after %d ms", time.Since(t0), k, i, lastAck.Load()-killed)
		procs[i] = start(i)
		t.Logf("%v: restarted", time.Since(t0))
		replicas[i].Store(client.NewSU("http://"+procs[i].addr, hc))
	}
	time.Sleep(500 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	t.Logf("%v: senders stopped", time.Since(t0))

	var items []string // every item of the logs: processes, messages, assignments
	total := 0
	for _, pid := range pids {
		log := readSULog(t, replicas[0].Load(), pid)
		if other := readSULog(t, replicas[1].Load(), pid); len(other) != len(log) {
			t.Fatalf("process %s: the replicas read %d and %d slots", pid, len(log), len(other))
		}
		checkSULog(t, pid, log, acked)
		for _, m := range log {
			if m.Assignment.Owner.Key != dataitem.B64(w.Owner()) {
				t.Fatalf("process %s slot %d: assignment not signed by the SU wallet", pid, m.Nonce())
			}
			items = append(items, m.MessageID(), m.Assignment.ID)
		}
		total += len(log) - 1
	}
	if len(acked) < 100 {
		t.Fatalf("only %d messages acknowledged: the test did not exercise much", len(acked))
	}

	t.Logf("%v: logs checked", time.Since(t0))
	// The queue drains: every item of the logs reaches the gateway.
	deadline := time.Now().Add(20 * time.Second)
	var counts map[string]int
	var uploads int
	for {
		counts, uploads = gwCounts()
		missing := 0
		for _, id := range items {
			if counts[id] == 0 {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d items never reached the gateway", missing, len(items))
		}
		time.Sleep(100 * time.Millisecond)
	}
	dups := 0
	for _, id := range items {
		dups += counts[id] - 1
	}
	if dups > kills*uploadBatch {
		t.Fatalf("%d items uploaded more than once, more than %d kills × %d items per upload explain", dups, kills, uploadBatch)
	}
	t.Logf("%d acknowledged, %d slots across %d processes after %d kills; %d items in %d uploads, %d sent twice",
		len(acked), total, len(pids), kills, len(items), uploads, dups)
}
