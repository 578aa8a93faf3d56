package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aogo/aogo/internal/testenv"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildOut  []byte
	buildErr  error
)

// TestMain removes the binary aogoBinary built, if any. aogo run's default module cache goes to a
// temporary XDG_CACHE_HOME, never the user's.
func TestMain(m *testing.M) {
	// aogoBinary's go build keeps the machine's build cache: without GOCACHE, go derives it from
	// XDG_CACHE_HOME, set below, and would rebuild everything (wasmtime's cgo included: minutes).
	if os.Getenv("GOCACHE") == "" {
		if d, err := os.UserCacheDir(); err == nil {
			os.Setenv("GOCACHE", filepath.Join(d, "go-build"))
		}
	}
	cache, err := os.MkdirTemp("", "aogo-cache-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_CACHE_HOME", cache)
	code := m.Run()
	os.RemoveAll(cache)
	if builtBin != "" {
		os.RemoveAll(filepath.Dir(builtBin))
	}
	os.Exit(code)
}

// aogoBinary builds the aogo binary once per test run (the crash tests kill it with SIGKILL, which only a
// separate process allows) and returns its path.
func aogoBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the aogo binary")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "aogo-bin-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "aogo")
		build := exec.Command("go", "build", "-o", builtBin, "./cmd/aogo")
		build.Dir = testenv.RepoRoot()
		buildOut, buildErr = build.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("go build: %v\n%s", buildErr, buildOut)
	}
	return builtBin
}

// unitProc is one `aogo su|cu|mu|gateway` child process.
type unitProc struct {
	cmd  *exec.Cmd
	addr string
	log  string // the file its stderr (its log) goes to
}

// startUnit runs `aogo UNIT --listen 127.0.0.1:0 ARGS…` and waits for the "listening on ADDR" line.
func startUnit(t *testing.T, bin, unit string, args ...string) *unitProc {
	t.Helper()
	cmd := exec.Command(bin, append([]string{unit, "--listen", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	// The unit's log goes to a file in the test's temp dir, so a unit that does not start says why.
	logFile, err := os.CreateTemp(t.TempDir(), unit+"-*.log")
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close() // the child has its own descriptor
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if _, rest, ok := strings.Cut(sc.Text(), "listening on "); ok {
				a, _, _ := strings.Cut(rest, " ")
				addr <- a
			}
		}
	}()
	select {
	case a := <-addr:
		return &unitProc{cmd: cmd, addr: a, log: logFile.Name()}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		logged, _ := os.ReadFile(logFile.Name())
		t.Fatalf("aogo %s did not start within 20 s; its log:\n%s", unit, logged[max(0, len(logged)-4096):])
		return nil
	}
}
