package main

import (
	"bufio"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aogo/aogo/devnet"
)

// devStartOutput runs the aogo binary's `dev` on dir (with the extra flags) until ready and returns what it wrote
// to stderr up to and including the next-step hint, and the Info line of stdout.
func devStartOutput(t *testing.T, bin, dir string, extra ...string) (string, devnet.Info) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"dev", "--data", dir, "--listen", "127.0.0.1:0"}, extra...)...)
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	errText := make(chan string, 1)
	go func() {
		var b strings.Builder
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			b.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "aogo help") { // the hint's last line
				break
			}
		}
		errText <- b.String()
		for sc.Scan() {
		}
	}()
	var info devnet.Info
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() || json.Unmarshal(sc.Bytes(), &info) != nil {
		t.Fatalf("stdout %q is not the Info line", sc.Text())
	}
	go func() {
		for sc.Scan() {
		}
	}()
	select {
	case s := <-errText:
		return s, info
	case <-time.After(time.Minute):
		t.Fatal("no hint on stderr")
		return "", info
	}
}

// TestDevStartMessages: the first start with a module cache says it is compiling the aos module (a later start,
// which loads it from the cache, does not), and a ready network says what to do next, with the address and
// data dir the client verbs need.
func TestDevStartMessages(t *testing.T) {
	bin := aogoBinary(t)
	dir, cache := t.TempDir(), filepath.Join(t.TempDir(), "wasm")
	for i, wantCompile := range []bool{true, false} {
		errOut, info := devStartOutput(t, bin, dir, "--cache-dir", cache)
		url := strings.TrimSuffix(info.MU, "/mu")
		if got := strings.Contains(errOut, "compiling the aogo-aos module"); got != wantCompile {
			t.Errorf("start %d: compiling line %v, want %v:\n%s", i+1, got, wantCompile, errOut)
		}
		for _, want := range []string{"aogo dev: ready at " + url, "export AOGO_URL=" + url + " AOGO_DATA=" + dir, "aogo spawn", "aogo eval PID", "aogo repl PID"} {
			if !strings.Contains(errOut, want) {
				t.Errorf("start %d: stderr lacks %q:\n%s", i+1, want, errOut)
			}
		}
	}
}
