package emscripten

import (
	"encoding/binary"
	"testing"
)

func TestDataExtent(t *testing.T) {
	for _, mod := range realModules {
		end, ok := dataExtent(realWasm(t, mod.name))
		if !ok || end == 0 || end > 64<<20 {
			t.Errorf("%s: data extent %d, ok %v", mod.name, end, ok)
		}
	}
	for _, bad := range [][]byte{nil, []byte("\x00asm"), []byte("\x00asm\x01\x00\x00\x00\x0b\x05\x01\x00\x23\x00\x0b")} {
		if _, ok := dataExtent(bad); ok {
			t.Errorf("%q: extent claimed", bad)
		}
	}
}

// FuzzDataExtent: a well-formed active segment at any i32 offset gives exactly offset+size, and any bytes as
// a data section (or as a whole module) give an extent or "unknown", never a panic.
func FuzzDataExtent(f *testing.F) {
	f.Add(uint32(2048), []byte("abc"), []byte{0x00, 0x41, 0x80, 0x10, 0x0b, 0x03, 'a', 'b', 'c'})
	f.Add(uint32(0xffffffff), []byte{1}, []byte{0x02, 0x00, 0x42, 0x80, 0x20, 0x0b, 0x01, 'z'})
	f.Add(uint32(0), []byte{}, []byte{0x01, 0x02, 'p', 'q'})
	f.Add(uint32(7), []byte("x"), []byte{0x00, 0x23, 0x00, 0x0b, 0x00})
	f.Fuzz(func(t *testing.T, off uint32, data, raw []byte) {
		// i32.const takes a signed LEB128 of the offset as an i32.
		seg := append([]byte{0x00, 0x41}, appendSLEB64(nil, int64(int32(off)))...)
		seg = append(seg, 0x0b)
		seg = append(binary.AppendUvarint(seg, uint64(len(data))), data...)
		if end, ok := dataExtent(module(seg)); !ok || end != uint64(off)+uint64(len(data)) {
			t.Fatalf("segment at %d of %d bytes: extent %d, ok %v", off, len(data), end, ok)
		}
		dataExtent(module(raw))
		dataExtent(raw)
	})
}

// module wraps one data segment's bytes in a module with a one-segment data section.
func module(seg []byte) []byte {
	body := append([]byte{0x01}, seg...)
	wasm := binary.AppendUvarint([]byte("\x00asm\x01\x00\x00\x00\x0b"), uint64(len(body)))
	return append(wasm, body...)
}
