package emscripten

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

func cacheTestModule(t *testing.T, n int) ([]byte, [32]byte) {
	t.Helper()
	wasm, err := wasmtime.Wat2Wasm(`(module (func (export "f") (result i32) i32.const ` + strings.Repeat("1", n) + `))`)
	if err != nil {
		t.Fatal(err)
	}
	var h [32]byte
	copy(h[:], wasm)
	h[31] = byte(n)
	return wasm, h
}

func callF(t *testing.T, m *wasmtime.Module) int32 {
	t.Helper()
	store := wasmtime.NewStore(sharedEngine())
	store.SetFuel(1000)
	store.SetEpochDeadline(1 << 40)
	inst, err := wasmtime.NewInstance(store, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := inst.GetFunc(store, "f").Call(store)
	if err != nil {
		t.Fatal(err)
	}
	return v.(int32)
}

// TestModuleCache: an entry round-trips; a corrupted one, one in a directory others can write, a
// symlinked directory, or an entry others can write are never deserialized.
func TestModuleCache(t *testing.T) {
	eng := sharedEngine()
	dir := filepath.Join(t.TempDir(), "cache")
	wasm, h := cacheTestModule(t, 3)
	mod, err := wasmtime.NewModule(eng, wasm)
	if err != nil {
		t.Fatal(err)
	}
	if err := storeCached(dir, h, mod); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(dir)
	ei, _ := os.Stat(cacheFile(dir, h))
	if fi.Mode().Perm() != 0o700 || ei.Mode().Perm() != 0o600 {
		t.Fatalf("modes: dir %v entry %v, want 0700 and 0600", fi.Mode().Perm(), ei.Mode().Perm())
	}
	got, err := loadCached(eng, dir, h)
	if err != nil {
		t.Fatal(err)
	}
	if v := callF(t, got); v != 111 {
		t.Fatalf("cached module returned %d", v)
	}

	// One flipped bit in the native code: refused before wasmtime sees it.
	b, _ := os.ReadFile(cacheFile(dir, h))
	b[len(b)-100] ^= 1
	os.WriteFile(cacheFile(dir, h), b, 0o600)
	if _, err := loadCached(eng, dir, h); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("corrupt entry: %v", err)
	}
	// compile (with a hash not in the process cache) recompiles and rewrites it.
	c, err := compile(wasm, dir, false, lowerNone, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := loadCached(eng, dir, c.hash); err != nil {
		t.Fatalf("entry not rewritten: %v", err)
	}

	os.Chmod(cacheFile(dir, c.hash), 0o666)
	if _, err := loadCached(eng, dir, c.hash); err == nil {
		t.Fatal("an entry others can write was used")
	}
	os.Chmod(cacheFile(dir, c.hash), 0o600)

	os.Chmod(dir, 0o777)
	if _, err := loadCached(eng, dir, c.hash); err == nil {
		t.Fatal("a directory others can write was used")
	}
	if err := storeCached(dir, h, mod); err == nil {
		t.Fatal("stored into a directory others can write")
	}
	os.Chmod(dir, 0o755) // readable by others only: tightened, then used
	if _, err := loadCached(eng, dir, c.hash); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode %v not tightened", fi.Mode().Perm())
	}

	link := filepath.Join(t.TempDir(), "link")
	os.Symlink(dir, link)
	if _, err := loadCached(eng, link, c.hash); err == nil {
		t.Fatal("a symlinked directory was used")
	}
}
