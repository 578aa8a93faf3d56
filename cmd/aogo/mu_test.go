package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/mu/mutest"
	"github.com/aogo/aogo/vm"
	"github.com/aogo/aogo/wallet"
)

func TestMUFlags(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"mu", "--data", t.TempDir()}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "--cu") {
		t.Fatalf("no --cu: code %d, stderr %q", code, errb.String())
	}
	errb.Reset()
	if code := run(context.Background(), []string{"mu", "--data", t.TempDir(), "--cu", "http://x", "--su-hint", "nourl"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "ADDR=URL") {
		t.Fatalf("bad hint: code %d, stderr %q", code, errb.String())
	}
	errb.Reset()
	if code := run(context.Background(), []string{"mu", "--data", t.TempDir(), "--cu", "http://x", "--quorum", "2-of-2"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "needs 2 CUs, 1 configured") {
		t.Fatalf("quorum over the CUs: code %d, stderr %q", code, errb.String())
	}
	errb.Reset()
	if code := run(context.Background(), []string{"mu", "--data", t.TempDir(), "--cu", "http://x", "--store", "mysql://x"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "want sqlite or a postgres:// DSN") {
		t.Fatalf("bad store: code %d, stderr %q", code, errb.String())
	}
	errb.Reset()
	if code := run(context.Background(), []string{"mu", "--data", t.TempDir(), "--cu", "http://x", "--quorum", "1-of-2"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "more than half") {
		t.Fatalf("bad quorum: code %d, stderr %q", code, errb.String())
	}
}

// TestMUCrashExactlyOnce runs `aogo mu` as a child process against a fake SU and CU, sends 200 messages to a
// process that answers each with 3 outbox messages (one to each of three sinks), and kills the MU with SIGKILL
// over and over while it cranks. Afterwards each sink's log must hold each expected message exactly once.
func TestMUCrashExactlyOnce(t *testing.T) {
	bin := aogoBinary(t)

	net := mutest.New()
	defer net.Close()
	net.ResultDelay.Store(int64(200 * time.Microsecond)) // widen the crank so kills land in the middle of it
	user, _ := wallet.Generate(wallet.ED25519)
	var sinks [3]string
	net.Module("fan", func(p *mutest.Process, m mutest.Msg) vm.Result {
		if m.Nonce == 0 {
			return vm.Result{}
		}
		var out []json.RawMessage
		for i, s := range sinks {
			out = append(out, p.Send(s, fmt.Sprint(m.Data, "-", i), "Action", "Fan"))
		}
		return vm.Result{Messages: out}
	})
	net.Module("sink", func(p *mutest.Process, m mutest.Msg) vm.Result { return vm.Result{} })
	post := func(url string, raw []byte) (*http.Response, error) {
		return http.Post(url, "application/octet-stream", bytes.NewReader(raw))
	}
	sign := func(target string, tags ...dataitem.Tag) (*dataitem.Item, []byte) {
		anchor, _ := dataitem.DecodeB64(mutest.RandomID())
		it := &dataitem.Item{Anchor: anchor, Tags: append([]dataitem.Tag{{Name: "Data-Protocol", Value: "ao"}, {Name: "Variant", Value: "ao.TN.1"}}, tags...)}
		if target != "" {
			it.Target, _ = dataitem.DecodeB64(target)
		}
		if err := it.Sign(user); err != nil {
			t.Fatal(err)
		}
		raw, _ := it.Bytes()
		return it, raw
	}
	newProc := func(module string) string {
		it, raw := sign("", dataitem.Tag{Name: "Type", Value: "Process"}, dataitem.Tag{Name: "Module", Value: module},
			dataitem.Tag{Name: "Scheduler", Value: net.SchedulerAddress})
		resp, err := post(net.SU.URL, raw)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("create process: %v %v", err, resp)
		}
		resp.Body.Close()
		return it.ID()
	}
	fan := newProc("fan")
	for i := range sinks {
		sinks[i] = newProc("sink")
	}

	dataDir := t.TempDir()
	args := []string{"--data", dataDir, "--cu", net.CU.URL, "--su-hint", net.SchedulerAddress + "=" + net.SU.URL,
		"--retry-base", "5ms", "--retry-max", "100ms", "--max-attempts", "1000", "--workers", "16"}
	var cur atomic.Pointer[unitProc]
	cur.Store(startUnit(t, bin, "mu", args...))
	defer func() { p := cur.Load(); p.cmd.Process.Kill(); p.cmd.Wait() }()

	const inputs = 200
	ids := make([]string, inputs)
	var sent sync.WaitGroup
	sent.Add(1)
	go func() {
		defer sent.Done()
		for i := range inputs {
			it, raw := sign(fan, dataitem.Tag{Name: "Type", Value: "Message"}, dataitem.Tag{Name: "Action", Value: "Go"})
			ids[i] = it.ID()
			for {
				// Every post is retried until acknowledged: the same item again, which the MU recognises.
				resp, err := post("http://"+cur.Load().addr+"/", raw)
				if err == nil {
					resp.Body.Close()
					if resp.StatusCode == http.StatusAccepted {
						break
					}
				}
				time.Sleep(2 * time.Millisecond)
			}
		}
	}()
	total := func() int {
		n := 0
		for _, s := range sinks {
			n += len(net.Process(s).Log) - 1
		}
		return n
	}
	inputsDone := make(chan struct{})
	go func() { sent.Wait(); close(inputsDone) }()
	kills := 0
	for {
		time.Sleep(time.Duration(30+rand.IntN(120)) * time.Millisecond)
		select {
		case <-inputsDone:
		default:
		}
		if total() >= 3*inputs {
			break
		}
		p := cur.Load()
		p.cmd.Process.Kill() // SIGKILL: no shutdown path runs
		p.cmd.Wait()
		kills++
		cur.Store(startUnit(t, bin, "mu", args...))
		if kills >= 25 {
			break
		}
	}
	<-inputsDone
	deadline := time.Now().Add(60 * time.Second)
	for total() < 3*inputs && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // let any duplicate that would arrive arrive

	if n := len(net.Process(fan).Log) - 1; n != inputs {
		t.Errorf("fan process has %d inputs, want %d", n, inputs)
	}
	for si, s := range sinks {
		count := map[string]int{}
		for _, e := range net.Process(s).Log[1:] {
			pf, _ := e.Item.Tag("Pushed-For")
			count[pf]++
			if want := fmt.Sprint("-", si); !strings.HasSuffix(string(e.Item.Data), want) {
				t.Errorf("sink %d got data %q", si, e.Item.Data)
			}
		}
		for _, id := range ids {
			if count[id] != 1 {
				t.Errorf("sink %d holds the message for input %s %d times, want exactly once", si, id, count[id])
			}
		}
		if len(count) != inputs {
			t.Errorf("sink %d: %d distinct inputs, want %d", si, len(count), inputs)
		}
	}
	// The full status (with the parked tasks) is an operator answer: the MU wrote its token in its data dir.
	token, err := os.ReadFile(filepath.Join(dataDir, "operator-token"))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+cur.Load().addr+"/", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var status struct {
		Parked []any `json:"parked"`
		Queue  any   `json:"queue"`
	}
	json.NewDecoder(resp.Body).Decode(&status)
	resp.Body.Close()
	if status.Queue == nil {
		t.Errorf("GET / with the operator token: no status")
	}
	if len(status.Parked) != 0 {
		t.Errorf("parked tasks: %v", status.Parked)
	}
	t.Logf("%d kills; SU got %d posts for %d slots (the rest were re-posts the SU de-duplicated)", kills, net.Posts.Load(), inputs*4)
	if kills < 3 {
		t.Errorf("only %d kills landed while cranking; the test proves little", kills)
	}
}
