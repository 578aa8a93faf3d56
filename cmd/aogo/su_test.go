package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/wallet"
)

func TestSUFlags(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"su", "--store", "mysql://x", "--data", t.TempDir()}, &out, &errb); code != 1 ||
		!strings.Contains(errb.String(), "want sqlite or a postgres") {
		t.Fatalf("bad --store: code %d, %s", code, errb.String())
	}
	errb.Reset()
	if code := run(context.Background(), []string{"su", "--wallet", filepath.Join(t.TempDir(), "none.json"), "--data", t.TempDir()}, &out, &errb); code != 1 ||
		!strings.Contains(errb.String(), "wallet") {
		t.Fatalf("missing wallet: code %d, %s", code, errb.String())
	}
	for _, unit := range []string{"su", "mu"} {
		errb.Reset()
		args := []string{unit, "--sync", "sometimes", "--data", t.TempDir()}
		if unit == "mu" {
			args = append(args, "--cu", "http://127.0.0.1:1")
		}
		if code := run(context.Background(), args, &out, &errb); code != 1 || !strings.Contains(errb.String(), "want full or normal") {
			t.Fatalf("%s: bad --sync: code %d, %s", unit, code, errb.String())
		}
		errb.Reset()
		args = append(args[:1], "--sync", "normal", "--store", "postgres://127.0.0.1:1/none", "--data", t.TempDir())
		if unit == "mu" {
			args = append(args, "--cu", "http://127.0.0.1:1")
		}
		if code := run(context.Background(), args, &out, &errb); code != 1 || !strings.Contains(errb.String(), "synchronous_commit") {
			t.Fatalf("%s: --sync normal with PostgreSQL: code %d, %s", unit, code, errb.String())
		}
	}
	errb.Reset()
	if code := run(context.Background(), []string{"su", "extra"}, &out, &errb); code != 1 {
		t.Fatalf("extra argument: code %d", code)
	}
}

// TestSURunsInProcess starts `aogo su` through run() and stops it with its context.
func TestSURunsInProcess(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"su", "--listen", "127.0.0.1:0", "--data", t.TempDir()}, pw, io.Discard)
	}()
	addr := readListenAddr(t, pr)
	go io.Copy(io.Discard, pr)
	c := client.NewSU("http://"+addr, nil)
	info, err := c.Info(context.Background())
	if err != nil || info.Address == "" {
		t.Fatalf("Info = %+v, %v", info, err)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit code %d", code)
	}
}

func readListenAddr(t *testing.T, r io.Reader) string {
	t.Helper()
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if _, rest, ok := strings.Cut(sc.Text(), "listening on "); ok {
			addr, _, _ := strings.Cut(rest, " ")
			return addr
		}
	}
	t.Fatal("no listening line")
	return ""
}

// TestSUCrashRecovery kills `aogo su` with SIGKILL ten times while eight senders write, then checks that every
// acknowledged message is in its log, nonces are dense, the hash chain recomputes and every assignment verifies.
// It runs with each --sync mode: "normal" (no fsync per commit; aogo dev's mode) must keep every acknowledged
// message through kill -9 as "full" does, since a commit is in the OS's page cache before it is acknowledged.
func TestSUCrashRecovery(t *testing.T) {
	for _, mode := range []string{"full", "normal"} {
		t.Run(mode, func(t *testing.T) { testSUCrashRecovery(t, mode) })
	}
}

func testSUCrashRecovery(t *testing.T, syncMode string) {
	bin := aogoBinary(t)
	dir := t.TempDir()
	proc := startUnit(t, bin, "su", "--data", dir, "--sync", syncMode)
	defer func() { proc.cmd.Process.Kill(); proc.cmd.Wait() }()
	var cur atomic.Pointer[client.SU]
	hc := &http.Client{Timeout: 5 * time.Second}
	cur.Store(client.NewSU("http://"+proc.addr, hc))
	ctx := context.Background()
	info, err := cur.Load().Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	user, _ := wallet.Generate(wallet.ED25519)
	sign := func(target string, tags ...dataitem.Tag) []byte { return signRandom(t, user, target, tags...) }
	var pids []string
	for range 4 {
		res, err := cur.Load().Post(ctx, sign("", dataitem.Tag{Name: "Data-Protocol", Value: "ao"}, dataitem.Tag{Name: "Type", Value: "Process"},
			dataitem.Tag{Name: "Module", Value: dataitem.B64(make([]byte, 32))}, dataitem.Tag{Name: "Scheduler", Value: info.Address}))
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, res.ID)
	}

	var (
		mu    sync.Mutex
		acked = map[string]string{} // message id → process
		stop  atomic.Bool
		wg    sync.WaitGroup
	)
	for s := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				pid := pids[(s+i)%len(pids)]
				raw := sign(pid, dataitem.Tag{Name: "Data-Protocol", Value: "ao"}, dataitem.Tag{Name: "Type", Value: "Message"})
				// Re-send the same item until it is acknowledged: a copy written before a crash must not get a
				// second slot.
				for !stop.Load() {
					res, err := cur.Load().Post(ctx, raw)
					if err == nil {
						mu.Lock()
						acked[res.ID] = pid
						mu.Unlock()
						break
					}
					time.Sleep(5 * time.Millisecond)
				}
			}
		}()
	}
	for range 10 {
		time.Sleep(time.Duration(150+rand.IntN(250)) * time.Millisecond)
		proc.cmd.Process.Kill() // SIGKILL: no shutdown path runs
		proc.cmd.Wait()
		proc = startUnit(t, bin, "su", "--data", dir, "--sync", syncMode)
		cur.Store(client.NewSU("http://"+proc.addr, hc))
	}
	time.Sleep(300 * time.Millisecond)
	stop.Store(true)
	wg.Wait()

	c := cur.Load()
	total := 0
	for _, pid := range pids {
		log := readSULog(t, c, pid)
		checkSULog(t, pid, log, acked)
		total += len(log) - 1
	}
	if len(acked) < 100 {
		t.Fatalf("only %d messages acknowledged: the test did not exercise much", len(acked))
	}
	t.Logf("%d acknowledged, %d slots across %d processes after 10 kills", len(acked), total, len(pids))
	if _, err := os.Stat(filepath.Join(dir, "su.db")); err != nil {
		t.Fatal(err)
	}
}

// TestUnitsRefuseL1GatewayWithoutRSA: with an Arweave node as --gateway, an SU or MU whose wallet cannot sign
// base-layer transactions refuses to start (and says how to fix it) instead of retrying uploads forever; a
// gateway that is down does not stop them.
func TestUnitsRefuseL1GatewayWithoutRSA(t *testing.T) {
	node := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/info" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"network":"arweave.N.1","version":5,"release":69,"height":1500000,"current":"x","blocks":1500001,"peers":30}`)
	}))
	defer node.Close()
	for _, unit := range []string{"su", "mu"} {
		var out, errb bytes.Buffer
		args := []string{unit, "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--gateway", node.URL}
		if unit == "mu" {
			args = append(args, "--cu", "http://127.0.0.1:1")
		}
		// Bounded: a unit that wrongly starts ends with its context (exit 0) and the test fails, not hangs.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		code := run(ctx, args, &out, &errb)
		cancel()
		if code != 1 || !strings.Contains(errb.String(), "RSA") || !strings.Contains(errb.String(), "arweave.N.1") {
			t.Fatalf("%s with an ed25519 wallet and an Arweave node: code %d, %s", unit, code, errb.String())
		}
	}
	// A gateway that does not answer is no reason to refuse: the SU starts (and stops with its context).
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	pr, pw := io.Pipe()
	go func() {
		done <- run(ctx, []string{"su", "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--gateway", "http://127.0.0.1:1"}, pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil || !strings.Contains(line, "listening on") {
		t.Fatalf("su with an unreachable gateway: %q %v", line, err)
	}
	cancel()
	go io.Copy(io.Discard, pr)
	if code := <-done; code != 0 {
		t.Fatalf("su exit %d", code)
	}
}

// signRandom signs an item from user to target ("" for none) whose data is a random number, so that no two are
// the same item.
func signRandom(t *testing.T, user *wallet.Wallet, target string, tags ...dataitem.Tag) []byte {
	t.Helper()
	it := &dataitem.Item{Tags: tags, Data: []byte(fmt.Sprint(rand.Uint64()))}
	if target != "" {
		it.Target, _ = dataitem.DecodeB64(target)
	}
	if err := it.Sign(user); err != nil {
		t.Fatal(err)
	}
	b, _ := it.Bytes()
	return b
}

// readSULog reads the whole log of process pid from an SU.
func readSULog(t *testing.T, su *client.SU, pid string) []*client.SUMessage {
	t.Helper()
	var log []*client.SUMessage
	for m, err := range su.Messages(context.Background(), pid, client.SUQuery{FromNonce: new(int64(-1)), Limit: 1000, ShowAnchor: true}) {
		if err != nil {
			t.Fatal(err)
		}
		log = append(log, m)
	}
	return log
}

// checkSULog checks the log of process pid after a crash test: client.VerifySULog (dense nonces, hash chain,
// signatures), every message in one slot only, and every message acknowledged for pid (acked: message id →
// process; its senders have stopped) in it.
func checkSULog(t *testing.T, pid string, log []*client.SUMessage, acked map[string]string) {
	t.Helper()
	if err := client.VerifySULog(pid, log); err != nil {
		t.Fatalf("process %s: %v", pid, err)
	}
	seen := map[string]bool{}
	for _, m := range log {
		if seen[m.MessageID()] {
			t.Fatalf("process %s: message %s has two slots", pid, m.MessageID())
		}
		seen[m.MessageID()] = true
	}
	for id, p := range acked {
		if p == pid && !seen[id] {
			t.Fatalf("acknowledged message %s is missing from %s", id, pid)
		}
	}
}
