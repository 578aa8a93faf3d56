package emscripten

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// hostFn implements one import. Arguments arrive as uint64 (i32 zero-extended, i64 as is, floats as
// bits) so one implementation serves wasm32, wasm64 and legalized (i64 split into two i32) signatures;
// it inspects len(a) where the ABIs differ. The result is converted to the import's declared result type.
// A host function stops the guest by panicking with guestStop (or a fault from view); callHost turns it
// into a trap and remembers the cause.
type hostFn func(in *instance, c *wasmtime.Caller, v view, a []uint64) uint64

// guestStop carries why a host function stopped the guest: out of gas, exit, abort, a longjmp, an
// unsupported import, or a host failure. It is the root cause reported for the trap.
type guestStop struct{ err error }

var (
	errOutOfGas = errors.New("out of gas!")
	errLongjmp  = errors.New("longjmp")
	// errCxaThrow is the reference glue's abort for a C++ throw: "Aborted(Assertion failed: " + its text + ")".
	errCxaThrow = errors.New("Aborted(Assertion failed: Exception thrown, but exception catching is not enabled. Compile with -sNO_DISABLE_EXCEPTION_CATCHING or -sEXCEPTION_CATCHING_ALLOWED=[..] to catch.)")
)

// exitError is a guest exit(code).
type exitError struct{ code int32 }

func (e exitError) Error() string { return fmt.Sprintf("Program terminated with exit(%d)", e.code) }

// hostFailure wraps errors that are the host's fault (WeaveDrive backend, cancelled context): Apply
// returns them as errors instead of a deterministic Result.Error.
type hostFailure struct{ err error }

func (e hostFailure) Error() string { return e.err.Error() }
func (e hostFailure) Unwrap() error { return e.err }

func stop(err error) { panic(guestStop{err}) }

// hostFuncs maps import names (after v1 letter resolution) to implementations. Both module "env" and
// "wasi_snapshot_preview1" are looked up here, as the glue passes one object for both.
var hostFuncs map[string]hostFn

func init() {
	hostFuncs = map[string]hostFn{
		"_emscripten_throw_longjmp": func(in *instance, _ *wasmtime.Caller, _ view, _ []uint64) uint64 {
			in.longjmp = true
			stop(errLongjmp)
			return 0
		},
		"setTempRet0": func(in *instance, _ *wasmtime.Caller, _ view, a []uint64) uint64 {
			in.host.TempRet0 = uint32(a[0])
			return 0
		},
		"getTempRet0": func(in *instance, _ *wasmtime.Caller, _ view, _ []uint64) uint64 { return uint64(in.host.TempRet0) },
		"abort":       hostAbort,
		"_abort_js":   hostAbort,
		"exit": func(_ *instance, _ *wasmtime.Caller, _ view, a []uint64) uint64 {
			stop(exitError{int32(a[0])})
			return 0
		},
		"proc_exit": func(_ *instance, _ *wasmtime.Caller, _ view, a []uint64) uint64 {
			stop(exitError{int32(a[0])})
			return 0
		},
		"__assert_fail": func(_ *instance, _ *wasmtime.Caller, v view, a []uint64) uint64 {
			stop(fmt.Errorf("Aborted(Assertion failed: %s, at: %s,%d,%s)", v.cstring(a[0], 1024), v.cstring(a[1], 1024), int32(a[2]), v.cstring(a[3], 1024)))
			return 0
		},
		// C++ throw in a build without exception catching (llama.wasm: llama.cpp throws when a model does
		// not load). The reference glues (emscripten4, wasm64) record the exception and then
		// assert(false, …), which aborts the message with this text. No ao-loader glue provides the
		// catching imports (__cxa_begin_catch, __cxa_find_matching_catch_*, __resumeException, …), so
		// modules that import those do not link there; here they stay "unsupported import" stubs.
		"__cxa_throw": func(*instance, *wasmtime.Caller, view, []uint64) uint64 {
			stop(errCxaThrow)
			return 0
		},
		"emscripten_err": func(in *instance, _ *wasmtime.Caller, v view, a []uint64) uint64 {
			in.debugf("%s\n", v.cstring(a[0], 1<<16))
			return 0
		},

		"emscripten_memcpy_big":  hostMemcpy,
		"_emscripten_memcpy_js":  hostMemcpy,
		"emscripten_resize_heap": hostResizeHeap,
		"emscripten_get_heap_max": func(in *instance, _ *wasmtime.Caller, _ view, _ []uint64) uint64 {
			return in.f.heapMax
		},
		"emscripten_notify_memory_growth": func(*instance, *wasmtime.Caller, view, []uint64) uint64 { return 0 },

		// Time: the glue replaces Date.now with a counter starting at 10000 ms that every call advances;
		// what the clock imports return differs by glue (format.clock). Nothing reads the host clock.
		"_emscripten_date_now":             hostDateNow,
		"emscripten_date_now":              hostDateNow,
		"emscripten_get_now":               hostGetNow,
		"_emscripten_get_now_is_monotonic": func(*instance, *wasmtime.Caller, view, []uint64) uint64 { return 1 },
		"_tzset_js":                        hostTzset,
		"_gmtime_js":                       hostGmtime,
		"_localtime_js":                    hostLocaltime, // the process timezone is UTC
		"_mktime_js":                       hostMktime,
		"_timegm_js":                       hostMktime,
		"strftime":                         hostStrftime,
		"strftime_l":                       hostStrftime,

		"system":             hostSystemV1,
		"_emscripten_system": hostSystem,

		// Gas: metering.usegas (see hostUsegas) is what self-metering builds call; metering_gasUsed reads the counter.
		"metering_gasUsed": func(in *instance, c *wasmtime.Caller, _ view, _ []uint64) uint64 {
			if in.gas != nil {
				return uint64(in.gas.Get(c).I64())
			}
			return in.gasUsed
		},

		"__asyncjs__weavedrive_open":  hostDriveOpen,
		"__asyncjs__weavedrive_read":  hostDriveRead,
		"__asyncjs__weavedrive_close": hostDriveClose,
	}
	for name, fn := range syscallFuncs {
		hostFuncs[name] = fn
	}
}

func hostAbort(*instance, *wasmtime.Caller, view, []uint64) uint64 {
	stop(errors.New("Aborted(native code called abort())"))
	return 0
}

func hostMemcpy(_ *instance, _ *wasmtime.Caller, v view, a []uint64) uint64 {
	dst, src, n := a[0], a[1], a[2]
	copy(v.span(dst, n), v.span(src, n))
	return 0
}

// tick reads the glue's Date.now counter and advances it.
func (in *instance) tick() uint64 {
	t := in.host.Clock
	in.host.Clock++
	return t
}

// jsNaN is the bits of the NaN JS arithmetic produces (V8's canonical quiet NaN).
const jsNaN = 0x7ff8000000000000

func hostDateNow(in *instance, _ *wasmtime.Caller, _ view, _ []uint64) uint64 {
	if in.f.clock != clockCounter {
		return 0 // math.Float64bits(0)
	}
	return math.Float64bits(float64(in.tick()))
}

func hostGetNow(in *instance, _ *wasmtime.Caller, _ view, _ []uint64) uint64 {
	switch in.f.clock {
	case clockZero:
		return 0
	case clockZeroNaN:
		in.tick()
		return jsNaN
	}
	return math.Float64bits(float64(in.tick()))
}

// hostResizeHeap is emscripten_resize_heap as every glue writes it: over-grow by 20% (then 10%, 5%) capped
// at +96 MiB, align to 64 KiB, never past the format's heap maximum. Copying the policy exactly keeps
// memory sizes (and so memory hashes) equal to the reference. The Memory-Limit is the store limiter:
// a refused grow is a failed attempt, as a failed wasmMemory.grow is in JS.
func hostResizeHeap(in *instance, c *wasmtime.Caller, v view, a []uint64) uint64 {
	requested := a[0]
	if !in.f.mem64 {
		requested = uint64(uint32(requested))
	}
	oldSize := float64(len(v.b))
	maxHeap := float64(in.f.heapMax)
	if float64(requested) > maxHeap {
		return 0
	}
	alignUp := func(x, m float64) float64 { return x + math.Mod(m-math.Mod(x, m), m) }
	for cutDown := 1.0; cutDown <= 4; cutDown *= 2 {
		over := oldSize * (1 + 0.2/cutDown)
		over = math.Min(over, float64(requested)+100663296)
		newSize := math.Min(maxHeap, alignUp(math.Max(float64(requested), over), 65536))
		pages := uint64((newSize - oldSize + 65535) / 65536)
		if _, err := in.mem.Grow(c, pages); err == nil {
			return 1
		}
	}
	return 0
}

// hostSystem: the reference emscripten4 glue really runs the command with child_process when under
// Node; we never run anything and answer as its non-Node branch does: system(NULL) is 0 ("no shell"),
// anything else is -ENOSYS (Lua: "Function not implemented").
func hostSystem(_ *instance, _ *wasmtime.Caller, _ view, a []uint64) uint64 {
	if a[0] == 0 {
		return 0
	}
	return neg(eNOSYS)
}

// hostSystemV1 is the v1/v2 glue's system: errno = ENOSYS, return -1.
func hostSystemV1(in *instance, c *wasmtime.Caller, v view, a []uint64) uint64 {
	if a[0] == 0 {
		return 0
	}
	in.setErrno(c, v, eNOSYS)
	return neg(1)
}

func neg(e int32) uint64 { return uint64(int64(-e)) }

// unsupported returns a stub for an import we do not implement: the module still instantiates and
// traps with a clear error only if it really calls it.
func unsupported(module, name string) hostFn {
	return func(*instance, *wasmtime.Caller, view, []uint64) uint64 {
		stop(fmt.Errorf("unsupported import %s.%s", module, name))
		return 0
	}
}

// lookupHost finds the implementation for an import (name already de-minified) whose parameters are params.
func lookupHost(module, name string, params []wasmtime.ValKind) hostFn {
	if module == "metering" && name == meterImport {
		return hostOutOfGas
	}
	if module == "metering" && name == "usegas" {
		return hostUsegas(len(params) == 1 && params[0] == wasmtime.KindI32)
	}
	if strings.HasPrefix(name, "invoke_") && len(params) > 0 {
		return invokeOf(params[1:])
	}
	if fn, ok := hostFuncs[name]; ok && (module == "env" || module == "wasi_snapshot_preview1" || module == "a") {
		return fn
	}
	return unsupported(module, name)
}

// callHost adapts a hostFn to wasmtime's FuncNew callback: it converts values, recovers every panic (a
// fault, a guestStop, or a bug) into a trap, and records the first root cause in in.pending.
func (in *instance) callHost(name string, fn hostFn, results []wasmtime.ValKind) func(*wasmtime.Caller, []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
	return func(c *wasmtime.Caller, args []wasmtime.Val) (out []wasmtime.Val, trap *wasmtime.Trap) {
		defer func() {
			if r := recover(); r != nil {
				var err error
				switch x := r.(type) {
				case guestStop:
					err = x.err
				case fault:
					err = fmt.Errorf("%s: %w", name, x)
				default:
					err = hostFailure{fmt.Errorf("%s: host panic: %v", name, r)}
				}
				if in.pending == nil {
					in.pending = err
				}
				out, trap = nil, wasmtime.NewTrap(err.Error())
			}
		}()
		a := make([]uint64, len(args))
		for i, x := range args {
			switch x.Kind() {
			case wasmtime.KindI32:
				a[i] = uint64(uint32(x.I32()))
			case wasmtime.KindI64:
				a[i] = uint64(x.I64())
			case wasmtime.KindF64:
				a[i] = math.Float64bits(x.F64())
			case wasmtime.KindF32:
				a[i] = uint64(math.Float32bits(x.F32()))
			}
		}
		r := fn(in, c, view{b: in.mem.UnsafeData(c), mem64: in.f.mem64}, a)
		if len(results) == 0 {
			return nil, nil
		}
		switch results[0] {
		case wasmtime.KindI32:
			return []wasmtime.Val{wasmtime.ValI32(int32(uint32(r)))}, nil
		case wasmtime.KindI64:
			return []wasmtime.Val{wasmtime.ValI64(int64(r))}, nil
		case wasmtime.KindF64:
			return []wasmtime.Val{wasmtime.ValF64(math.Float64frombits(r))}, nil
		case wasmtime.KindF32:
			return []wasmtime.Val{wasmtime.ValF32(math.Float32frombits(uint32(r)))}, nil
		}
		return nil, wasmtime.NewTrap(name + ": unsupported result type")
	}
}

// invokeOf is invoke_<sig> for the callee parameters params (the import's, after the table index): call
// table[index](args…) and, if the callee longjmps (our _emscripten_throw_longjmp trapped), restore the stack
// pointer and setThrew(1, 0), as the emscripten glue's invoke wrappers do. The arguments are converted by
// the import's own signature, read once here: asking the callee for its type on every call (a C round trip
// and an allocation per parameter) cost more than the call. A callee of another signature makes the call
// fail with wasmtime's type error, which stops the guest.
func invokeOf(params []wasmtime.ValKind) hostFn {
	return func(in *instance, c *wasmtime.Caller, v view, a []uint64) uint64 {
		val, err := in.table.Get(c, a[0])
		if err != nil {
			stop(fmt.Errorf("invoke: table index %d: %w", a[0], err))
		}
		fn := val.Funcref()
		if fn == nil {
			stop(fmt.Errorf("invoke: null function at table index %d", a[0]))
		}
		args := make([]interface{}, len(params))
		for i, k := range params {
			x := a[i+1]
			switch k {
			case wasmtime.KindI32:
				args[i] = int32(uint32(x))
			case wasmtime.KindI64:
				args[i] = int64(x)
			case wasmtime.KindF64:
				args[i] = math.Float64frombits(x)
			case wasmtime.KindF32:
				args[i] = math.Float32frombits(uint32(x))
			default:
				stop(fmt.Errorf("invoke: unsupported parameter type %v", k))
			}
		}
		sp := in.stackSave(c)
		res, err := fn.Call(c, args...)
		if err != nil {
			if in.longjmp {
				in.longjmp = false
				in.pending = nil
				in.stackRestore(c, sp)
				in.setThrew(c, 1, 0)
				return 0
			}
			if in.pending == nil {
				in.pending = err
			}
			stop(in.pending)
		}
		switch r := res.(type) {
		case int32:
			return uint64(uint32(r))
		case int64:
			return uint64(r)
		case float64:
			return math.Float64bits(r)
		case float32:
			return uint64(math.Float32bits(r))
		}
		return 0
	}
}

// hostOutOfGas is called by a module metered at load (meterModule) when its gas counter passed the limit.
func hostOutOfGas(in *instance, c *wasmtime.Caller, _ view, _ []uint64) uint64 {
	if in.gas != nil {
		in.gasUsed = uint64(in.gas.Get(c).I64())
	}
	stop(errOutOfGas)
	return 0
}
