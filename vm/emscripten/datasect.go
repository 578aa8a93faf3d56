package emscripten

import (
	"encoding/binary"
	"errors"
)

// dataExtent returns the end offset in linear memory of the module's active data segments: the part of a fresh
// memory that starts out as the module's data image rather than as zeros (wasmtime maps that image copy-on-write
// from a file, so its untouched pages are not zero pages). ok is false when the extent cannot be known: a
// segment placed by a global, or a data section this reader does not understand.
func dataExtent(wasm []byte) (end uint64, ok bool) {
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" {
		return 0, false
	}
	r := wasmReader{b: wasm[8:]}
	for len(r.b) > 0 {
		id, err := r.byte()
		if err != nil {
			return 0, false
		}
		size, err := r.uleb()
		if err != nil || size > uint64(len(r.b)) {
			return 0, false
		}
		body := wasmReader{b: r.b[:size]}
		r.b = r.b[size:]
		if id != 11 { // data section
			continue
		}
		n, err := body.uleb()
		if err != nil {
			return 0, false
		}
		for range n {
			flags, err := body.uleb()
			if err != nil {
				return 0, false
			}
			var off uint64
			active := flags == 0 || flags == 2
			switch flags {
			case 0:
			case 2:
				if mem, err := body.uleb(); err != nil || mem != 0 {
					return 0, false
				}
			case 1: // passive: copied only by memory.init, i.e. written
			default:
				return 0, false
			}
			if active {
				// The offset is a constant expression: i32.const or i64.const, then end.
				op, err := body.byte()
				if err != nil || (op != 0x41 && op != 0x42) {
					return 0, false
				}
				v, err := body.sleb()
				if err != nil || (op == 0x42 && v < 0) {
					return 0, false
				}
				if e, err := body.byte(); err != nil || e != 0x0b {
					return 0, false
				}
				off = uint64(v)
				if op == 0x41 { // an i32 offset is the unsigned reading of the signed immediate
					off = uint64(uint32(v))
				}
			}
			size, err := body.uleb()
			if err != nil || size > uint64(len(body.b)) {
				return 0, false
			}
			body.b = body.b[size:]
			if active {
				end = max(end, off+size)
			}
		}
	}
	return end, true
}

var errShort = errors.New("truncated module")

type wasmReader struct{ b []byte }

func (r *wasmReader) byte() (byte, error) {
	if len(r.b) == 0 {
		return 0, errShort
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c, nil
}

func (r *wasmReader) uleb() (uint64, error) {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		return 0, errShort
	}
	r.b = r.b[n:]
	return v, nil
}

// sleb reads a signed LEB128 (the encoding of i32.const/i64.const immediates).
func (r *wasmReader) sleb() (int64, error) {
	var v int64
	var shift uint
	for i := 0; i < 10; i++ {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		v |= int64(c&0x7f) << shift
		shift += 7
		if c&0x80 == 0 {
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			return v, nil
		}
	}
	return 0, errShort
}
