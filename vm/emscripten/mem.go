package emscripten

import (
	"encoding/binary"
	"fmt"
)

// fault is panicked by memory accessors on an out-of-bounds guest pointer. Host functions run under
// callHost, which recovers it into a trap, so it never crosses our package boundary.
type fault struct{ what string }

func (f fault) Error() string { return f.what }

// view is the guest linear memory as seen by one host call. The slice is re-taken on every call because
// memory.grow may move it.
type view struct {
	b     []byte
	mem64 bool
}

func (v view) span(p, n uint64) []byte {
	if p > uint64(len(v.b)) || n > uint64(len(v.b))-p {
		panic(fault{fmt.Sprintf("memory access out of bounds: [%#x, +%d) of %d bytes", p, n, len(v.b))})
	}
	return v.b[p : p+n]
}

func (v view) u8(p uint64) byte         { return v.span(p, 1)[0] }
func (v view) u16(p uint64) uint16      { return binary.LittleEndian.Uint16(v.span(p, 2)) }
func (v view) u32(p uint64) uint32      { return binary.LittleEndian.Uint32(v.span(p, 4)) }
func (v view) u64(p uint64) uint64      { return binary.LittleEndian.Uint64(v.span(p, 8)) }
func (v view) put8(p uint64, x byte)    { v.span(p, 1)[0] = x }
func (v view) put16(p uint64, x uint16) { binary.LittleEndian.PutUint16(v.span(p, 2), x) }
func (v view) put32(p uint64, x uint32) { binary.LittleEndian.PutUint32(v.span(p, 4), x) }
func (v view) put64(p uint64, x uint64) { binary.LittleEndian.PutUint64(v.span(p, 8), x) }
func (v view) write(p uint64, b []byte) { copy(v.span(p, uint64(len(b))), b) }
func (v view) putI32(p uint64, x int32) { v.put32(p, uint32(x)) }
func (v view) putI64(p uint64, x int64) { v.put64(p, uint64(x)) }
func (v view) i32(p uint64) int32       { return int32(v.u32(p)) }

// ptrSize is sizeof(void*) in the guest.
func (v view) ptrSize() uint64 {
	if v.mem64 {
		return 8
	}
	return 4
}

// ptr reads a pointer-sized value (size_t, void*) at p.
func (v view) ptr(p uint64) uint64 {
	if v.mem64 {
		return v.u64(p)
	}
	return uint64(v.u32(p))
}

// putPtr writes a pointer-sized value at p.
func (v view) putPtr(p, x uint64) {
	if v.mem64 {
		v.put64(p, x)
	} else {
		v.put32(p, uint32(x))
	}
}

// cstring reads the NUL-terminated string at p (at most max bytes).
func (v view) cstring(p uint64, max int) string {
	if p >= uint64(len(v.b)) {
		panic(fault{fmt.Sprintf("string pointer out of bounds: %#x", p)})
	}
	rest := v.b[p:]
	if len(rest) > max {
		rest = rest[:max]
	}
	for i, c := range rest {
		if c == 0 {
			return string(rest[:i])
		}
	}
	return string(rest)
}

// writeClipped writes b at the signed address at as a JS typed-array assignment does: bytes whose address
// falls outside memory are dropped, the rest are written.
func (v view) writeClipped(at int64, b []byte) {
	n := int64(len(v.b))
	if at >= n || at+int64(len(b)) <= 0 {
		return
	}
	if at < 0 {
		b, at = b[-at:], 0
	}
	copy(v.b[at:], b)
}
