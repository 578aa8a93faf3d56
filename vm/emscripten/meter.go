package emscripten

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Gas for the metering formats, exactly as the reference charges it
//
// For wasm32-unknown-emscripten-metering and wasm64-unknown-emscripten-draft_2024_10_16-metering the reference
// loader rewrites the module before compiling it (@permaweb/wasm-metering): every function body is cut into
// segments that end at a branching operator (loop, if, else, end, br, br_if, br_table, return, grow_memory), and
// before each segment whose operators cost anything it inserts a call usegas(segment cost + 91), 91 being the
// cost of the inserted `const` and `call`. Operators cost by their name without the value type (i32.add, i64.add,
// f32.add and f64.add all cost "add" = 45), from its default cost table; names the table lacks cost 0. usegas adds
// to the message's gas and throws "out of gas!" once the total exceeds the Compute-Limit. GasUsed is that total.
//
// meterModule makes the same cuts with the same costs, so GasUsed and the point where a message runs out of gas
// are the reference's. What it inserts differs: not a host call per segment (a cgo round trip per basic block)
// but the addition itself, on an exported i64 global, and a host call only when the limit is passed:
//
//	global.get $gas  i64.const cost  i64.add  global.set $gas
//	global.get $gas  global.get $limit  i64.gt_u  if  call $out_of_gas  end
//
// Like the reference, the added import (metering.aogo_out_of_gas) goes after the module's imports, so every
// defined function's index moves up by one: calls, exports, element segments and the start function follow.
// The reference's parser knows only the MVP operators and sign extension, so a module using anything else cannot
// run in these formats there either; meterModule refuses it with an error saying so.

const (
	meterOverhead  = 91 // cost("const") + cost("call"): the inserted metering statement
	meterGasExport = "aogo_gas"
	meterLimitExp  = "aogo_gas_limit"
	meterImport    = "aogo_out_of_gas"
)

// opCost is the reference's default cost table, by opcode (MVP + sign extension, the operators it can parse).
var opCost = func() [0xc5]uint64 {
	var c [0xc5]uint64
	set := func(cost uint64, ops ...byte) {
		for _, op := range ops {
			c[op] = cost
		}
	}
	set(1, 0x00, 0x01, 0x02, 0x03, 0x04)               // unreachable nop block loop if
	set(90, 0x05, 0x0c, 0x0d, 0x0f, 0x10)              // else br br_if return call
	set(120, 0x0e)                                     // br_table
	set(10000, 0x11)                                   // call_indirect
	set(120, 0x1a, 0x1b, 0x20, 0x21, 0x22, 0x23, 0x24) // drop select get/set/tee_local get/set_global
	for op := byte(0x28); op <= 0x3e; op++ {           // every load and store
		c[op] = 120
	}
	set(100, 0x3f)                                          // current_memory
	set(10000, 0x40)                                        // grow_memory
	set(1, 0x41, 0x42, 0x43, 0x44)                          // const
	set(45, 0x45, 0x50)                                     // eqz
	set(45, 0x46, 0x51, 0x5b, 0x61, 0x47, 0x52, 0x5c, 0x62) // eq ne (float lt/gt/le/ge are not in the table)
	for op := byte(0x48); op <= 0x4f; op++ {                // i32 lt_s … ge_u
		c[op] = 45
	}
	for op := byte(0x53); op <= 0x5a; op++ { // i64 lt_s … ge_u
		c[op] = 45
	}
	set(45, 0x67, 0x79, 0x68, 0x7a, 0x69, 0x7b) // clz ctz popcnt
	set(45, 0x6a, 0x7c, 0x92, 0xa0)             // add
	set(45, 0x6b, 0x7d, 0x93, 0xa1)             // sub
	set(45, 0x6c, 0x7e, 0x94, 0xa2)             // mul (f32.div and f64.div are "div": not in the table)
	set(36000, 0x6d, 0x7f, 0x6e, 0x80)          // div_s div_u
	set(36000, 0x6f, 0x81, 0x70, 0x82)          // rem_s rem_u
	set(45, 0x71, 0x83, 0x72, 0x84, 0x73, 0x85) // and or xor
	set(67, 0x74, 0x86, 0x75, 0x87, 0x76, 0x88) // shl shr_s shr_u
	set(90, 0x77, 0x89, 0x78, 0x8a)             // rotl rotr
	return c
}()

// branching ends a metering segment (the reference's list, with grow_memory).
func branching(op byte) bool {
	switch op {
	case 0x03, 0x04, 0x05, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x40:
		return true
	}
	return false
}

// errMeteringImport is the reference's refusal of a module that meters itself.
var errMeteringImport = errors.New("importing metering function is not allowed")

// meterModule rewrites wasm as described above.
func meterModule(wasm []byte) ([]byte, error) {
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" || binary.LittleEndian.Uint32(wasm[4:8]) != 1 {
		return nil, errors.New("metering: not a wasm module")
	}
	type section struct {
		id   byte
		body []byte
	}
	var secs []section
	r := wasmReader{b: wasm[8:]}
	for len(r.b) > 0 {
		id, err := r.byte()
		if err != nil {
			return nil, fmt.Errorf("metering: %w", err)
		}
		n, err := r.uleb()
		if err != nil || n > uint64(len(r.b)) {
			return nil, errors.New("metering: truncated section")
		}
		secs = append(secs, section{id, r.b[:n]})
		r.b = r.b[n:]
	}
	find := func(id byte) int {
		for i, s := range secs {
			if s.id == id {
				return i
			}
		}
		return -1
	}
	// ensure returns the index of section id, inserting an empty one (count 0) in the standard order.
	ensure := func(id byte) int {
		if i := find(id); i >= 0 {
			return i
		}
		order := map[byte]int{1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13}
		at := len(secs)
		for i, s := range secs {
			if o, ok := order[s.id]; ok && o > order[id] {
				at = i
				break
			}
		}
		secs = append(secs[:at], append([]section{{id, []byte{0}}}, secs[at:]...)...)
		return at
	}

	// Types: append () -> () for the out-of-gas import.
	ti := ensure(1)
	typeCount, rest, err := countAndRest(secs[ti].body)
	if err != nil {
		return nil, fmt.Errorf("metering: type section: %w", err)
	}
	secs[ti].body = concatVec(typeCount+1, rest, []byte{0x60, 0x00, 0x00})

	// Imports: count function and global imports, refuse a self-metered module, append ours.
	ii := ensure(2)
	impCount, impRest, err := countAndRest(secs[ii].body)
	if err != nil {
		return nil, fmt.Errorf("metering: import section: %w", err)
	}
	funcImports, globalImports, err := scanImports(impCount, impRest)
	if err != nil {
		return nil, err
	}
	imp := appendName(nil, "metering")
	imp = appendName(imp, meterImport)
	imp = append(imp, 0x00)
	imp = binary.AppendUvarint(imp, typeCount)
	secs[ii].body = concatVec(impCount+1, impRest, imp)
	oog := funcImports // the new import's function index; defined functions move up by one
	remap := func(idx uint64) uint64 {
		if idx >= oog {
			return idx + 1
		}
		return idx
	}

	// Globals: $gas and $limit, mutable i64s appended after the module's own.
	gi := ensure(6)
	globCount, globRest, err := countAndRest(secs[gi].body)
	if err != nil {
		return nil, fmt.Errorf("metering: global section: %w", err)
	}
	// $gas starts at 0 and $limit at the largest i64: a start function runs before the host sets them.
	globals := []byte{0x7e, 0x01, 0x42, 0x00, 0x0b, 0x7e, 0x01, 0x42}
	globals = append(appendSLEB64(globals, math.MaxInt64), 0x0b)
	secs[gi].body = concatVec(globCount+2, globRest, globals)
	gasG, limitG := globalImports+globCount, globalImports+globCount+1

	// Exports: move function indices, export the two globals.
	ei := ensure(7)
	exp, err := rewriteExports(secs[ei].body, remap)
	if err != nil {
		return nil, err
	}
	secs[ei].body = exp
	expCount, expRest, _ := countAndRest(secs[ei].body)
	var extra []byte
	extra = appendName(extra, meterGasExport)
	extra = append(extra, 0x03)
	extra = binary.AppendUvarint(extra, gasG)
	extra = appendName(extra, meterLimitExp)
	extra = append(extra, 0x03)
	extra = binary.AppendUvarint(extra, limitG)
	secs[ei].body = concatVec(expCount+2, expRest, extra)

	if si := find(8); si >= 0 {
		sr := wasmReader{b: secs[si].body}
		idx, err := sr.uleb()
		if err != nil {
			return nil, errors.New("metering: bad start section")
		}
		secs[si].body = binary.AppendUvarint(nil, remap(idx))
	}
	if ei := find(9); ei >= 0 {
		b, err := rewriteElements(secs[ei].body, remap)
		if err != nil {
			return nil, err
		}
		secs[ei].body = b
	}
	if ci := find(10); ci >= 0 {
		b, err := meterCode(secs[ci].body, remap, gasG, limitG, oog)
		if err != nil {
			return nil, err
		}
		secs[ci].body = b
	}

	out := append([]byte{}, wasm[:8]...)
	for _, s := range secs {
		out = append(out, s.id)
		out = binary.AppendUvarint(out, uint64(len(s.body)))
		out = append(out, s.body...)
	}
	return out, nil
}

func countAndRest(b []byte) (uint64, []byte, error) {
	r := wasmReader{b: b}
	n, err := r.uleb()
	return n, r.b, err
}

func concatVec(n uint64, rest, extra []byte) []byte {
	out := binary.AppendUvarint(nil, n)
	out = append(out, rest...)
	return append(out, extra...)
}

func appendName(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func (r *wasmReader) name() (string, error) {
	n, err := r.uleb()
	if err != nil || n > uint64(len(r.b)) {
		return "", errShort
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s, nil
}

func (r *wasmReader) skip(n int) error {
	if n > len(r.b) {
		return errShort
	}
	r.b = r.b[n:]
	return nil
}

// limits skips a table or memory limits record.
func (r *wasmReader) limits() error {
	flags, err := r.byte()
	if err != nil {
		return err
	}
	if _, err := r.uleb(); err != nil {
		return err
	}
	if flags&1 != 0 {
		if _, err := r.uleb(); err != nil {
			return err
		}
	}
	return nil
}

func scanImports(n uint64, b []byte) (funcs, globals uint64, err error) {
	r := wasmReader{b: b}
	for range n {
		mod, err1 := r.name()
		field, err2 := r.name()
		kind, err3 := r.byte()
		if err := errors.Join(err1, err2, err3); err != nil {
			return 0, 0, fmt.Errorf("metering: import section: %w", err)
		}
		if mod == "metering" && field == "usegas" {
			return 0, 0, errMeteringImport
		}
		switch kind {
		case 0x00:
			funcs++
			_, err = r.uleb()
		case 0x01:
			if err = r.skip(1); err == nil {
				err = r.limits()
			}
		case 0x02:
			err = r.limits()
		case 0x03:
			globals++
			err = r.skip(2)
		case 0x04:
			if err = r.skip(1); err == nil {
				_, err = r.uleb()
			}
		default:
			err = fmt.Errorf("import kind %d", kind)
		}
		if err != nil {
			return 0, 0, fmt.Errorf("metering: import %s.%s: %w", mod, field, err)
		}
	}
	return funcs, globals, nil
}

func rewriteExports(b []byte, remap func(uint64) uint64) ([]byte, error) {
	r := wasmReader{b: b}
	n, err := r.uleb()
	if err != nil {
		return nil, errors.New("metering: bad export section")
	}
	out := binary.AppendUvarint(nil, n)
	for range n {
		name, err1 := r.name()
		kind, err2 := r.byte()
		idx, err3 := r.uleb()
		if err := errors.Join(err1, err2, err3); err != nil {
			return nil, fmt.Errorf("metering: export section: %w", err)
		}
		if kind == 0x00 {
			idx = remap(idx)
		}
		if name == meterGasExport || name == meterLimitExp {
			return nil, fmt.Errorf("metering: the module already exports %q", name)
		}
		out = appendName(out, name)
		out = append(out, kind)
		out = binary.AppendUvarint(out, idx)
	}
	return out, nil
}

// constExpr copies a constant expression (up to and including its end), moving ref.func indices.
func (r *wasmReader) constExpr(out []byte, remap func(uint64) uint64) ([]byte, error) {
	for {
		op, err := r.byte()
		if err != nil {
			return nil, err
		}
		out = append(out, op)
		switch op {
		case 0x0b:
			return out, nil
		case 0x41, 0x42:
			start := r.b
			if _, err := r.sleb(); err != nil {
				return nil, err
			}
			out = append(out, start[:len(start)-len(r.b)]...)
		case 0x43, 0x44:
			n := 4
			if op == 0x44 {
				n = 8
			}
			if n > len(r.b) {
				return nil, errShort
			}
			out = append(out, r.b[:n]...)
			r.b = r.b[n:]
		case 0x23: // global.get
			idx, err := r.uleb()
			if err != nil {
				return nil, err
			}
			out = binary.AppendUvarint(out, idx)
		case 0xd0: // ref.null t
			t, err := r.byte()
			if err != nil {
				return nil, err
			}
			out = append(out, t)
		case 0xd2: // ref.func
			idx, err := r.uleb()
			if err != nil {
				return nil, err
			}
			out = binary.AppendUvarint(out, remap(idx))
		default:
			return nil, fmt.Errorf("constant expression opcode 0x%02x", op)
		}
	}
}

func rewriteElements(b []byte, remap func(uint64) uint64) ([]byte, error) {
	r := wasmReader{b: b}
	n, err := r.uleb()
	if err != nil {
		return nil, errors.New("metering: bad element section")
	}
	out := binary.AppendUvarint(nil, n)
	fail := func(err error) ([]byte, error) { return nil, fmt.Errorf("metering: element section: %w", err) }
	for range n {
		flags, err := r.uleb()
		if err != nil {
			return fail(err)
		}
		out = binary.AppendUvarint(out, flags)
		if flags > 7 {
			return fail(fmt.Errorf("segment flags %d", flags))
		}
		if flags&2 != 0 && flags&1 == 0 { // explicit table index
			idx, err := r.uleb()
			if err != nil {
				return fail(err)
			}
			out = binary.AppendUvarint(out, idx)
		}
		if flags&1 == 0 { // active: offset expression
			if out, err = r.constExpr(out, remap); err != nil {
				return fail(err)
			}
		}
		if flags&3 != 0 { // elemkind or reftype byte
			k, err := r.byte()
			if err != nil {
				return fail(err)
			}
			out = append(out, k)
		}
		cnt, err := r.uleb()
		if err != nil {
			return fail(err)
		}
		out = binary.AppendUvarint(out, cnt)
		for range cnt {
			if flags&4 != 0 {
				if out, err = r.constExpr(out, remap); err != nil {
					return fail(err)
				}
				continue
			}
			idx, err := r.uleb()
			if err != nil {
				return fail(err)
			}
			out = binary.AppendUvarint(out, remap(idx))
		}
	}
	return out, nil
}

// meterCode rewrites every function body of the code section.
func meterCode(b []byte, remap func(uint64) uint64, gasG, limitG, oog uint64) ([]byte, error) {
	r := wasmReader{b: b}
	n, err := r.uleb()
	if err != nil {
		return nil, errors.New("metering: bad code section")
	}
	out := binary.AppendUvarint(make([]byte, 0, len(b)*2), n)
	var body bytes.Buffer
	for i := range n {
		size, err := r.uleb()
		if err != nil || size > uint64(len(r.b)) {
			return nil, fmt.Errorf("metering: function body %d: truncated", i)
		}
		fr := wasmReader{b: r.b[:size]}
		r.b = r.b[size:]
		body.Reset()
		if err := meterBody(&body, &fr, remap, gasG, limitG, oog); err != nil {
			return nil, fmt.Errorf("metering: function body %d: %w", i, err)
		}
		out = binary.AppendUvarint(out, uint64(body.Len()))
		out = append(out, body.Bytes()...)
	}
	return out, nil
}

func meterBody(w *bytes.Buffer, r *wasmReader, remap func(uint64) uint64, gasG, limitG, oog uint64) error {
	// Locals: copied as they are (the reference's cost table charges nothing for them).
	start := r.b
	groups, err := r.uleb()
	if err != nil {
		return err
	}
	for range groups {
		if _, err := r.uleb(); err != nil {
			return err
		}
		if err := r.skip(1); err != nil {
			return err
		}
	}
	w.Write(start[:len(start)-len(r.b)])

	var seg []byte
	var stmt []byte
	for len(r.b) > 0 {
		seg = seg[:0]
		cost := uint64(0)
		for {
			if len(r.b) == 0 {
				return errors.New("body ends inside a segment (no final end)")
			}
			op := r.b[0]
			if int(op) >= len(opCost) {
				return fmt.Errorf("opcode 0x%02x: the metering formats take MVP and sign-extension operators only "+
					"(the reference's wasm-metering cannot parse others)", op)
			}
			opStart := r.b
			r.b = r.b[1:]
			if op == 0x10 { // call: move the callee index
				idx, err := r.uleb()
				if err != nil {
					return err
				}
				seg = append(seg, op)
				seg = binary.AppendUvarint(seg, remap(idx))
			} else {
				if err := r.skipImmediates(op); err != nil {
					return fmt.Errorf("opcode 0x%02x: %w", op, err)
				}
				seg = append(seg, opStart[:len(opStart)-len(r.b)]...)
			}
			cost += opCost[op]
			if branching(op) {
				break
			}
		}
		if cost != 0 {
			stmt = stmt[:0]
			stmt = append(stmt, 0x23)
			stmt = binary.AppendUvarint(stmt, gasG)
			stmt = append(stmt, 0x42)
			stmt = appendSLEB64(stmt, int64(cost+meterOverhead))
			stmt = append(stmt, 0x7c, 0x24)
			stmt = binary.AppendUvarint(stmt, gasG)
			stmt = append(stmt, 0x23)
			stmt = binary.AppendUvarint(stmt, gasG)
			stmt = append(stmt, 0x23)
			stmt = binary.AppendUvarint(stmt, limitG)
			stmt = append(stmt, 0x56, 0x04, 0x40, 0x10)
			stmt = binary.AppendUvarint(stmt, oog)
			stmt = append(stmt, 0x0b)
			w.Write(stmt)
		}
		w.Write(seg)
	}
	return nil
}

// skipImmediates moves past op's immediates (MVP and sign extension, as the reference's parser reads them).
func (r *wasmReader) skipImmediates(op byte) error {
	var err error
	switch {
	case op == 0x02 || op == 0x03 || op == 0x04: // block type: one byte
		var t byte
		if t, err = r.byte(); err == nil && t != 0x40 && (t < 0x7b || t > 0x7f) && t != 0x70 && t != 0x6f {
			err = fmt.Errorf("block type 0x%02x (a type index; the reference reads one byte)", t)
		}
	case op == 0x0c || op == 0x0d || (op >= 0x20 && op <= 0x24):
		_, err = r.uleb()
	case op == 0x0e:
		var n uint64
		if n, err = r.uleb(); err == nil {
			for i := uint64(0); i <= n && err == nil; i++ { // n targets and the default
				_, err = r.uleb()
			}
		}
	case op == 0x11:
		if _, err = r.uleb(); err == nil {
			err = r.skip(1)
		}
	case op >= 0x28 && op <= 0x3e: // memarg: flags, offset
		if _, err = r.uleb(); err == nil {
			_, err = r.uleb()
		}
	case op == 0x3f || op == 0x40:
		err = r.skip(1)
	case op == 0x41 || op == 0x42:
		_, err = r.sleb()
	case op == 0x43:
		err = r.skip(4)
	case op == 0x44:
		err = r.skip(8)
	case op == 0x06 || op == 0x07 || op == 0x08 || op == 0x09 || op == 0x0a || (op >= 0x12 && op <= 0x19) ||
		(op >= 0x1c && op <= 0x1f) || (op >= 0x25 && op <= 0x27):
		err = fmt.Errorf("not an MVP operator")
	}
	return err
}

func appendSLEB64(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}
