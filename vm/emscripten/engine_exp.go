//go:build aogoexp

package emscripten

// The engine experiment harness (go test -tags aogoexp): AOGO_ENGINE_EXP, a comma-separated list, changes
// sharedEngine's settings on top of the defaults, so each setting ENGINE.md discusses can be re-measured
// on the same benchmark binary:
//
//	go test -c -tags aogoexp -o /tmp/emc.test ./vm/emscripten
//	AOGO_ENGINE_EXP=spectre /tmp/emc.test -test.run '^$' -test.bench BenchmarkLlamaNext -test.benchtime 30x
//
// The list is part of the compiled-module cache key, so artifacts of two experiments never mix. Never build
// a CU with this tag: the settings below change what compiled code does (and some, isolation).
//
// Settings that wasmtime-go's Config does not expose (memory reservation, guard size, whether memory may
// move, signals-based traps) are set through the C API, on the wasm_config_t that wasmtime.Config holds
// first (checked like interrupt.go's store pointer).

/*
#include <stdint.h>
#include <stdbool.h>

typedef struct wasm_config_t wasm_config_t;
extern void wasmtime_config_memory_reservation_set(wasm_config_t *, uint64_t);
extern void wasmtime_config_memory_guard_size_set(wasm_config_t *, uint64_t);
extern void wasmtime_config_memory_reservation_for_growth_set(wasm_config_t *, uint64_t);
extern void wasmtime_config_memory_may_move_set(wasm_config_t *, bool);
extern void wasmtime_config_signals_based_traps_set(wasm_config_t *, bool);
*/
import "C"

import (
	"os"
	"reflect"
	"strconv"
	"strings"
	"unsafe"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

func experimentKey() string { return "|exp:" + os.Getenv("AOGO_ENGINE_EXP") }

func configPtr(cfg *wasmtime.Config) *C.wasm_config_t {
	t := reflect.TypeFor[wasmtime.Config]()
	if t.NumField() == 0 || t.Field(0).Name != "_ptr" || t.Field(0).Offset != 0 {
		panic("wasmtime.Config layout changed")
	}
	return (*C.wasm_config_t)(*(*unsafe.Pointer)(unsafe.Pointer(cfg)))
}

// applyExperiment applies AOGO_ENGINE_EXP. Knobs (k or k=N):
//
//	spectre          Spectre heap mitigation back on (the default before v3)
//	nonan            no NaN canonicalisation
//	noepoch          no epoch interruption (interrupt.go's tests then fail)
//	optnone, optsize Cranelift opt level none / speed_and_size (default speed)
//	resgib=N         memory_reservation N GiB (default 4; ≥ a memory's maximum makes it static)
//	guardmib=N       memory_guard_size N MiB (default 32)
//	growmib=N        memory_reservation_for_growth N MiB
//	nomove           memory_may_move false
//	nosignals        signals_based_traps false (explicit checks instead of faults)
//	perfmap          write /tmp/perf-PID.map so perf names wasm functions
//	flag=NAME        enable a Cranelift boolean flag
func applyExperiment(cfg *wasmtime.Config) {
	for _, kv := range strings.Split(os.Getenv("AOGO_ENGINE_EXP"), ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, _ := strconv.ParseUint(v, 10, 64)
		switch k {
		case "":
		case "spectre":
			cfg.SetCraneliftFlag("enable_heap_access_spectre_mitigation", "true")
		case "nonan":
			cfg.SetCraneliftNanCanonicalization(false)
		case "noepoch":
			cfg.SetEpochInterruption(false)
		case "optnone":
			cfg.SetCraneliftOptLevel(wasmtime.OptLevelNone)
		case "optsize":
			cfg.SetCraneliftOptLevel(wasmtime.OptLevelSpeedAndSize)
		case "resgib":
			C.wasmtime_config_memory_reservation_set(configPtr(cfg), C.uint64_t(n<<30))
		case "guardmib":
			C.wasmtime_config_memory_guard_size_set(configPtr(cfg), C.uint64_t(n<<20))
		case "growmib":
			C.wasmtime_config_memory_reservation_for_growth_set(configPtr(cfg), C.uint64_t(n<<20))
		case "nomove":
			C.wasmtime_config_memory_may_move_set(configPtr(cfg), C.bool(false))
		case "nosignals":
			C.wasmtime_config_signals_based_traps_set(configPtr(cfg), C.bool(false))
		case "perfmap":
			cfg.SetProfiler(wasmtime.ProfilingStrategy(3)) // WASMTIME_PROFILING_STRATEGY_PERFMAP
		case "flag":
			cfg.EnableCraneliftFlag(v)
		default:
			panic("AOGO_ENGINE_EXP: unknown setting " + k)
		}
	}
}
