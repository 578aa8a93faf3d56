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
}

type mainStyle int

const (
	mainNone mainStyle = iota
	mainNoArgs
	mainThisProgram
)

var formats = map[string]*format{
	"wasm32-unknown-emscripten": {
		heapMax: 524288000, minified: true, main: mainNoArgs, envStrings: true,
	},
	"wasm32-unknown-emscripten2": {
		heapMax: 524288000, stackInit: true, main: mainThisProgram, envStrings: true,
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
		mem64: true, heapMax: 17179869184, stackInit: true,
	},
	"wasm64-unknown-emscripten-draft_2024_10_16-metering": {
		mem64: true, heapMax: 17179869184, stackInit: true, meteredAtLoad: true,
	},
}

func init() {
	for name, f := range formats {
		f.name = name
	}
}
