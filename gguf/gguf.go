package gguf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// Magic and Version begin every file this package writes; Alignment is the default (and our) alignment
// of tensor data.
const (
	Magic     = "GGUF"
	Version   = 3
	Alignment = 32
)

// ValueType is a metadata value's type code (gguf_type).
type ValueType uint32

const (
	TypeUint8   ValueType = 0
	TypeInt8    ValueType = 1
	TypeUint16  ValueType = 2
	TypeInt16   ValueType = 3
	TypeUint32  ValueType = 4
	TypeInt32   ValueType = 5
	TypeFloat32 ValueType = 6
	TypeBool    ValueType = 7
	TypeString  ValueType = 8
	TypeArray   ValueType = 9
	TypeUint64  ValueType = 10
	TypeInt64   ValueType = 11
	TypeFloat64 ValueType = 12
)

// scalarSize is the encoded size of a fixed-size value type, 0 for strings and arrays, -1 if unknown.
func scalarSize(t ValueType) int {
	switch t {
	case TypeUint8, TypeInt8, TypeBool:
		return 1
	case TypeUint16, TypeInt16:
		return 2
	case TypeUint32, TypeInt32, TypeFloat32:
		return 4
	case TypeUint64, TypeInt64, TypeFloat64:
		return 8
	case TypeString, TypeArray:
		return 0
	}
	return -1
}

// TensorType is a ggml tensor type code.
type TensorType uint32

const (
	F32 TensorType = 0
	F16 TensorType = 1
)

func (t TensorType) String() string {
	switch t {
	case F32:
		return "f32"
	case F16:
		return "f16"
	}
	return fmt.Sprintf("ggml-type-%d", uint32(t))
}

// elemSize is the bytes per element of the types this package sizes, 0 for others.
func (t TensorType) elemSize() uint64 {
	switch t {
	case F32:
		return 4
	case F16:
		return 2
	}
	return 0
}

// KV is one metadata pair. Value is one of uint8, int8, uint16, int16, uint32, int32, float32, bool,
// string, uint64, int64, float64, or a slice of one of those ([]string, []float32, []int32, …); its Go
// type decides the GGUF type, so a key llama.cpp reads as UINT32 must be given a uint32.
type KV struct {
	Key   string
	Value any
}

// TensorInfo describes one tensor. Dims are ggml's ne: Dims[0] is the length of a row (the fastest
// varying), as llama.cpp expects (token_embd.weight is {n_embd, n_vocab}).
type TensorInfo struct {
	Name   string
	Dims   []uint64
	Type   TensorType
	Offset uint64 // from the start of the tensor data; a multiple of Alignment
}

// Size is the tensor's data size in bytes (0 for a type this package does not size).
func (t TensorInfo) Size() uint64 {
	n := t.Type.elemSize()
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

func alignUp(n uint64) uint64 { return (n + Alignment - 1) &^ (Alignment - 1) }

// Tensor is a tensor to write: its info (Offset is assigned by Write) and a function that writes exactly
// Size() bytes of data, so that a large model streams instead of being held in memory.
type Tensor struct {
	TensorInfo
	Data func(w io.Writer) error
}

// Write writes a GGUF v3 file: the header, kvs in order, the tensor infos with offsets assigned in
// order, padding to Alignment, and each tensor's data padded to Alignment.
func Write(w io.Writer, kvs []KV, tensors []Tensor) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	e := &encoder{w: bw}
	if err := e.header(kvs, tensors); err != nil {
		return err
	}
	for _, t := range tensors {
		cw := &countWriter{w: bw}
		if e.err == nil {
			e.err = t.Data(cw)
		}
		if e.err == nil && cw.n != t.Size() {
			e.err = fmt.Errorf("gguf: tensor %s: wrote %d bytes, want %d", t.Name, cw.n, t.Size())
		}
		e.n += cw.n
		e.pad()
	}
	if e.err != nil {
		return e.err
	}
	return bw.Flush()
}

// size is the size of the file Write would write, computed without the tensor data.
func size(kvs []KV, tensors []Tensor) (uint64, error) {
	e := &encoder{w: io.Discard}
	if err := e.header(kvs, tensors); err != nil {
		return 0, err
	}
	n := e.n
	for _, t := range tensors {
		n = alignUp(n + t.Size())
	}
	return n, nil
}

// header writes everything before the first tensor's data, assigning the tensors' offsets.
func (e *encoder) header(kvs []KV, tensors []Tensor) error {
	e.raw([]byte(Magic))
	e.u32(Version)
	e.u64(uint64(len(tensors)))
	e.u64(uint64(len(kvs)))
	for _, kv := range kvs {
		e.str(kv.Key)
		if err := e.value(kv.Value, true); err != nil {
			return fmt.Errorf("gguf: key %s: %w", kv.Key, err)
		}
	}
	var off uint64
	for i := range tensors {
		t := &tensors[i]
		if t.Type.elemSize() == 0 {
			return fmt.Errorf("gguf: tensor %s: type %v not supported", t.Name, t.Type)
		}
		t.Offset = off
		e.str(t.Name)
		e.u32(uint32(len(t.Dims)))
		for _, d := range t.Dims {
			e.u64(d)
		}
		e.u32(uint32(t.Type))
		e.u64(t.Offset)
		off = alignUp(off + t.Size())
	}
	e.pad()
	return e.err
}

type countWriter struct {
	w io.Writer
	n uint64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += uint64(n)
	return n, err
}

// encoder writes little-endian values and remembers the first error and the bytes written.
type encoder struct {
	w   io.Writer
	n   uint64
	err error
	buf [8]byte
}

func (e *encoder) raw(b []byte) {
	if e.err != nil {
		return
	}
	n, err := e.w.Write(b)
	e.n += uint64(n)
	e.err = err
}

func (e *encoder) u8(v uint8)   { e.raw([]byte{v}) }
func (e *encoder) u16(v uint16) { binary.LittleEndian.PutUint16(e.buf[:], v); e.raw(e.buf[:2]) }
func (e *encoder) u32(v uint32) { binary.LittleEndian.PutUint32(e.buf[:], v); e.raw(e.buf[:4]) }
func (e *encoder) u64(v uint64) { binary.LittleEndian.PutUint64(e.buf[:], v); e.raw(e.buf[:8]) }
func (e *encoder) str(s string) { e.u64(uint64(len(s))); e.raw([]byte(s)) }

func (e *encoder) pad() {
	if p := alignUp(e.n) - e.n; p > 0 {
		e.raw(make([]byte, p))
	}
}

// value writes v's type code (when typed) and its encoding.
func (e *encoder) value(v any, typed bool) error {
	t := func(vt ValueType) {
		if typed {
			e.u32(uint32(vt))
		}
	}
	switch x := v.(type) {
	case uint8:
		t(TypeUint8)
		e.u8(x)
	case int8:
		t(TypeInt8)
		e.u8(uint8(x))
	case uint16:
		t(TypeUint16)
		e.u16(x)
	case int16:
		t(TypeInt16)
		e.u16(uint16(x))
	case uint32:
		t(TypeUint32)
		e.u32(x)
	case int32:
		t(TypeInt32)
		e.u32(uint32(x))
	case float32:
		t(TypeFloat32)
		e.u32(math.Float32bits(x))
	case bool:
		t(TypeBool)
		if x {
			e.u8(1)
		} else {
			e.u8(0)
		}
	case string:
		t(TypeString)
		e.str(x)
	case uint64:
		t(TypeUint64)
		e.u64(x)
	case int64:
		t(TypeInt64)
		e.u64(uint64(x))
	case float64:
		t(TypeFloat64)
		e.u64(math.Float64bits(x))
	case []string:
		return array(e, TypeString, x)
	case []float32:
		return array(e, TypeFloat32, x)
	case []int32:
		return array(e, TypeInt32, x)
	case []uint32:
		return array(e, TypeUint32, x)
	default:
		return fmt.Errorf("unsupported value type %T", v)
	}
	return nil
}

func array[T any](e *encoder, et ValueType, xs []T) error {
	e.u32(uint32(TypeArray))
	e.u32(uint32(et))
	e.u64(uint64(len(xs)))
	for _, x := range xs {
		if err := e.value(x, false); err != nil {
			return err
		}
	}
	return nil
}

// ErrFormat is wrapped by every error Parse returns for input that is not a well-formed GGUF v3 file.
var ErrFormat = errors.New("not a well-formed GGUF file")
