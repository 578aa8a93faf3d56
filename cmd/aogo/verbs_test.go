package main

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestDevVerbErrors: the client verbs refuse what would fail later and report a process's error with exit 1.
func TestDevVerbErrors(t *testing.T) {
	dir := t.TempDir()
	info := startDev(t, dir)
	url := strings.TrimSuffix(info.MU, "/mu")

	// spawn of a module the gateway does not have: refused at spawn, not at the first message.
	unknown := strings.Repeat("A", 43)
	if out, errOut, code := devRunCode(url, dir, "spawn", "--module", unknown); code != 1 || out != "" ||
		!strings.Contains(errOut, "module "+unknown+" is not on the gateway") {
		t.Fatalf("spawn unknown module: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	pid := strings.TrimSpace(devRun(t, url, dir, "spawn"))
	// spawn of an item that is not a module (a process, once its upload reached the gateway).
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, errOut, code := devRunCode(url, dir, "spawn", "--module", pid)
		if code == 1 && strings.Contains(errOut, "is not a module") {
			break
		}
		if code != 1 || !strings.Contains(errOut, "is not on the gateway") || time.Now().After(deadline) {
			t.Fatalf("spawn with a process as module: exit %d, stderr %q", code, errOut)
		}
	}

	// send: a message the process fails on prints the id and result, then the error on stderr, exit 1.
	out, errOut, code := devRunCode(url, dir, "send", pid, "--action", "Eval", "--data", `error("send boom")`)
	if mid, _, _ := strings.Cut(out, "\n"); code != 1 || len(mid) != 43 || !strings.Contains(errOut, "send boom") {
		t.Fatalf("send failing message: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	// aos colours its output; off a terminal the verbs print it plain.
	out, _, code = devRunCode(url, dir, "eval", pid, "return { a = 1 }")
	if code != 0 || strings.Contains(out, "\x1b[") || !strings.Contains(out, "a = 1") {
		t.Fatalf("eval table: exit %d, stdout %q", code, out)
	}
	_, errOut, code = devRunCode(url, dir, "eval", pid, `error("boom")`)
	if code != 1 || strings.Contains(errOut, "\x1b[") || !strings.Contains(errOut, "boom") {
		t.Fatalf("eval error: exit %d, stderr %q", code, errOut)
	}
}

func TestColorOK(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if colorOK(f) || colorOK(&strings.Builder{}) {
		t.Fatal("a file or a buffer is not a terminal")
	}
	var b strings.Builder
	plainFor(&b).Write([]byte("\x1b[31ma\x1b[0m = \x1b[34m1\x1b[0m\x1b[?25h"))
	if b.String() != "a = 1" {
		t.Errorf("stripped %q", b.String())
	}
	tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0)
	if err != nil {
		t.Skip("no terminal:", err)
	}
	defer tty.Close()
	t.Setenv("NO_COLOR", "")
	if !colorOK(tty) {
		t.Error("a terminal takes colours")
	}
	t.Setenv("NO_COLOR", "1")
	if colorOK(tty) {
		t.Error("NO_COLOR is set")
	}
}
