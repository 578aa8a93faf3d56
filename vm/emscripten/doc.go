// Package emscripten runs ao's emscripten module formats on wasmtime (memory64 + fuel) and registers
// them with package vm: wasm32-unknown-emscripten (v1, minified), -emscripten2, -emscripten3,
// -emscripten4, -emscripten-metering, wasm64-unknown-emscripten-draft_2024_02_15 and
// wasm64-unknown-emscripten-draft_2024_10_16-metering.
//
// The host imports are Go functions written from the reference loader's glue (@permaweb/ao-loader
// formats/*.cjs), resolved by name (v1: by the glue's letter table, checked against signatures) with
// arguments read width-agnostically, so one implementation serves wasm32, wasm64 and legalized-i64
// signatures. Unknown imports are stubs that trap with "unsupported import X" only when called.
// setjmp/longjmp: _emscripten_throw_longjmp traps; the enclosing invoke_* host function catches it,
// restores the stack pointer and calls setThrew(1, 0). C++ throws (__cxa_throw, in builds without exception
// catching such as aos's llama.wasm) abort the message with the reference glue's assertion text. WeaveDrive is answered synchronously, so the
// asyncify state of emscripten4/wasm64 builds stays 0 (the reference unwinds and rewinds with Asyncify
// around each WeaveDrive call, mallocing 40 MB each time: outputs are the same, and on the metering formats
// its gas differs from ours by ~0.01–0.1% through the allocator's state). The two metering formats are
// rewritten for gas as the reference rewrites them (meter.go); modules that meter themselves (the old builds calling
// metering.usegas per block) have those calls inlined into the same counter (gasinline.go).
//
// handle(msg, env) gets both strings on the wasm stack, as every glue's ccall puts them (there is no heap
// copy in any format): the v1/v2 glues reserve (UTF-16 length x 4) + 1 bytes each, the later ones the UTF-8
// length + 1, and nothing checks the stack's size, so a message larger than the module's stack overwrites
// what lies under it or wraps below address 0 and traps, in the reference and here alike (the aos 2 modules
// have a 64 MiB stack; see pushString). Such a message ends in a result Error and is rolled back; the
// reference's loader instead keeps the wrapped stack pointer and fails every later message. The clock
// imports answer per glue (format.clock): 0 in v1/v2 (and NaN for v2's emscripten_get_now), the Date.now
// counter from 10000 in the later formats. See vm's documentation for the API and the rollback, snapshot and
// determinism guarantees. Compiled modules are cached in vm.Options.CacheDir (modcache.go: why loading native
// code from disk is safe enough).
//
// # Engine settings
//
// One wasmtime engine serves every machine (engine.go). Its settings were chosen from measurements on
// llama.wasm, whose time is almost all in memory64 bounds checks (ggml's F16 dot product): Cranelift's
// Spectre hardening of those checks is off (a third of llama's CPU time; AOGO_WASM_SPECTRE_HARDENING=1
// turns it back on), NaN canonicalisation stays on (about 10%, but without it CUs on different CPUs could
// disagree), and the memory reservation, signals-based traps and opt level keep wasmtime's defaults.
// ENGINE.md has the figures and what each setting means for the isolation of processes sharing a CU: a
// guest has no clock to time a cache side channel with, and every process keeps its own store, memory and
// architectural bounds checks. A build with the aogoexp tag re-measures each setting (engine_exp.go).
//
// # wasm64 on a 32-bit memory
//
// A wasm64 machine capped at 4 GiB or less runs its module lowered to a 32-bit memory (lower.go), which
// needs no bounds checks; one capped higher runs the lowering's shadow, which burns the same fuel, so the
// Compute-Limit binds at the same point on every CU. Results, memory and errors are the module's own.
package emscripten
