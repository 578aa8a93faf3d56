package main

import (
	"bufio"
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aogo/aogo/devnet"
)

// devProc is an `aogo dev` child process (a real one: the test sends it signals).
type devProc struct {
	cmd    *exec.Cmd
	url    string
	exited chan struct{} // closed when the process has exited; then err is its Wait error
	err    error
}

func startDevProc(t *testing.T, bin, dir string, args ...string) *devProc {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"dev", "--data", dir, "--listen", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &devProc{cmd: cmd, exited: make(chan struct{})}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		io.Copy(io.Discard, stdout)
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			cmd.Process.Kill()
			<-p.exited
		}
	})
	select {
	case line, ok := <-lines:
		var info devnet.Info
		if !ok || json.Unmarshal([]byte(line), &info) != nil {
			t.Fatalf("aogo dev printed %q", line)
		}
		p.url = strings.TrimSuffix(info.MU, "/mu")
	case <-time.After(time.Minute):
		t.Fatal("aogo dev not ready in a minute")
	}
	return p
}

// TestDevSIGTERMDuringLoop: `aogo dev` gets SIGTERM while its CU runs an endless loop (under a maximum of
// minutes) and exits cleanly within 2 s; restarted, it evaluates the message to its Compute-Limit Error (the
// message was not lost) and the process state is intact.
func TestDevSIGTERMDuringLoop(t *testing.T) {
	bin := aogoBinary(t)
	dir := t.TempDir()
	p := startDevProc(t, bin, dir, "--max-compute", "1e12")
	pid := strings.TrimSpace(devRun(t, p.url, dir, "spawn", "--tag", "Name=loop"))
	if got := strings.TrimSpace(devRun(t, p.url, dir, "eval", pid, "Counter = 1; return Counter")); got != "1" {
		t.Fatalf("eval = %q", got)
	}
	mid := strings.TrimSpace(devRun(t, p.url, dir, "send", pid, "--action", "Eval", "--data", "Counter = 99; while true do end", "--no-wait"))
	time.Sleep(time.Second) // the CU evaluates the loop as soon as the SU commits it
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
		if p.err != nil {
			t.Fatalf("aogo dev exited with %v after SIGTERM", p.err)
		}
	case <-time.After(time.Minute):
		t.Fatal("aogo dev still running a minute after SIGTERM")
	}
	took := time.Since(start)
	t.Logf("aogo dev exited %v after SIGTERM, during a loop", took)
	if took > 2*time.Second {
		t.Fatalf("aogo dev took %v to exit after SIGTERM during a loop; want under 2 s", took)
	}

	p2 := startDevProc(t, bin, dir, "--max-compute", "2e8")
	var res struct{ Error string }
	if out := devRun(t, p2.url, dir, "result", pid, mid); json.Unmarshal([]byte(out), &res) != nil ||
		!strings.HasPrefix(res.Error, "compute limit reached: 200000000 units") {
		t.Fatalf("after restart the loop's result is %s", out)
	}
	if got := strings.TrimSpace(devRun(t, p2.url, dir, "eval", pid, "return Counter")); !strings.HasSuffix(got, "1") {
		t.Fatalf("Counter after restart = %q", got)
	}
	p2.cmd.Process.Signal(syscall.SIGTERM)
	<-p2.exited
}
