package emscripten

// format is what differs between the ao emscripten Module-Formats. The facts come from the reference
// loader's glue (@permaweb/ao-loader formats/*.cjs): each glue hard-codes its own heap maximum, start-up
// sequence and environment.
type format struct {
	name string
	// mem64: pointers are i64 (memory64, -sMEMORY64).
	mem64 bool
	// heapMax is getHeapMax() of the glue: emscripten_resize_heap never grows past it.
	heapMax uint64
	// minified: v1 builds import everything from module "a" under build-specific letters and export
	// minified names (see v1.go).
	minified bool
	// stackInit: the glue calls emscripten_stack_init and writes the stack cookie before anything else.
	stackInit bool
	// main: how the glue calls main at start-up: mainNone, mainNoArgs (main(0, 0)) or mainThisProgram
	// (main(1, ["thisProgram"]) with argv on the wasm stack, left allocated as the glue leaves it).
	main mainStyle
	// envStrings: environ_get returns the default emscripten environment. The emscripten4 and wasm64
	// glues return none (their getEnvStrings returns []).
	envStrings bool
	// meteredAtLoad: the reference rewrites the binary with @permaweb/wasm-metering before compiling; so do we
	// (meterModule: same cuts and costs, inline counter). Gas, not fuel, is then the Compute-Limit and GasUsed.
	meteredAtLoad bool
	// wideStrings: the glue's ccall reserves (JS string length << 2) + 1 stack bytes for a string argument
	// (v1, v2); the later glues reserve its UTF-8 length + 1 (stringToUTF8OnStack). Where the message lands,
	// and so the heap and the stack below it, depends on it.
	wideStrings bool
	// signedPtrs: the glue reads stackAlloc's result as a signed number (v1, v2, and wasm64 through
	// Number(BigInt)), so a reservation that wraps below address 0 writes its bytes that land at 0 and up
	// into memory; the emscripten3/4 glues make it unsigned (>>> 0) and such bytes fall past the end.
	signedPtrs bool
	// clock: what _emscripten_date_now and emscripten_get_now return (see clockStyle).
	clock clockStyle
}

// clockStyle is how a glue answers the clock imports. Every glue replaces Date.now with a counter starting
// at 10000 that each call advances (MEMFS timestamps read it in every format), but only the emscripten3+
// glues route the clock imports to it.
type clockStyle int

const (
	// clockCounter: both imports read the Date.now counter (emscripten3, 4, wasm64).
	clockCounter clockStyle = iota
	// clockZero: both return 0 and leave the counter alone (v1: `return 0` for both).
	clockZero
	// clockZeroNaN: _emscripten_date_now returns 0; emscripten_get_now calls process.hrtime, which the
	// glue set to Date.now, so it advances the counter and returns NaN (t[0] of a number) (v2).
	clockZeroNaN
)

type mainStyle int

const (
	mainNone mainStyle = iota
	mainNoArgs
	mainThisProgram
)

var formats = map[string]*format{
	"wasm32-unknown-emscripten": {
		heapMax: 524288000, minified: true, main: mainNoArgs, envStrings: true,
		wideStrings: true, signedPtrs: true, clock: clockZero,
	},
	"wasm32-unknown-emscripten2": {
		heapMax: 524288000, stackInit: true, main: mainThisProgram, envStrings: true,
		wideStrings: true, signedPtrs: true, clock: clockZeroNaN,
	},
	"wasm32-unknown-emscripten3": {
		heapMax: 4294901760, stackInit: true, main: mainNoArgs, envStrings: true,
	},
	"wasm32-unknown-emscripten4": {
		heapMax: 4294901760, stackInit: true,
	},
	"wasm32-unknown-emscripten-metering": {
		heapMax: 4294901760, stackInit: true, meteredAtLoad: true,
	},
	"wasm64-unknown-emscripten-draft_2024_02_15": {
		mem64: true, heapMax: 17179869184, stackInit: true, signedPtrs: true,
	},
	"wasm64-unknown-emscripten-draft_2024_10_16-metering": {
		mem64: true, heapMax: 17179869184, stackInit: true, meteredAtLoad: true, signedPtrs: true,
	},
}

func init() {
	for name, f := range formats {
		f.name = name
	}
}
