package cu_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/cu"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/vm"
)

// watchedMachines opens real machines and records every Apply that returns (forks included), so a test can
// tell that an evaluation stopped and how.
type watchedMachines struct {
	mu      sync.Mutex
	applies []watchedApply
	done    chan watchedApply // every Apply's end, when not nil (buffered)
}

type watchedApply struct {
	fork bool
	err  error
	res  vm.Result
	took time.Duration
}

func (w *watchedMachines) Open(format string, wasm []byte, opts vm.Options) (vm.Machine, error) {
	m, err := vm.Open(format, wasm, opts)
	if err != nil {
		return nil, err
	}
	return &watchedMachine{Machine: m, w: w}, nil
}

func (w *watchedMachines) Restore(format string, wasm []byte, opts vm.Options, snap io.Reader) (vm.Machine, error) {
	m, err := vm.Restore(format, wasm, opts, snap)
	if err != nil {
		return nil, err
	}
	return &watchedMachine{Machine: m, w: w}, nil
}

func (w *watchedMachines) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.applies)
}

type watchedMachine struct {
	vm.Machine
	w    *watchedMachines
	fork bool
}

func (m *watchedMachine) Apply(ctx context.Context, msg, env []byte) (vm.Result, error) {
	start := time.Now()
	r, err := m.Machine.Apply(ctx, msg, env)
	a := watchedApply{fork: m.fork, err: err, res: r, took: time.Since(start)}
	m.w.mu.Lock()
	m.w.applies = append(m.w.applies, a)
	done := m.w.done
	m.w.mu.Unlock()
	if done != nil {
		done <- a
	}
	return r, err
}

func (m *watchedMachine) Fork(o vm.ForkOptions) (vm.Machine, error) {
	f, err := m.Machine.Fork(o)
	if err != nil {
		return nil, err
	}
	return &watchedMachine{Machine: f, w: m.w, fork: true}, nil
}

// aosProcess spawns a process of the real aos 2.0.4 (wasm32; its module publishes Compute-Limit 9e12).
func aosProcess(t *testing.T, n *network) string {
	return n.spawn(realModule(t, n, "aos2_0_4_32", "wasm32-unknown-emscripten4"), dataitem.Tag{Name: "Name", Value: "loop"})
}

// TestComputeLimitCapsLoop: an endless loop in a process whose Compute-Limit is aos's 9e12 (≈20 minutes)
// ends at the CU's maximum with an Error that says so; the state is as before it; and the result is stored:
// after a restart it is served without evaluating the loop again.
func TestComputeLimitCapsLoop(t *testing.T) {
	n := newNetwork(t)
	pid := aosProcess(t, n)
	set := eval(n, pid, "Counter = 1; return Counter")
	loop := eval(n, pid, "Counter = 99; while true do end")
	get := eval(n, pid, "return Counter")
	dir := t.TempDir()
	wm := &watchedMachines{}
	u := n.newUnit(unitOpts{dir: dir, machines: wm, maxCompute: 2e8})
	ctx := context.Background()
	if _, err := u.c.Result(ctx, pid, set); err != nil {
		t.Fatal(err)
	}
	r, err := u.c.Result(ctx, pid, loop)
	if err != nil {
		t.Fatal(err)
	}
	const want = "compute limit reached: 200000000 units (Compute-Limit 9000000000000, this CU's maximum 200000000)"
	if r.Error != want {
		t.Fatalf("Error %q, want %q", r.Error, want)
	}
	if r, err := u.c.Result(ctx, pid, get); err != nil || lastLine(outputData(t, r.Result)) != "1" {
		t.Fatalf("after the loop: %v %q", err, outputData(t, r.Result))
	}
	u.stop()

	// A restarted CU serves the loop's result from its store: no evaluation at all.
	wm2 := &watchedMachines{}
	u2 := n.newUnit(unitOpts{dir: dir, wallet: u.wallet, machines: wm2, maxCompute: 2e8})
	r2, err := u2.c.Result(ctx, pid, loop)
	if err != nil || r2.Error != want {
		t.Fatalf("after restart: %v, Error %q", err, r2.Error)
	}
	if k := wm2.count(); k != 0 {
		t.Fatalf("the restarted CU evaluated %d messages to answer a stored result", k)
	}
}

// TestDefaultComputeLimitBound: with the default maximum (cu.DefaultMaxCompute), a looping aos message ends
// with its Error naming that bound. How long the loop ran is logged, not asserted: wall-clock time depends on
// the machine's load (≈1.5 s on a quiet 2-core VM; cu's doc gives the figures).
func TestDefaultComputeLimitBound(t *testing.T) {
	n := newNetwork(t)
	pid := aosProcess(t, n)
	loop := eval(n, pid, "while true do end")
	wm := &watchedMachines{}
	u := n.newUnit(unitOpts{machines: wm})
	r, err := u.c.Result(context.Background(), pid, loop)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("compute limit reached: %d units (Compute-Limit 9000000000000, this CU's maximum %d)", cu.DefaultMaxCompute, cu.DefaultMaxCompute)
	if r.Error != want {
		t.Fatalf("Error %q, want %q", r.Error, want)
	}
	var took time.Duration
	for _, a := range wm.applies {
		took = max(took, a.took)
	}
	t.Logf("the loop ran %v", took)
}

// TestDryRunLimits: a dry-run runs under the lower dry-run maximum, and stops as soon as its client goes
// away, even with a limit that would let it loop for minutes; the process is never changed.
func TestDryRunLimits(t *testing.T) {
	n := newNetwork(t)
	pid := aosProcess(t, n)
	set := eval(n, pid, "Counter = 1; return Counter")
	wm := &watchedMachines{}
	u := n.newUnit(unitOpts{machines: wm, maxDryRun: 1e8})
	ctx := context.Background()
	if _, err := u.c.Result(ctx, pid, set); err != nil {
		t.Fatal(err)
	}
	loop := client.DryRunMessage{Owner: n.user.Address(), Data: "Counter = 5; while true do end", Tags: []dataitem.Tag{{Name: "Action", Value: "Eval"}}}
	r, err := u.c.DryRun(ctx, pid, loop)
	if err != nil {
		t.Fatal(err)
	}
	if want := "compute limit reached: 100000000 units (Compute-Limit 9000000000000, this CU's dry-run maximum 100000000)"; r.Error != want {
		t.Fatalf("dry-run Error %q, want %q", r.Error, want)
	}

	// A client that leaves: its dry-run is interrupted (the limit, 1e12, is minutes of looping).
	long := n.newUnit(unitOpts{machines: wm, maxDryRun: 1e12})
	if _, err := long.c.Result(ctx, pid, set); err != nil {
		t.Fatal(err)
	}
	wm.mu.Lock()
	wm.done = make(chan watchedApply, 16)
	wm.mu.Unlock()
	cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err = long.c.DryRun(cctx, pid, loop)
	cancel()
	if err == nil {
		t.Fatal("a dry-run of an endless loop answered within 300 ms")
	}
	left := time.Now()
	select {
	case a := <-wm.done:
		if !a.fork || !errors.Is(a.err, vm.ErrInterrupted) {
			t.Fatalf("fork %v, err %v: want the dry-run's fork interrupted", a.fork, a.err)
		}
		t.Logf("the dry-run stopped %v after its client left", time.Since(left))
	case <-time.After(30 * time.Second):
		t.Fatal("the dry-run kept running after its client left")
	}
	r, err = long.c.DryRun(ctx, pid, client.DryRunMessage{Owner: n.user.Address(), Data: "return Counter", Tags: []dataitem.Tag{{Name: "Action", Value: "Eval"}}})
	if err != nil || lastLine(outputData(t, r)) != "1" {
		t.Fatalf("state after the dry-runs: %v %q %q", err, outputData(t, r), r.Error)
	}
}

// TestStateSlowReader: a GET /state whose client never reads does not hold the process: results and dry-runs
// of the same process go on while it hangs.
func TestStateSlowReader(t *testing.T) {
	n := newNetwork(t)
	pid := aosProcess(t, n)
	first := eval(n, pid, "Counter = 1; return Counter")
	u := n.newUnit(unitOpts{real: true})
	ctx := context.Background()
	if _, err := u.c.Result(ctx, pid, first); err != nil {
		t.Fatal(err)
	}
	// A client with a tiny receive window that sends the request and never reads.
	conn, err := net.Dial("tcp", strings.TrimPrefix(u.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.(*net.TCPConn).SetReadBuffer(4096)
	fmt.Fprintf(conn, "GET /state/%s HTTP/1.1\r\nHost: cu\r\n\r\n", pid)
	time.Sleep(500 * time.Millisecond) // the handler is now blocked writing the memory

	done := make(chan error, 1)
	go func() {
		next := eval(n, pid, "Counter = Counter + 1; return Counter")
		r, err := u.c.Result(ctx, pid, next)
		if err == nil && lastLine(outputData(t, r.Result)) != "2" {
			err = fmt.Errorf("result %s", r.Body)
		}
		if err == nil {
			var d vm.Result
			d, err = u.c.DryRun(ctx, pid, client.DryRunMessage{Owner: n.user.Address(), Data: "return Counter", Tags: []dataitem.Tag{{Name: "Action", Value: "Eval"}}})
			if err == nil && lastLine(outputData(t, d)) != "2" {
				err = fmt.Errorf("dry-run %s %q", d.Output, d.Error)
			}
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the process is frozen by a client that does not read its state")
	}
	// The stalled response really was the state: its headers arrived.
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	head := make([]byte, 12)
	if _, err := io.ReadFull(conn, head); err != nil || string(head) != "HTTP/1.1 200" {
		t.Fatalf("state response %q, %v", head, err)
	}
}

// TestShutdownInterruptsEvaluation: Close during a long evaluation interrupts it at once (the request gets
// 503, nothing is stored for the message); after a restart the message is evaluated again and ends in its
// Compute-Limit Error; the messages around it are intact.
func TestShutdownInterruptsEvaluation(t *testing.T) {
	n := newNetwork(t)
	pid := aosProcess(t, n)
	set := eval(n, pid, "Counter = 1; return Counter")
	loop := eval(n, pid, "Counter = 99; while true do end")
	get := eval(n, pid, "return Counter")
	dir := t.TempDir()
	wm := &watchedMachines{done: make(chan watchedApply, 16)}
	u := n.newUnit(unitOpts{dir: dir, machines: wm, maxCompute: 1e12}) // minutes of looping
	ctx := context.Background()
	if _, err := u.c.Result(ctx, pid, set); err != nil {
		t.Fatal(err)
	}
	<-wm.done // the Process message
	<-wm.done // set
	errc := make(chan error, 1)
	go func() {
		_, err := u.c.Result(ctx, pid, loop)
		errc <- err
	}()
	time.Sleep(500 * time.Millisecond) // the loop is running
	start := time.Now()
	if err := u.cu.Close(); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("Close took %v during a loop", took)
	if took > 2*time.Second {
		t.Fatalf("Close took %v with a loop running; want under 2 s", took)
	}
	a := <-wm.done
	if !errors.Is(a.err, vm.ErrInterrupted) {
		t.Fatalf("the loop's Apply ended with %v, want ErrInterrupted", a.err)
	}
	select {
	case err := <-errc:
		if !client.IsCUStatus(err, http.StatusServiceUnavailable) {
			t.Fatalf("the interrupted request got %v, want 503", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the request did not end")
	}
	u.stop()

	u2 := n.newUnit(unitOpts{dir: dir, wallet: u.wallet, real: true, maxCompute: 2e8})
	r, err := u2.c.Result(ctx, pid, loop)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r.Error, "compute limit reached: 200000000 units") {
		t.Fatalf("after restart the loop ended with %q", r.Error)
	}
	if r, err := u2.c.Result(ctx, pid, get); err != nil || lastLine(outputData(t, r.Result)) != "1" {
		t.Fatalf("after restart: %v %q", err, outputData(t, r.Result))
	}
}

// lastLine is the last line of aos's Output.data (after an errored message aos prints a nonce warning first).
func lastLine(s string) string { return s[strings.LastIndexByte(s, '\n')+1:] }
