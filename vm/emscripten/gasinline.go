package emscripten

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// Gas for modules that meter themselves
//
// The older ao builds (ao-loader's own test modules: aos 0.2.0, the emscripten and emscripten2 process modules)
// were instrumented at build time: they import metering.usegas and call it with each block's cost, the glue
// adding it to Module.gas.used and throwing "out of gas!" once that passes the limit. Called as a host function,
// that is a cgo round trip per basic block, which made these modules several times slower than under node.
//
// inlineUsegas rewrites every `call $usegas` into the glue's arithmetic on an exported i64 global, the same
// counter the metering formats use (meter.go), with a host call only once the limit is passed:
//
//	i64.extend_i32_s (for an i32 usegas)  global.get $gas  i64.add  global.set $gas
//	global.get $gas  global.get $limit  i64.gt_s  if  i32.const 0  call $usegas  end
//
// The operand is whatever the module computed (the glue adds a signed i32: JavaScript's number), so GasUsed and
// the point where a message stops are the glue's. The import stays where it is, so no index moves: at the limit
// the call reaches usegas (with 0), which sees the counter past the limit and stops the guest with the glue's
// error; a call that does not go through this rewrite (call_indirect through the table, or an export) still
// adds to the same counter. A module with an operator this decoder does not know is not rewritten (ok false):
// compiled as it is, its gas still counts the same, through the host.
const inlineGasKey = "aogo inline usegas v1"

// noInlineGas turns the rewrite off (tests and benchmarks compare it with the host calls it replaces).
var noInlineGas bool

// errUnknownOp: the decoder met an operator it cannot size; the module is then compiled as it is.
var errUnknownOp = errors.New("unknown operator")

// inlineUsegas rewrites wasm as described above. ok is false (and out nil) when wasm does not import
// metering.usegas or cannot be rewritten safely; err is only for a module that is not wasm at all.
func inlineUsegas(wasm []byte) (out []byte, ok bool, err error) {
	secs, err := splitSections(wasm)
	if err != nil {
		return nil, false, err
	}
	find := func(id byte) int {
		for i, s := range secs {
			if s.id == id {
				return i
			}
		}
		return -1
	}
	ti, ii := find(1), find(2)
	if ti < 0 || ii < 0 || find(10) < 0 {
		return nil, false, nil
	}
	types, err := funcTypes(secs[ti].body)
	if err != nil {
		return nil, false, nil
	}
	usegas, param, found := findUsegas(secs[ii].body, types)
	if !found {
		return nil, false, nil
	}

	// Globals: $gas (0) and $limit (the largest i64 until the host sets it: a start function runs first).
	if find(6) < 0 {
		insertSection(&secs, 6)
	}
	if find(7) < 0 {
		insertSection(&secs, 7)
	}
	gi, ei, ci := find(6), find(7), find(10) // indices moved by the insertions
	globCount, globRest, err := countAndRest(secs[gi].body)
	if err != nil {
		return nil, false, nil
	}
	globalImports, err := countGlobalImports(secs[ii].body)
	if err != nil {
		return nil, false, nil
	}
	globals := []byte{0x7e, 0x01, 0x42, 0x00, 0x0b, 0x7e, 0x01, 0x42}
	globals = append(appendSLEB64(globals, math.MaxInt64), 0x0b)
	gasG, limitG := globalImports+globCount, globalImports+globCount+1

	code, err := inlineCode(secs[ci].body, usegas, param, gasG, limitG)
	if err != nil {
		return nil, false, nil
	}
	secs[ci].body = code
	secs[gi].body = concatVec(globCount+2, globRest, globals)

	expCount, expRest, err := countAndRest(secs[ei].body)
	if err != nil {
		return nil, false, nil
	}
	if bytes.Contains(expRest, []byte(meterGasExport)) {
		return nil, false, nil // the module may export a name we would add (or merely contain it): leave it be
	}
	var extra []byte
	extra = appendName(extra, meterGasExport)
	extra = append(extra, 0x03)
	extra = binary.AppendUvarint(extra, gasG)
	extra = appendName(extra, meterLimitExp)
	extra = append(extra, 0x03)
	extra = binary.AppendUvarint(extra, limitG)
	secs[ei].body = concatVec(expCount+2, expRest, extra)
	return joinSections(wasm[:8], secs), true, nil
}

type section struct {
	id   byte
	body []byte
}

func splitSections(wasm []byte) ([]section, error) {
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" || binary.LittleEndian.Uint32(wasm[4:8]) != 1 {
		return nil, errors.New("not a wasm module")
	}
	var secs []section
	r := wasmReader{b: wasm[8:]}
	for len(r.b) > 0 {
		id, err := r.byte()
		if err != nil {
			return nil, err
		}
		n, err := r.uleb()
		if err != nil || n > uint64(len(r.b)) {
			return nil, errors.New("truncated section")
		}
		secs = append(secs, section{id, r.b[:n]})
		r.b = r.b[n:]
	}
	return secs, nil
}

func joinSections(header []byte, secs []section) []byte {
	n := len(header)
	for _, s := range secs {
		n += 11 + len(s.body)
	}
	out := append(make([]byte, 0, n), header...)
	for _, s := range secs {
		out = append(out, s.id)
		out = binary.AppendUvarint(out, uint64(len(s.body)))
		out = append(out, s.body...)
	}
	return out
}

// insertSection adds an empty section id (count 0) where the standard order puts it.
func insertSection(secs *[]section, id byte) {
	order := map[byte]int{1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13}
	at := len(*secs)
	for i, s := range *secs {
		if o, ok := order[s.id]; ok && o > order[id] {
			at = i
			break
		}
	}
	*secs = append((*secs)[:at], append([]section{{id, []byte{0}}}, (*secs)[at:]...)...)
}

// funcType is a function type's parameters and its number of results.
type funcType struct {
	params  []byte
	results uint64
}

// funcTypes reads a type section (function types only: GC is off in the engine).
func funcTypes(b []byte) ([]funcType, error) {
	r := wasmReader{b: b}
	n, err := r.uleb()
	if err != nil || n > uint64(len(b)) {
		return nil, errShort
	}
	types := make([]funcType, 0, n)
	for range n {
		form, err := r.byte()
		if err != nil || form != 0x60 {
			return nil, fmt.Errorf("type form 0x%02x", form)
		}
		np, err := r.uleb()
		if err != nil || np > uint64(len(r.b)) {
			return nil, errShort
		}
		params := r.b[:np]
		r.b = r.b[np:]
		nr, err := r.uleb()
		if err != nil {
			return nil, err
		}
		if err := r.skip(int(min(nr, uint64(len(r.b)+1)))); err != nil {
			return nil, err
		}
		types = append(types, funcType{params, nr})
	}
	return types, nil
}

// findUsegas returns the function index of the metering.usegas import and its one parameter's type (i32 or
// i64; found is false for any other signature, or no such import).
func findUsegas(b []byte, types []funcType) (idx uint64, param byte, found bool) {
	r := wasmReader{b: b}
	n, err := r.uleb()
	if err != nil {
		return 0, 0, false
	}
	var funcs uint64
	for range n {
		mod, err1 := r.name()
		field, err2 := r.name()
		kind, err3 := r.byte()
		if errors.Join(err1, err2, err3) != nil {
			return 0, 0, false
		}
		if kind != 0x00 {
			if skipImportDesc(&r, kind) != nil {
				return 0, 0, false
			}
			continue
		}
		ti, err := r.uleb()
		if err != nil {
			return 0, 0, false
		}
		if mod == "metering" && field == "usegas" {
			if ti >= uint64(len(types)) || types[ti].results != 0 || len(types[ti].params) != 1 {
				return 0, 0, false
			}
			p := types[ti].params[0]
			return funcs, p, p == 0x7f || p == 0x7e
		}
		funcs++
	}
	return 0, 0, false
}

func skipImportDesc(r *wasmReader, kind byte) error {
	switch kind {
	case 0x01:
		if err := r.skip(1); err != nil {
			return err
		}
		return r.limits()
	case 0x02:
		return r.limits()
	case 0x03:
		return r.skip(2)
	case 0x04:
		if err := r.skip(1); err != nil {
			return err
		}
		_, err := r.uleb()
		return err
	}
	return fmt.Errorf("import kind %d", kind)
}

func countGlobalImports(b []byte) (uint64, error) {
	r := wasmReader{b: b}
	n, err := r.uleb()
	if err != nil {
		return 0, err
	}
	var globals uint64
	for range n {
		_, err1 := r.name()
		_, err2 := r.name()
		kind, err3 := r.byte()
		if err := errors.Join(err1, err2, err3); err != nil {
			return 0, err
		}
		if kind == 0x00 {
			_, err = r.uleb()
		} else {
			err = skipImportDesc(&r, kind)
		}
		if err != nil {
			return 0, err
		}
		if kind == 0x03 {
			globals++
		}
	}
	return globals, nil
}

// inlineCode rewrites the calls to usegas in every function body of a code section.
func inlineCode(b []byte, usegas uint64, param byte, gasG, limitG uint64) ([]byte, error) {
	r := wasmReader{b: b}
	n, err := r.uleb()
	if err != nil {
		return nil, errShort
	}
	// The inlined statement, after the operand: its size does not depend on the call site.
	var stmt []byte
	if param == 0x7f {
		stmt = append(stmt, 0xac) // i64.extend_i32_s
	}
	stmt = append(stmt, 0x23)
	stmt = binary.AppendUvarint(stmt, gasG)
	stmt = append(stmt, 0x7c, 0x24) // i64.add global.set
	stmt = binary.AppendUvarint(stmt, gasG)
	stmt = append(stmt, 0x23)
	stmt = binary.AppendUvarint(stmt, gasG)
	stmt = append(stmt, 0x23)
	stmt = binary.AppendUvarint(stmt, limitG)
	stmt = append(stmt, 0x55, 0x04, 0x40) // i64.gt_s if (empty)
	if param == 0x7f {
		stmt = append(stmt, 0x41, 0x00)
	} else {
		stmt = append(stmt, 0x42, 0x00)
	}
	stmt = append(stmt, 0x10)
	stmt = binary.AppendUvarint(stmt, usegas)
	stmt = append(stmt, 0x0b)

	return rewriteBodies(r, n, len(b)/2, func(_ uint64, w, src []byte) ([]byte, error) {
		return inlineBody(w, src, usegas, stmt)
	})
}

// rewriteBodies writes a code section of the n function bodies left in r, each rewritten by fn (which appends
// body i, rewritten from src, to w); extra is a guess of how much the rewrite adds.
func rewriteBodies(r wasmReader, n uint64, extra int, fn func(i uint64, w, src []byte) ([]byte, error)) ([]byte, error) {
	out := binary.AppendUvarint(make([]byte, 0, len(r.b)+extra), n)
	var body []byte
	for i := range n {
		size, err := r.uleb()
		if err != nil || size > uint64(len(r.b)) {
			return nil, fmt.Errorf("function body %d: truncated", i)
		}
		src := r.b[:size]
		r.b = r.b[size:]
		if body, err = fn(i, body[:0], src); err != nil {
			return nil, fmt.Errorf("function body %d: %w", i, err)
		}
		out = binary.AppendUvarint(out, uint64(len(body)))
		out = append(out, body...)
	}
	return out, nil
}

// inlineBody appends src, one function body, to w with each `call usegas` replaced by stmt.
func inlineBody(w, src []byte, usegas uint64, stmt []byte) ([]byte, error) {
	r := wasmReader{b: src}
	groups, err := r.uleb()
	if err != nil {
		return nil, err
	}
	for range groups {
		if _, err := r.uleb(); err != nil {
			return nil, err
		}
		if err := r.skip(1); err != nil {
			return nil, err
		}
	}
	copied := len(src) - len(r.b) // src[:copied] is already accounted for in w
	w = append(w, src[:copied]...)
	for len(r.b) > 0 {
		at := len(src) - len(r.b)
		op := r.b[0]
		r.b = r.b[1:]
		if op == 0x10 {
			idx, err := r.uleb()
			if err != nil {
				return nil, err
			}
			if idx == usegas {
				w = append(w, src[copied:at]...)
				w = append(w, stmt...)
				copied = len(src) - len(r.b)
			}
			continue
		}
		if err := r.skipOperator(op); err != nil {
			return nil, fmt.Errorf("opcode 0x%02x at %d: %w", op, at, err)
		}
	}
	return append(w, src[copied:]...), nil
}

// skipOperator moves past the immediates of op (already read): the MVP, sign extension, saturating
// conversions, bulk memory, reference types, multi-value block types, memory64 and SIMD, which is what the
// engine accepts (threads, exceptions, tail calls and GC are off: their operators are errUnknownOp).
func (r *wasmReader) skipOperator(op byte) error {
	uleb := func(n int) error {
		for range n {
			if _, err := r.uleb(); err != nil {
				return err
			}
		}
		return nil
	}
	switch {
	case op == 0x02 || op == 0x03 || op == 0x04: // block type: empty, a value type, or a type index (s33)
		if len(r.b) == 0 {
			return errShort
		}
		if t := r.b[0]; t == 0x40 || (t >= 0x7b && t <= 0x7f) || t == 0x70 || t == 0x6f {
			r.b = r.b[1:]
			return nil
		}
		_, err := r.sleb()
		return err
	case op == 0x00 || op == 0x01 || op == 0x05 || op == 0x0b || op == 0x0f || op == 0x1a || op == 0x1b ||
		(op >= 0x45 && op <= 0xc4) || op == 0xd1:
		return nil
	case op == 0x0c || op == 0x0d || (op >= 0x20 && op <= 0x26) || op == 0x10 || op == 0xd2:
		return uleb(1)
	case op == 0x0e:
		n, err := r.uleb()
		if err != nil || n > uint64(len(r.b)) {
			return errShort
		}
		return uleb(int(n) + 1)
	case op == 0x11:
		return uleb(2)
	case op == 0x1c: // select t*
		n, err := r.uleb()
		if err != nil || n > uint64(len(r.b)) {
			return errShort
		}
		return r.skip(int(n))
	case op >= 0x28 && op <= 0x3e:
		return r.memarg()
	case op == 0x3f || op == 0x40:
		return uleb(1)
	case op == 0x41:
		_, err := r.sleb()
		return err
	case op == 0x42:
		_, err := r.sleb()
		return err
	case op == 0x43:
		return r.skip(4)
	case op == 0x44:
		return r.skip(8)
	case op == 0xd0:
		return r.skip(1)
	case op == 0xfc:
		sub, err := r.uleb()
		if err != nil {
			return err
		}
		switch {
		case sub <= 7:
			return nil
		case sub == 8 || sub == 10 || sub == 12 || sub == 14: // memory.init, memory.copy, table.init, table.copy
			return uleb(2)
		case sub <= 17:
			return uleb(1)
		}
		return errUnknownOp
	case op == 0xfd:
		sub, err := r.uleb()
		if err != nil {
			return err
		}
		switch {
		case sub <= 11 || sub == 92 || sub == 93: // loads, stores
			return r.memarg()
		case sub == 12 || sub == 13: // v128.const, i8x16.shuffle
			return r.skip(16)
		case sub >= 21 && sub <= 34: // extract_lane, replace_lane
			return r.skip(1)
		case sub >= 84 && sub <= 91: // load_lane, store_lane
			if err := r.memarg(); err != nil {
				return err
			}
			return r.skip(1)
		case sub <= 255:
			return nil
		}
		return errUnknownOp
	}
	return errUnknownOp
}

// memarg skips an alignment (with the multi-memory flag, a memory index) and an offset.
func (r *wasmReader) memarg() error {
	align, err := r.uleb()
	if err != nil {
		return err
	}
	if align&0x40 != 0 {
		if _, err := r.uleb(); err != nil {
			return err
		}
	}
	_, err = r.uleb()
	return err
}

// importsUsegas reports whether wasm imports metering.usegas with a signature inlineUsegas handles.
func importsUsegas(wasm []byte) bool {
	secs, err := splitSections(wasm)
	if err != nil {
		return false
	}
	var types []funcType
	for _, s := range secs {
		switch s.id {
		case 1:
			if types, err = funcTypes(s.body); err != nil {
				return false
			}
		case 2:
			_, _, found := findUsegas(s.body, types)
			return found
		}
	}
	return false
}

// hostUsegas is metering.usegas: the glue's `gas.used += amount; if (gas.used > gas.limit) throw "out of gas!"`,
// on the inline counter when the module was rewritten (called then only at the limit, with 0, or through the
// table), else on in.gasUsed. An i32 amount is signed, as JavaScript reads it.
func hostUsegas(i32 bool) hostFn {
	return func(in *instance, c *wasmtime.Caller, _ view, a []uint64) uint64 {
		amount := int64(a[0])
		if i32 {
			amount = int64(int32(uint32(a[0])))
		}
		used := int64(in.gasUsed) + amount
		if in.gas != nil {
			used = in.gas.Get(c).I64() + amount
			if amount != 0 {
				if err := in.gas.Set(c, wasmtime.ValI64(used)); err != nil {
					stop(hostFailure{fmt.Errorf("usegas: %w", err)})
				}
			}
		}
		in.gasUsed = uint64(used)
		if used > int64(min(in.gasLimit, math.MaxInt64)) {
			stop(errOutOfGas)
		}
		return 0
	}
}
