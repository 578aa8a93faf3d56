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
// restores the stack pointer and calls setThrew(1, 0). WeaveDrive is answered synchronously, so the
// asyncify state of emscripten4/wasm64 builds stays 0 (the reference unwinds and rewinds with Asyncify
// around each WeaveDrive call, mallocing 40 MB each time: outputs are the same, and on the metering formats
// its gas differs from ours by ~0.01–0.1% through the allocator's state). The two metering formats are
// rewritten for gas as the reference rewrites them (meter.go). See vm's documentation for the API and the
// rollback, snapshot and determinism guarantees.
package emscripten
