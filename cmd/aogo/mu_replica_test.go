package main

import (
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/internal/testenv"
	"github.com/aogo/aogo/mu/mutest"
	"github.com/aogo/aogo/vm"
)

// TestMUReplicasCrashExactlyOnce runs two `aogo mu --store postgres://…` processes on one database against a
// fake SU and CU. Inputs go to either replica (to the other while one is down); each is answered with 3 outbox
// messages, one to each of three sinks, and a monitored process's cron ticks into a fourth sink. For ~16 s one
// replica or the other is killed with SIGKILL and restarted. Afterwards every input reached each sink exactly
// once and every cron tick reached its sink exactly once, whichever replica held the monitor when it died.
func TestMUReplicasCrashExactlyOnce(t *testing.T) {
	bin := aogoBinary(t)
	dsn := testenv.PostgresSchemaDSN(t)

	net := newFanNet(t)
	net.Module("ticker", func(p *mutest.Process, m mutest.Msg) vm.Result { return vm.Result{} })
	fan, ticker, tickSink := net.fan, net.spawn("ticker"), net.spawn("sink")

	start := func(dataDir string) *unitProc {
		return startUnit(t, bin, "mu", "--store", dsn, "--lease", "1s", "--data", dataDir, "--cu", net.CU.URL,
			"--su-hint", net.SchedulerAddress+"="+net.SU.URL, "--cron-interval", "50ms",
			"--retry-base", "5ms", "--retry-max", "100ms", "--max-attempts", "1000", "--workers", "16")
	}
	var reps [2]atomic.Pointer[unitProc]
	dirs := [2]string{t.TempDir(), t.TempDir()}
	for i := range reps {
		reps[i].Store(start(dirs[i]))
	}
	defer func() {
		for i := range reps {
			p := reps[i].Load()
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
	}()
	// postAny posts raw to a live replica, the one tried first chosen by i, until one acknowledges it (the same
	// item again after a failure, which the replicas recognise).
	postAny := func(i int, path string, raw []byte, want int) {
		for try := i; ; try++ {
			resp, err := postItem("http://"+reps[try%2].Load().addr+path, raw)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == want {
					return
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	// The monitor is created on replica 0, which holds it until it is killed.
	_, sub := net.sign(ticker, dataitem.Tag{Name: "Type", Value: "Message"})
	postAny(0, "/monitor/"+ticker, sub, http.StatusOK)

	const inputs, pace = 200, 80 * time.Millisecond
	ids := make([]string, inputs)
	var ticks, acked atomic.Int32
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range inputs {
			it, raw := net.sign(fan, dataitem.Tag{Name: "Type", Value: "Message"}, dataitem.Tag{Name: "Action", Value: "Go"})
			ids[i] = it.ID()
			postAny(i, "/", raw, http.StatusAccepted)
			acked.Add(1)
			if i%4 == 0 {
				n := ticks.Add(1)
				net.AddCron(ticker, func(p *mutest.Process) vm.Result {
					return vm.Result{Messages: []json.RawMessage{p.Send(tickSink, fmt.Sprint("tick", n))}}
				})
			}
			time.Sleep(pace)
		}
	}()
	inputsDone := make(chan struct{})
	go func() { wg.Wait(); close(inputsDone) }()
	kills := 0
	victim := 0 // the monitor's first holder dies first
loop:
	for {
		select {
		case <-inputsDone:
			break loop
		case <-time.After(time.Duration(300+mrand.IntN(1200)) * time.Millisecond):
		}
		t.Logf("%s kill %d (%d acked)", time.Now().Format("15:04:05.000"), victim, acked.Load())
		p := reps[victim].Load()
		p.cmd.Process.Kill() // SIGKILL: no shutdown path runs, its leases run out on their own
		p.cmd.Wait()
		kills++
		// Down for a moment, so the other replica serves alone and takes the dead one's work over.
		time.Sleep(time.Duration(mrand.IntN(1500)) * time.Millisecond)
		reps[victim].Store(start(dirs[victim]))
		t.Logf("%s started %d", time.Now().Format("15:04:05.000"), victim)
		victim = mrand.IntN(2)
	}

	total := net.total
	t.Logf("%s inputs done", time.Now().Format("15:04:05.000"))
	deadline := time.Now().Add(60 * time.Second)
	for (total(net.sinks[:]...) < 3*inputs || total(tickSink) < int(ticks.Load())) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("%s drained", time.Now().Format("15:04:05.000"))
	time.Sleep(2500 * time.Millisecond) // past a lease and a claim: any duplicate that would arrive has

	net.checkFanOut(ids)
	got := map[string]int{}
	for _, e := range net.Process(tickSink).Log[1:] {
		got[string(e.Item.Data)]++
	}
	for n := 1; n <= int(ticks.Load()); n++ {
		if got[fmt.Sprint("tick", n)] != 1 {
			t.Errorf("cron tick %d delivered %d times, want exactly once", n, got[fmt.Sprint("tick", n)])
		}
	}
	if len(got) != int(ticks.Load()) {
		t.Errorf("tick sink got %d distinct messages, want %d", len(got), ticks.Load())
	}
	t.Logf("%d kills; %d inputs, %d cron ticks; SU got %d posts", kills, inputs, ticks.Load(), net.Posts.Load())
	if kills < 4 {
		t.Errorf("only %d kills; the test proves little", kills)
	}
}
