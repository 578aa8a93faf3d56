package gguf

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
)

// File is a parsed GGUF file. Its tensor data stays in the input slice.
type File struct {
	Version    uint32
	KV         []KV
	Tensors    []TensorInfo
	Alignment  uint64
	DataOffset uint64 // where tensor data begins in the input
	data       []byte
}

// Get returns the value of key.
func (f *File) Get(key string) (any, bool) {
	for _, kv := range f.KV {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return nil, false
}

// Tensor returns the info and data of the named tensor (data is nil for a type this package does not
// size).
func (f *File) Tensor(name string) (TensorInfo, []byte, bool) {
	for _, t := range f.Tensors {
		if t.Name == name {
			if t.Size() == 0 {
				return t, nil, true
			}
			start := f.DataOffset + t.Offset
			return t, f.data[start : start+t.Size()], true
		}
	}
	return TensorInfo{}, nil, false
}

// maxDims is ggml's GGML_MAX_DIMS.
const maxDims = 4

// Parse reads a GGUF v3 file from b. Every count is checked against the bytes left before anything is
// allocated, so the memory Parse uses is bounded by a small multiple of len(b) (at most ~24 bytes per
// input byte, for an array of uint8 decoded into []any); nested arrays are refused beyond depth 2. Tensor
// data of F32 and F16 tensors must lie inside b at aligned offsets.
func Parse(b []byte) (*File, error) {
	d := &decoder{b: b}
	if len(b) < 4 || string(b[:4]) != Magic {
		return nil, fmt.Errorf("%w: bad magic", ErrFormat)
	}
	d.off = 4
	f := &File{Alignment: Alignment, data: b}
	f.Version = d.u32()
	if d.err == nil && f.Version != Version {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrFormat, f.Version, Version)
	}
	nTensors, nKV := d.u64(), d.u64()
	// Each KV takes at least 12 bytes (empty key, type), each tensor info at least 24.
	if d.err == nil && (nKV > uint64(d.left())/12 || nTensors > uint64(d.left())/24) {
		return nil, fmt.Errorf("%w: %d keys and %d tensors cannot fit in %d bytes", ErrFormat, nKV, nTensors, d.left())
	}
	for i := uint64(0); i < nKV && d.err == nil; i++ {
		k := d.str()
		v := d.value(ValueType(d.u32()), 0)
		if d.err == nil {
			f.KV = append(f.KV, KV{Key: k, Value: v})
		}
	}
	if a, ok := f.Get("general.alignment"); ok && d.err == nil {
		al, isU32 := a.(uint32)
		if !isU32 || al == 0 || al&(al-1) != 0 {
			return nil, fmt.Errorf("%w: general.alignment %v is not a power of two (uint32)", ErrFormat, a)
		}
		f.Alignment = uint64(al)
	}
	seen := map[string]bool{}
	for i := uint64(0); i < nTensors && d.err == nil; i++ {
		t := TensorInfo{Name: d.str()}
		n := d.u32()
		if d.err == nil && (n == 0 || n > maxDims) {
			d.fail("tensor %q has %d dimensions", t.Name, n)
		}
		for j := uint32(0); j < n && d.err == nil; j++ {
			t.Dims = append(t.Dims, d.u64())
		}
		t.Type = TensorType(d.u32())
		t.Offset = d.u64()
		if d.err == nil && seen[t.Name] {
			d.fail("tensor %q twice", t.Name)
		}
		seen[t.Name] = true
		f.Tensors = append(f.Tensors, t)
	}
	if d.err != nil {
		return nil, d.err
	}
	f.DataOffset = (uint64(d.off) + f.Alignment - 1) &^ (f.Alignment - 1)
	for _, t := range f.Tensors {
		if t.Offset%f.Alignment != 0 {
			return nil, fmt.Errorf("%w: tensor %q at unaligned offset %d", ErrFormat, t.Name, t.Offset)
		}
		es := t.Type.elemSize()
		if es == 0 {
			continue
		}
		size := es
		for _, dim := range t.Dims {
			hi, lo := bits.Mul64(size, dim)
			if hi != 0 {
				return nil, fmt.Errorf("%w: tensor %q size overflows", ErrFormat, t.Name)
			}
			size = lo
		}
		end, c1 := bits.Add64(f.DataOffset, t.Offset, 0)
		end, c2 := bits.Add64(end, size, 0)
		if c1 != 0 || c2 != 0 || end > uint64(len(b)) {
			return nil, fmt.Errorf("%w: tensor %q data [%d+%d, +%d) beyond the file's %d bytes", ErrFormat, t.Name, f.DataOffset, t.Offset, size, len(b))
		}
	}
	return f, nil
}

type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) left() int { return len(d.b) - d.off }

func (d *decoder) fail(format string, a ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: at byte %d: %s", ErrFormat, d.off, fmt.Sprintf(format, a...))
	}
}

func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > d.left() {
		d.fail("%d bytes wanted, %d left", n, d.left())
		return nil
	}
	s := d.b[d.off : d.off+n]
	d.off += n
	return s
}

func (d *decoder) u8() uint8 {
	if s := d.take(1); s != nil {
		return s[0]
	}
	return 0
}

func (d *decoder) u16() uint16 {
	if s := d.take(2); s != nil {
		return binary.LittleEndian.Uint16(s)
	}
	return 0
}

func (d *decoder) u32() uint32 {
	if s := d.take(4); s != nil {
		return binary.LittleEndian.Uint32(s)
	}
	return 0
}

func (d *decoder) u64() uint64 {
	if s := d.take(8); s != nil {
		return binary.LittleEndian.Uint64(s)
	}
	return 0
}

func (d *decoder) str() string {
	n := d.u64()
	if d.err == nil && n > uint64(d.left()) {
		d.fail("string of %d bytes, %d left", n, d.left())
		return ""
	}
	return string(d.take(int(n)))
}

// value decodes one value of type t; depth counts enclosing arrays.
func (d *decoder) value(t ValueType, depth int) any {
	if d.err != nil {
		return nil
	}
	switch t {
	case TypeUint8:
		return d.u8()
	case TypeInt8:
		return int8(d.u8())
	case TypeUint16:
		return d.u16()
	case TypeInt16:
		return int16(d.u16())
	case TypeUint32:
		return d.u32()
	case TypeInt32:
		return int32(d.u32())
	case TypeFloat32:
		return math.Float32frombits(d.u32())
	case TypeBool:
		v := d.u8()
		if v > 1 {
			d.fail("bool %d", v)
		}
		return v == 1
	case TypeString:
		return d.str()
	case TypeUint64:
		return d.u64()
	case TypeInt64:
		return int64(d.u64())
	case TypeFloat64:
		return math.Float64frombits(d.u64())
	case TypeArray:
		if depth >= 2 {
			d.fail("arrays nested deeper than 2")
			return nil
		}
		et := ValueType(d.u32())
		n := d.u64()
		min := uint64(scalarSize(et))
		switch {
		case scalarSize(et) < 0:
			d.fail("array of unknown type %d", et)
			return nil
		case et == TypeString:
			min = 8
		case et == TypeArray:
			min = 12
		}
		if d.err == nil && n > uint64(d.left())/min {
			d.fail("array of %d elements cannot fit in %d bytes", n, d.left())
			return nil
		}
		return d.array(et, int(n), depth)
	}
	d.fail("unknown value type %d", t)
	return nil
}

// array decodes n elements of type et into a typed slice for the types llama.cpp's vocabulary uses, and
// into []any otherwise.
func (d *decoder) array(et ValueType, n, depth int) any {
	switch et {
	case TypeString:
		out := make([]string, 0, n)
		for i := 0; i < n && d.err == nil; i++ {
			out = append(out, d.str())
		}
		return out
	case TypeFloat32:
		out := make([]float32, 0, n)
		for i := 0; i < n && d.err == nil; i++ {
			out = append(out, math.Float32frombits(d.u32()))
		}
		return out
	case TypeInt32:
		out := make([]int32, 0, n)
		for i := 0; i < n && d.err == nil; i++ {
			out = append(out, int32(d.u32()))
		}
		return out
	case TypeUint32:
		out := make([]uint32, 0, n)
		for i := 0; i < n && d.err == nil; i++ {
			out = append(out, d.u32())
		}
		return out
	}
	out := make([]any, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		out = append(out, d.value(et, depth+1))
	}
	return out
}
