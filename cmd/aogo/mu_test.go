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
	net := newFanNet(t)
	fan := net.fan

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
			it, raw := net.sign(fan, dataitem.Tag{Name: "Type", Value: "Message"}, dataitem.Tag{Name: "Action", Value: "Go"})
			ids[i] = it.ID()
			for {
				// Every post is retried until acknowledged: the same item again, which the MU recognises.
				resp, err := postItem("http://"+cur.Load().addr+"/", raw)
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
	total := func() int { return net.total(net.sinks[:]...) }
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

	net.checkFanOut(ids)
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

// fanNet is the fake network (mutest's SU and CU) of the MU kill tests: a "fan" process answers each input with one
// message to each of three sinks, whose data ends in "-<sink index>"; user signs the items the tests post.
type fanNet struct {
	*mutest.Network
	t     *testing.T
	user  *wallet.Wallet
	fan   string
	sinks [3]string
}

// newFanNet starts the network with the fan process and its sinks; the crank is widened (a result takes 200 µs)
// so that kills land in the middle of it.
func newFanNet(t *testing.T) *fanNet {
	f := &fanNet{Network: mutest.New(), t: t}
	t.Cleanup(f.Close)
	f.ResultDelay.Store(int64(200 * time.Microsecond))
	f.user, _ = wallet.Generate(wallet.ED25519)
	f.Module("fan", func(p *mutest.Process, m mutest.Msg) vm.Result {
		if m.Nonce == 0 {
			return vm.Result{}
		}
		var out []json.RawMessage
		for i, s := range f.sinks {
			out = append(out, p.Send(s, fmt.Sprint(m.Data, "-", i), "Action", "Fan"))
		}
		return vm.Result{Messages: out}
	})
	f.Module("sink", func(p *mutest.Process, m mutest.Msg) vm.Result { return vm.Result{} })
	f.fan = f.spawn("fan")
	for i := range f.sinks {
		f.sinks[i] = f.spawn("sink")
	}
	return f
}

// sign signs an ao item from the user to target ("" for none) with a random anchor.
func (f *fanNet) sign(target string, tags ...dataitem.Tag) (*dataitem.Item, []byte) {
	anchor, _ := dataitem.DecodeB64(mutest.RandomID())
	it := &dataitem.Item{Anchor: anchor, Tags: append([]dataitem.Tag{{Name: "Data-Protocol", Value: "ao"}, {Name: "Variant", Value: "ao.TN.1"}}, tags...)}
	if target != "" {
		it.Target, _ = dataitem.DecodeB64(target)
	}
	if err := it.Sign(f.user); err != nil {
		f.t.Fatal(err)
	}
	raw, _ := it.Bytes()
	return it, raw
}

// spawn schedules a process of module on the fake SU and returns its id.
func (f *fanNet) spawn(module string) string {
	it, raw := f.sign("", dataitem.Tag{Name: "Type", Value: "Process"}, dataitem.Tag{Name: "Module", Value: module},
		dataitem.Tag{Name: "Scheduler", Value: f.SchedulerAddress})
	resp, err := postItem(f.SU.URL, raw)
	if err != nil || resp.StatusCode != 200 {
		f.t.Fatalf("create process: %v %v", err, resp)
	}
	resp.Body.Close()
	return it.ID()
}

// total counts the messages the processes pids received (their process message aside).
func (f *fanNet) total(pids ...string) int {
	n := 0
	for _, s := range pids {
		n += len(f.Process(s).Log) - 1
	}
	return n
}

// checkFanOut checks that the fan received the inputs ids and that each sink holds the message for each of them
// exactly once, with its own data.
func (f *fanNet) checkFanOut(ids []string) {
	t := f.t
	t.Helper()
	if n := f.total(f.fan); n != len(ids) {
		t.Errorf("fan process has %d inputs, want %d", n, len(ids))
	}
	for si, s := range f.sinks {
		count := map[string]int{}
		for _, e := range f.Process(s).Log[1:] {
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
		if len(count) != len(ids) {
			t.Errorf("sink %d: %d distinct inputs, want %d", si, len(count), len(ids))
		}
	}
}

// postItem posts a raw item.
func postItem(url string, raw []byte) (*http.Response, error) {
	return http.Post(url, "application/octet-stream", bytes.NewReader(raw))
}
