package emscripten

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"

	"github.com/aogo/aogo/internal/atomicfile"
	"github.com/bytecodealliance/wasmtime-go/v39"
	"golang.org/x/sys/cpu"
)

// The on-disk cache of compiled modules (vm.Options.CacheDir; the CU's data dir, aogo run's user cache).
//
// A cache entry is native code: wasmtime deserializes it without checks beyond its own header, so bytes an
// attacker wrote there would run as us. Why that is safe enough:
//   - the directory must be ours, not a symlink, and writable by nobody else (we create it 0700 and tighten a
//     merely readable one); entries must be ours, regular, and not group/other writable. Whoever can write
//     there anyway (our uid, root) can already run code as us.
//   - entries are written to a temporary file (0600) and renamed, so a reader never sees half an entry;
//     each carries the SHA-256 of its payload, checked before deserializing, so a torn or corrupted file
//     (disk error, full disk, a copy cut short) is recompiled, never executed.
//   - the key holds the module's hash and everything the code depends on: the engine configuration
//     (engineVersion: fuel, epoch interruption, NaN canonicalisation, Spectre hardening, SIMD…; the
//     experiment's settings in aogoexp builds), the wasmtime-go version, the OS, architecture and CPU
//     features (wasmtime compiles for the host's), so an artifact from another configuration or machine is
//     never loaded (wasmtime also refuses one whose settings differ).

const cacheMagic = "aogo-cwasm-1\n"

var (
	engineKeyOnce sync.Once
	engineKeyStr  string
)

// engineKey names the compiler settings in cache file names.
func engineKey() string {
	engineKeyOnce.Do(func() {
		h := sha256.Sum256([]byte(fmt.Sprintf("%s|wasmtime-go v39.0.1|%s/%s|%+v|%+v", engineVersion, runtime.GOOS, runtime.GOARCH, cpu.X86, cpu.ARM64)))
		engineKeyStr = hex.EncodeToString(h[:8])
	})
	return engineKeyStr
}

// rewrite is what compile does to a module before compiling it.
type rewrite int

const (
	rewriteNone      rewrite = iota
	rewriteMeter             // the metering formats: meterModule
	rewriteInlineGas         // a module importing metering.usegas: inlineUsegas
)

// cacheKey is the key of the compiled module (in memory and on disk) for wasm, whose SHA-256 is h, and the
// rewrite compiled: a rewritten module is cached under the hash of h and the rewrite's name and version, never
// under the plain module's key (the same bytes compile to other code in a metering format).
func cacheKey(h [32]byte, wasm []byte, meter bool) ([32]byte, rewrite) {
	switch {
	case meter:
		return sha256.Sum256(append(h[:], "aogo metering v1"...)), rewriteMeter
	case !noInlineGas && importsUsegas(wasm):
		return sha256.Sum256(append(h[:], inlineGasKey...)), rewriteInlineGas
	}
	return h, rewriteNone
}

func cacheFile(dir string, h [32]byte) string {
	return filepath.Join(dir, hex.EncodeToString(h[:])+"-"+engineKey()+".cwasm")
}

// privateDir makes dir (0700) or checks that an existing one is ours and writable only by us.
func privateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("module cache %s: not a directory (a symlink?)", dir)
	}
	if !ownedByUs(fi) {
		return fmt.Errorf("module cache %s: not owned by this user", dir)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("module cache %s: writable by others (mode %v)", dir, fi.Mode().Perm())
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return os.Chmod(dir, 0o700)
	}
	return nil
}

func ownedByUs(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return !ok || int(st.Uid) == os.Getuid() // no owner to check on this OS: the mode checks remain
}

// loadCached returns the module cached in dir under h, or nil with the reason it could not be used
// (absent, unsafe, corrupt, incompatible).
func loadCached(eng *wasmtime.Engine, dir string, h [32]byte) (*wasmtime.Module, error) {
	if err := privateDir(dir); err != nil {
		return nil, err
	}
	path := cacheFile(dir, h)
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || !ownedByUs(fi) || fi.Mode().Perm()&0o022 != 0 {
		return nil, fmt.Errorf("module cache entry %s: not a private regular file", path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < len(cacheMagic)+sha256.Size || string(b[:len(cacheMagic)]) != cacheMagic {
		return nil, fmt.Errorf("module cache entry %s: bad header", path)
	}
	sum, payload := b[len(cacheMagic):len(cacheMagic)+sha256.Size], b[len(cacheMagic)+sha256.Size:]
	if got := sha256.Sum256(payload); !bytes.Equal(got[:], sum) {
		return nil, fmt.Errorf("module cache entry %s: checksum mismatch", path)
	}
	m, err := wasmtime.NewModuleDeserialize(eng, payload)
	if err != nil {
		return nil, fmt.Errorf("module cache entry %s: %s", path, oneLine(err))
	}
	return m, nil
}

// storeCached writes mod's artifact to dir under h, atomically. Errors only cost the next cold start.
func storeCached(dir string, h [32]byte, mod *wasmtime.Module) error {
	if err := privateDir(dir); err != nil {
		return err
	}
	payload, err := mod.Serialize()
	if err != nil {
		return err
	}
	sum := sha256.Sum256(payload)
	// atomicfile creates the entry 0600: only this user may write what the engine will load as code.
	if err := atomicfile.Write(cacheFile(dir, h), append(append([]byte(cacheMagic), sum[:]...), payload...)); err != nil {
		return errors.Join(errors.New("module cache: store"), err)
	}
	return nil
}
