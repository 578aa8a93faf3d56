package emscripten

import (
	"crypto/sha256"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// engineVersion names the engine configuration in compiled-module cache keys: bump it whenever
// sharedEngine's settings change, so stale artifacts are never deserialized. (Builds with the aogoexp tag
// append their experiment's settings: see engine_exp.go.)
var engineVersion = "wasmtime39-fuel-epoch-nancanon-v3|spectre=" + strconv.FormatBool(spectreHardening) + experimentKey()

// spectreHardening turns Cranelift's Spectre hardening of heap bounds checks back on (off by default: see
// ENGINE.md) for an operator who runs processes it does not trust beside secrets it must keep: set the
// environment variable AOGO_WASM_SPECTRE_HARDENING=1 for the aogo process. Results are the same either way;
// llama.wasm runs about a third slower with it.
var spectreHardening = os.Getenv("AOGO_WASM_SPECTRE_HARDENING") == "1"

var (
	engineOnce sync.Once
	engine     *wasmtime.Engine

	compiledMu sync.Mutex
	compiled   = map[[32]byte]*compiledModule{}
)

// sharedEngine is the one engine every machine uses: wasmtime Modules are per engine, so sharing it is
// what lets a module compile once for all its processes. Why each setting is what it is, with the
// measurements and what it means for isolation between processes, is in ENGINE.md.
func sharedEngine() *wasmtime.Engine {
	engineOnce.Do(func() {
		cfg := wasmtime.NewConfig()
		cfg.SetWasmMemory64(true)
		// Fuel is the deterministic Compute-Limit: the same module, config and input consume the same fuel.
		cfg.SetConsumeFuel(true)
		// Epochs interrupt a guest whose Apply's context ends (shutdown, a dry-run's client gone): see
		// interrupt.go. The check costs a load and a compare at function entries and loop back-edges.
		cfg.SetEpochInterruption(true)
		// NaN bit patterns are the one float nondeterminism wasm allows; canonicalise them so results and
		// memory never depend on the host CPU.
		cfg.SetCraneliftNanCanonicalization(true)
		cfg.SetWasmThreads(false)
		cfg.SetWasmRelaxedSIMD(false)
		cfg.SetWasmSIMD(true) // ao builds use -msimd128
		cfg.SetWasmBulkMemory(true)
		cfg.SetWasmMultiValue(true)
		cfg.SetWasmReferenceTypes(true)
		cfg.SetParallelCompilation(true)
		// Bounds checks stay (they are what confines a process to its own linear memory; memory64 has no
		// guard-region elision, wasm32 memories need none), but by default without Cranelift's Spectre
		// hardening of them: the hardening puts a conditional move on the address path of every 64-bit
		// access, and it cost llama.wasm a third of its speed. It guards against a process reading, by
		// speculation and a cache timing side channel, memory outside its sandbox; ENGINE.md says why we
		// accept that (a guest has no clock to time anything with: every time source is the message's) and
		// what is kept (architectural bounds checks, one store and memory per process, no threads).
		cfg.SetCraneliftFlag("enable_heap_access_spectre_mitigation", strconv.FormatBool(spectreHardening))
		applyExperiment(cfg)
		engine = wasmtime.NewEngineWithConfig(cfg)
	})
	return engine
}

// compiledModule is a module compiled once and shared by every instance (wasmtime Modules are
// thread-safe), with what we learned from its imports and exports.
type compiledModule struct {
	hash    [32]byte
	module  *wasmtime.Module
	imports []importInfo
	mem64   bool
	// lowered: a wasm64 module compiled over a 32-bit memory (lowerMemory64); its format is still mem64.
	lowered bool
	// imageEnd is where the module's data image ends in linear memory (dataExtent); imageOK is false when
	// that is unknown, and then every page is read to find the non-zero ones.
	imageEnd uint64
	imageOK  bool

	mu         sync.Mutex
	bootImages map[string]map[uint32]bool // by format name; see instance.bootImage
}

// compile returns the compiled module for wasm, from the in-process cache, the disk cache in cacheDir
// (when set), or by compiling it, which it first tells compiling (when set). With meter, what is compiled is
// wasm rewritten for the metering formats (meterModule); a module that meters itself (imports metering.usegas)
// is compiled with its gas calls inlined (inlineUsegas). Each rewrite is cached under its own key (cacheKey).
//
// A wasm64 module (lower not lowerNone) is then lowered to a 32-bit memory (lowerWrap) or given the lowering's
// same-fuel shadow (lowerShadow), unless it cannot be lowered: then it is compiled as it is, for both, the
// choice depending on its bytes only. Both are cached under keys of their own.
func compile(wasm []byte, cacheDir string, meter bool, lower lowerMode, compiling func()) (*compiledModule, error) {
	h := sha256.Sum256(wasm)
	key, rewrite := cacheKey(h, wasm, meter)
	if meter {
		h = key // the metering formats' snapshots name the rewritten module (as they always have)
	}
	if lower != lowerNone {
		key = sha256.Sum256(append(key[:], lowerKey+lower.String()...))
	}
	compiledMu.Lock()
	defer compiledMu.Unlock()
	if c, ok := compiled[key]; ok {
		return c, nil
	}
	switch rewrite {
	case rewriteMeter:
		m, err := meterModule(wasm)
		if err != nil {
			return nil, err
		}
		wasm = m
	case rewriteInlineGas:
		// A module this rewrite cannot handle is compiled as it is (its gas then goes through the host,
		// slower but the same): the choice depends on the bytes only, so the key still names what is compiled.
		if m, ok, _ := inlineUsegas(wasm); ok {
			wasm = m
		}
	}
	lowered := false
	if lower != lowerNone {
		// lowerMemory64 refuses a module in both modes alike (the shadow checks what lowering would change),
		// so a machine whose cap is above 4 GiB runs the shadow exactly when one at or below runs the lowered
		// module.
		if lw, err := lowerMemory64(wasm, lower == lowerWrap); err == nil {
			wasm, lowered = lw, lower == lowerWrap
		}
	}
	eng := sharedEngine()
	var mod *wasmtime.Module
	if cacheDir != "" {
		mod, _ = loadCached(eng, cacheDir, key) // any reason not to use the entry means: compile
	}
	if mod == nil {
		if compiling != nil {
			compiling()
		}
		m, err := wasmtime.NewModule(eng, wasm)
		if err != nil {
			return nil, fmt.Errorf("compile module: %s", oneLine(err))
		}
		mod = m
		if cacheDir != "" {
			_ = storeCached(cacheDir, key, m) // best effort: a cache that cannot be written only costs the next cold start
		}
	}
	c := &compiledModule{hash: h, module: mod}
	c.imageEnd, c.imageOK = dataExtent(wasm)
	for _, imp := range mod.Imports() {
		c.imports = append(c.imports, newImportInfo(imp))
	}
	for _, e := range mod.Exports() {
		if mt := e.Type().MemoryType(); mt != nil {
			c.mem64 = mt.Is64()
			c.lowered = lowered
		}
	}
	compiled[key] = c
	return c, nil
}

// oneLine condenses a wasmtime error (multi-line, with "Caused by:" and a Rust backtrace) into one line.
func oneLine(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "Stack backtrace:"); i >= 0 {
		msg = msg[:i]
	}
	return strings.Join(strings.Fields(msg), " ")
}

// importInfo is what an instance needs of one import, read once at compile time. wasmtime's type objects
// (ImportType, FuncType) initialise caches lazily and are not safe to read from two goroutines at once, so
// instances never touch the module's own type objects: each builds a fresh FuncType from these kinds.
type importInfo struct {
	module, name    string
	isFunc          bool
	params, results []wasmtime.ValKind
}

func newImportInfo(imp *wasmtime.ImportType) importInfo {
	info := importInfo{module: imp.Module()}
	if imp.Name() != nil {
		info.name = *imp.Name()
	}
	ft := imp.Type().FuncType()
	if ft == nil {
		return info
	}
	info.isFunc = true
	for _, p := range ft.Params() {
		info.params = append(info.params, p.Kind())
	}
	for _, r := range ft.Results() {
		info.results = append(info.results, r.Kind())
	}
	return info
}

// funcType builds a new FuncType for the import, owned by the caller.
func (info importInfo) funcType() *wasmtime.FuncType {
	vt := func(kinds []wasmtime.ValKind) []*wasmtime.ValType {
		out := make([]*wasmtime.ValType, len(kinds))
		for i, k := range kinds {
			out[i] = wasmtime.NewValType(k)
		}
		return out
	}
	return wasmtime.NewFuncType(vt(info.params), vt(info.results))
}
