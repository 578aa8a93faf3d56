//go:build ignore

// v1names rewrites an emscripten 3.1.6 module into the v1 Module-Format's naming (wasm32-unknown-emscripten):
// every import moves to module "a" under the letter the reference v1 glue gives that function, and the exports
// the glue reads get its letters (memory E, table I, ctors F, handle G, main H, malloc J, __errno_location K,
// setThrew L, stackSave M, stackRestore N, stackAlloc O); other exports are dropped. The letters are those of
// v1.go's tables. An import the v1 glue does not provide is an error.
//
//	go run v1names.go in.wasm out.wasm
package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
)

var importLetters = map[string]string{
	"_emscripten_date_now": "a", "setTempRet0": "b", "fd_close": "c", "__syscall_fcntl64": "d",
	"__syscall_unlinkat": "e", "fd_write": "f", "__syscall_openat": "g", "getTempRet0": "h", "_mktime_js": "i",
	"_tzset_js": "j", "emscripten_memcpy_big": "k", "exit": "l", "system": "m", "strftime": "n", "fd_seek": "o",
	"_emscripten_throw_longjmp": "p", "emscripten_resize_heap": "q", "__syscall_lstat64": "r",
	"__syscall_renameat": "s", "__syscall_rmdir": "t", "environ_get": "u", "environ_sizes_get": "v",
	"__syscall_dup3": "w", "invoke_vii": "x", "fd_read": "y", "__syscall_ioctl": "z",
	"_emscripten_get_now_is_monotonic": "A", "_gmtime_js": "B", "_localtime_js": "C", "abort": "D",
}

var exportLetters = map[string]string{
	"memory": "E", "__indirect_function_table": "I", "__wasm_call_ctors": "F", "handle": "G", "main": "H",
	"malloc": "J", "__errno_location": "K", "setThrew": "L", "stackSave": "M", "stackRestore": "N", "stackAlloc": "O",
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: go run v1names.go in.wasm out.wasm")
		os.Exit(2)
	}
	in, err := os.ReadFile(os.Args[1])
	if err != nil {
		fail(err)
	}
	out, err := rewrite(in)
	if err != nil {
		fail(err)
	}
	if err := os.WriteFile(os.Args[2], out, 0o644); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "v1names:", err)
	os.Exit(1)
}

type reader struct {
	b []byte
	i int
}

func (r *reader) uleb() uint32 {
	var x uint32
	for s := 0; ; s += 7 {
		c := r.b[r.i]
		r.i++
		x |= uint32(c&0x7f) << s
		if c < 0x80 {
			return x
		}
	}
}

func (r *reader) name() string {
	n := int(r.uleb())
	s := string(r.b[r.i : r.i+n])
	r.i += n
	return s
}

func uleb(x uint32) []byte { return binary.AppendUvarint(nil, uint64(x)) }

func putName(w *bytes.Buffer, s string) {
	w.Write(uleb(uint32(len(s))))
	w.WriteString(s)
}

func rewrite(in []byte) ([]byte, error) {
	if len(in) < 8 || !bytes.Equal(in[:4], []byte("\x00asm")) {
		return nil, fmt.Errorf("not a wasm module")
	}
	var out bytes.Buffer
	out.Write(in[:8])
	r := &reader{b: in, i: 8}
	for r.i < len(in) {
		id := in[r.i]
		r.i++
		size := int(r.uleb())
		body := in[r.i : r.i+size]
		r.i += size
		var nb []byte
		var err error
		switch id {
		case 2:
			nb, err = imports(body)
		case 7:
			nb, err = exports(body)
		default:
			nb = body
		}
		if err != nil {
			return nil, err
		}
		out.WriteByte(id)
		out.Write(uleb(uint32(len(nb))))
		out.Write(nb)
	}
	return out.Bytes(), nil
}

func imports(body []byte) ([]byte, error) {
	r := &reader{b: body}
	n := r.uleb()
	var w bytes.Buffer
	w.Write(uleb(n))
	for k := uint32(0); k < n; k++ {
		r.name() // module
		field := r.name()
		if body[r.i] != 0 {
			return nil, fmt.Errorf("import %s is not a function", field)
		}
		r.i++
		typ := r.uleb()
		letter, ok := importLetters[field]
		if !ok {
			return nil, fmt.Errorf("import %s: the v1 glue has no such function", field)
		}
		putName(&w, "a")
		putName(&w, letter)
		w.WriteByte(0)
		w.Write(uleb(typ))
	}
	return w.Bytes(), nil
}

func exports(body []byte) ([]byte, error) {
	r := &reader{b: body}
	n := r.uleb()
	var kept bytes.Buffer
	count := uint32(0)
	for k := uint32(0); k < n; k++ {
		field := r.name()
		kind := body[r.i]
		r.i++
		idx := r.uleb()
		letter, ok := exportLetters[field]
		if !ok {
			continue
		}
		putName(&kept, letter)
		kept.WriteByte(kind)
		kept.Write(uleb(idx))
		count++
	}
	return append(uleb(count), kept.Bytes()...), nil
}
