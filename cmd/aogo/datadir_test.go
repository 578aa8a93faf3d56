package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestDevPortInUse: `aogo dev` on a taken port says so and what to do, and exits 1 (it used to panic in Close).
func TestDevPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"dev", "--data", t.TempDir(), "--listen", addr}, &out, &errb)
	want := "aogo dev: address " + addr + " already in use; try --listen 127.0.0.1:0 or stop the other aogo\n"
	if code != 1 || errb.String() != want {
		t.Fatalf("exit %d, stderr %q; want 1, %q", code, errb.String(), want)
	}
	// The units say the same.
	errb.Reset()
	if code := run(context.Background(), []string{"su", "--data", t.TempDir(), "--listen", addr}, &out, &errb); code != 1 ||
		!strings.Contains(errb.String(), "address "+addr+" already in use; try --listen 127.0.0.1:0") {
		t.Fatalf("su: exit %d, stderr %q", code, errb.String())
	}
}

// TestDevDataDirLocked: a second `aogo dev` on a running one's data dir is refused, naming the holder's pid;
// the lock goes with the first.
func TestDevDataDirLocked(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var firstOut, firstErr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"dev", "--data", dir, "--listen", "127.0.0.1:0"}, &firstOut, &firstErr)
	}()
	for firstOut.String() == "" { // ready
		select {
		case code := <-done:
			t.Fatalf("first aogo dev exited %d: %s", code, firstErr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	var out, errb bytes.Buffer
	// Bounded: without the lock the second would run (until this deadline) instead of exiting.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel2()
	code := run(ctx2, []string{"dev", "--data", dir, "--listen", "127.0.0.1:0"}, &out, &errb)
	want := fmt.Sprintf("aogo dev: data dir %s is in use by another aogo (pid %d); stop it or give another data dir\n", dir, os.Getpid())
	if code != 1 || errb.String() != want {
		t.Fatalf("second dev: exit %d, stderr %q; want %q", code, errb.String(), want)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("first aogo dev exited %d: %s", code, firstErr.String())
	}
	startDev(t, dir) // released on exit
}

// TestUnitDataDirLocked: two units (su, mu, cu, gateway) on one data dir: the second is refused naming the first's pid;
// after the first is killed with SIGKILL the dir is free again.
func TestUnitDataDirLocked(t *testing.T) {
	bin := aogoBinary(t)
	for _, tc := range []struct {
		unit string
		args []string
	}{
		{"su", nil},
		{"mu", []string{"--cu", "http://127.0.0.1:1"}},
		{"cu", []string{"--gateway", "http://127.0.0.1:1"}},
		{"gateway", nil},
	} {
		t.Run(tc.unit, func(t *testing.T) {
			dir := t.TempDir()
			args := append([]string{"--data", dir}, tc.args...)
			first := startUnit(t, bin, tc.unit, args...)
			var out, errb bytes.Buffer
			full := append([]string{tc.unit, "--listen", "127.0.0.1:0"}, args...)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			code := run(ctx, full, &out, &errb)
			want := fmt.Sprintf("aogo %s: data dir %s is in use by another aogo (pid %d)", tc.unit, dir, first.cmd.Process.Pid)
			if code != 1 || !strings.Contains(errb.String(), want) {
				t.Fatalf("second %s: exit %d, stderr %q; want %q", tc.unit, code, errb.String(), want)
			}
			first.cmd.Process.Signal(syscall.SIGKILL)
			first.cmd.Wait()
			again := startUnit(t, bin, tc.unit, args...)
			again.cmd.Process.Signal(syscall.SIGTERM)
			again.cmd.Wait()
		})
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader in two goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
