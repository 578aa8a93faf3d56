//go:build !linux

package emscripten

// prefault is a no-op where MADV_POPULATE_READ does not exist.
func prefault([]byte) {}
