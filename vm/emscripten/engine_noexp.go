//go:build !aogoexp

package emscripten

import "github.com/bytecodealliance/wasmtime-go/v39"

// Without the aogoexp build tag the engine is exactly sharedEngine's (see engine_exp.go).
func experimentKey() string                { return "" }
func applyExperiment(cfg *wasmtime.Config) {}
