package emscripten

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	mbits "math/bits"
	"os"
)

// Running a wasm64 module on a 32-bit memory
//
// A memory64 access cannot be confined by guard pages (its index may be anything up to 2^64), so wasmtime
// checks every one explicitly: for llama.wasm, whose time is almost all in ggml's F16 dot product, that is
// four checked loads per multiply-add, two of them from the 256 KiB F16-to-F32 table (ENGINE.md). A memory32
// access needs no check at all: wasmtime reserves 4 GiB plus guard pages for it, so anything a 32-bit index
// and offset can reach faults instead of escaping.
//
// When a machine's memory cap is at most 4 GiB, a memory64 module can never have more than 2^32 bytes, and
// lowerMemory64 rewrites it into the same module over a 32-bit memory, with every observable behaviour kept:
//
//   - An access whose address is proven below 2^32 by the instructions that computed it gets only an
//     i32.wrap_i64: same address, no check. ggml's table lookups (a 16-bit load, shifted, plus a constant)
//     are narrowed earlier still: the shift is done in 32 bits and the constant moves into the access's
//     offset (lowerfold.go).
//   - Any other access first checks the address's high 32 bits; set, it traps exactly as the original would
//     (every such address is out of bounds of a memory of at most 2^32 bytes) with the same trap, an out-of-
//     bounds load at 2^32. One shift and a never-taken branch, where memory64 had an add, a compare with the
//     current length and a branch; and a local whose value passed the check needs none again until it is set
//     or control flow joins (ggml reads four halves at offsets from one pointer: one check, not four).
//   - memory.size and memory.grow convert their page counts; a grow by 2^32 pages or more asks for 2^32-1,
//     which fails as the original does (-1). memory.copy, memory.fill and memory.init take the fast path when
//     their operands fit 32 bits; otherwise the original's bounds rule (d + n <= length, computed in 64 bits)
//     decides between a trap and the only operations that rule lets through (zero-length ones and, in a full
//     4 GiB memory, a fill or copy of all of it), done the same way.
//   - The memory's limits become 32-bit (the maximum at most 65,536 pages); the machine's cap, enforced on
//     every grow, is what binds (the caller lowers only when it is at most 4 GiB).
//   - A vector built lane by lane from memory is written, once built, to a global nobody reads, so Cranelift
//     builds it there instead of keeping every loaded lane alive to the end of the loop (see Lane chains);
//     and its 32-bit lanes are loaded as floats (see Lanes through float loads).
//
// The memory's bytes, the results and the errors are the original's. Fuel, the Compute-Limit of the wasm64
// formats, counts the inserted operators too; a machine whose cap is above 4 GiB cannot be lowered, so it
// runs the lowering's shadow (below), which burns the same fuel: a message reaches its Compute-Limit at the
// same point on every CU whatever its cap. TestLowerMemory64 checks all of it operator by operator against
// the module as it is, TestLlamaTinyModel on llama.wasm. A module this pass cannot prove it handles (an
// operator the decoder does not know, a memory import, a second memory, an address offset of 2^32 or more,
// data segments not at a constant) is lowered by neither: it runs as it is, on every CU.
const lowerKey = "aogo lower memory64 v6"

// lowerMaxBytes is the largest memory cap a lowered module may run under: 2^32 bytes, 65,536 pages.
const lowerMaxBytes = 1 << 32

var errNoLower = errors.New("module cannot be lowered to a 32-bit memory")

// lowerMode is what compile does to a wasm64 module.
type lowerMode int

const (
	lowerNone   lowerMode = iota // a wasm32 format: nothing
	lowerWrap                    // a cap of at most 4 GiB: lowered to a 32-bit memory
	lowerShadow                  // a bigger cap: the same-fuel shadow over the 64-bit memory
)

func (m lowerMode) String() string {
	switch m {
	case lowerWrap:
		return " wrap"
	case lowerShadow:
		return " shadow"
	}
	return ""
}

// noLower turns lowering off (AOGO_WASM_LOWER=0): the engine comparisons of ENGINE.md, and an operator's way
// back. It changes where a message reaches a wasm64 Compute-Limit (fuel), so all CUs of a network agree on it.
var noLower = os.Getenv("AOGO_WASM_LOWER") == "0"

// lowerFor is the mode of a machine of format f under memory cap limit (0: the glue's own maximum).
func lowerFor(f *format, limit uint64) lowerMode {
	switch {
	case !f.mem64 || noLower:
		return lowerNone
	case limit > 0 && limit <= lowerMaxBytes:
		return lowerWrap
	}
	return lowerShadow
}

// lowerMemory64 rewrites wasm, whose one memory is 64-bit, as described above. With wrap false it makes the
// shadow of the lowering instead, for a machine whose cap is above 4 GiB: the memory stays 64-bit and each
// rewritten sequence is the lowered one with every narrowing or widening conversion replaced by an identity
// costing the same fuel (a local.tee) and no trap in the address check (an address of 2^32 or more is valid in
// a memory that big). Fuel is a wasm64 process's Compute-Limit: a message must reach it at the same point
// whatever the cap of the CU evaluating it, so both machines run the same count of operators.
func lowerMemory64(wasm []byte, wrap bool) ([]byte, error) {
	secs, err := splitSections(wasm)
	if err != nil {
		return nil, err
	}
	var types []funcType
	var funcTypeIdx []uint64
	memIdx := -1
	for i, s := range secs {
		switch s.id {
		case 1:
			if types, err = funcTypes(s.body); err != nil {
				return nil, err
			}
		case 2:
			if err := refuseMemoryImport(s.body); err != nil {
				return nil, err
			}
		case 3:
			if funcTypeIdx, err = readFuncSection(s.body); err != nil {
				return nil, err
			}
		case 5:
			memIdx = i
		}
	}
	if memIdx < 0 {
		return nil, fmt.Errorf("%w: no memory section", errNoLower)
	}
	mem, err := lowerMemorySection(secs[memIdx].body)
	if err != nil {
		return nil, err
	}
	for i, s := range secs {
		if s.id == 11 {
			data, err := lowerDataSection(s.body)
			if err != nil {
				return nil, err
			}
			if wrap {
				secs[i].body = data
			}
		}
	}
	if wrap {
		secs[memIdx].body = mem
	}
	sink, err := addSinkGlobal(&secs)
	if err != nil {
		return nil, err
	}
	codeIdx := -1 // after addSinkGlobal, which may insert a section
	for i, s := range secs {
		if s.id == 10 {
			codeIdx = i
		}
	}
	if codeIdx >= 0 {
		params := make([]int, len(funcTypeIdx))
		for i, ti := range funcTypeIdx {
			if ti >= uint64(len(types)) {
				return nil, fmt.Errorf("%w: function %d has type %d of %d", errNoLower, i, ti, len(types))
			}
			params[i] = len(types[ti].params)
		}
		if secs[codeIdx].body, err = lowerCode(secs[codeIdx].body, params, wrap, sink); err != nil {
			return nil, err
		}
	}
	return joinSections(wasm[:8], secs), nil
}

// refuseMemoryImport refuses an import section that imports a memory (the glue's modules define theirs).
func refuseMemoryImport(b []byte) error {
	r := wasmReader{b: b}
	n, err := r.uleb()
	if err != nil {
		return err
	}
	for range n {
		_, err1 := r.name()
		_, err2 := r.name()
		kind, err3 := r.byte()
		if err := errors.Join(err1, err2, err3); err != nil {
			return err
		}
		switch kind {
		case 0x00:
			_, err = r.uleb()
		case 0x02:
			return fmt.Errorf("%w: imported memory", errNoLower)
		default:
			err = skipImportDesc(&r, kind)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func readFuncSection(b []byte) ([]uint64, error) {
	r := wasmReader{b: b}
	n, err := r.uleb()
	if err != nil || n > uint64(len(b)) {
		return nil, errShort
	}
	out := make([]uint64, n)
	for i := range out {
		if out[i], err = r.uleb(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// lowerMemorySection turns the one 64-bit memory into a 32-bit one with the same minimum and a maximum of at
// most 65,536 pages.
func lowerMemorySection(b []byte) ([]byte, error) {
	r := wasmReader{b: b}
	n, err := r.uleb()
	if err != nil {
		return nil, err
	}
	if n != 1 {
		return nil, fmt.Errorf("%w: %d memories", errNoLower, n)
	}
	flags, err := r.byte()
	if err != nil {
		return nil, err
	}
	if flags&^0x01 != 0x04 { // 64-bit, not shared, no custom page size
		return nil, fmt.Errorf("%w: memory flags 0x%02x", errNoLower, flags)
	}
	lo, err := r.uleb()
	if err != nil {
		return nil, err
	}
	hi := uint64(65536)
	if flags&0x01 != 0 {
		if hi, err = r.uleb(); err != nil {
			return nil, err
		}
		hi = min(hi, 65536)
	}
	if lo > hi || len(r.b) != 0 {
		return nil, fmt.Errorf("%w: memory minimum %d pages", errNoLower, lo)
	}
	out := []byte{1, 0x01}
	out = binary.AppendUvarint(out, lo)
	return binary.AppendUvarint(out, hi), nil
}

// lowerDataSection rewrites the i64.const offsets of active data segments into i32.const.
func lowerDataSection(b []byte) ([]byte, error) {
	r := wasmReader{b: b}
	n, err := r.uleb()
	if err != nil {
		return nil, err
	}
	out := binary.AppendUvarint(make([]byte, 0, len(b)), n)
	for i := range n {
		kind, err := r.uleb()
		if err != nil {
			return nil, err
		}
		out = binary.AppendUvarint(out, kind)
		switch kind {
		case 1: // passive
		case 0, 2:
			if kind == 2 {
				mi, err := r.uleb()
				if err != nil || mi != 0 {
					return nil, fmt.Errorf("%w: data segment %d of memory %d", errNoLower, i, mi)
				}
				out = append(out, 0)
			}
			op, err1 := r.byte()
			off, err2 := r.sleb()
			end, err3 := r.byte()
			if err := errors.Join(err1, err2, err3); err != nil {
				return nil, err
			}
			if op != 0x42 || end != 0x0b || off < 0 || off > math.MaxUint32 {
				return nil, fmt.Errorf("%w: data segment %d is not at an i64 constant below 2^32", errNoLower, i)
			}
			out = append(out, 0x41)
			out = appendSLEB64(out, int64(int32(uint32(off))))
			out = append(out, 0x0b)
		default:
			return nil, fmt.Errorf("%w: data segment kind %d", errNoLower, kind)
		}
		size, err := r.uleb()
		if err != nil || size > uint64(len(r.b)) {
			return nil, errShort
		}
		out = binary.AppendUvarint(out, size)
		out = append(out, r.b[:size]...)
		r.b = r.b[size:]
	}
	return out, nil
}

// lowerCode rewrites every function body; params[i] is the parameter count of defined function i.
func lowerCode(b []byte, params []int, wrap bool, sink uint64) ([]byte, error) {
	r := wasmReader{b: b}
	n, err := r.uleb()
	if err != nil {
		return nil, errShort
	}
	if n != uint64(len(params)) {
		return nil, fmt.Errorf("%w: %d bodies for %d functions", errNoLower, n, len(params))
	}
	return rewriteBodies(r, n, len(b)/4, func(i uint64, w, src []byte) ([]byte, error) {
		return lowerBody(w, src, params[i], wrap, sink)
	})
}

// Scratch locals a lowered body gets after its own (relative to their first index): four i64, two i32, one
// each of f32, f64 and v128. Each is used only inside one rewritten instruction's sequence.
const (
	scA = iota // i64
	scB        // i64
	scC        // i64
	scT        // i64: the shadow's identity (local.tee) in place of a conversion
	scI        // i32
	scJ        // i32
	scF        // f32
	scD        // f64
	scV        // v128
)

var scratchGroups = []byte{4, 0x7e, 2, 0x7f, 1, 0x7d, 1, 0x7c, 1, 0x7b}

// bound is what the pass knows of a value on the operand stack: an upper bound, when known.
type bound struct {
	max   uint64
	known bool
	// local is the local the value was read from (fromLocal), so a check of it proves the local too.
	local     uint64
	fromLocal bool
}

// window holds what is known of the top values of the operand stack (the last is the top), kept only across
// instructions whose stack effect the pass models exactly; any other instruction forgets it all. Values
// below the window are unknown.
type window []bound

func (w *window) push(b bound) {
	if len(*w) == 32 { // the bottom value becomes unknown: safe, and deep windows are not what the pass needs
		*w = append((*w)[:0], (*w)[1:]...)
	}
	*w = append(*w, b)
}

func (w *window) pop() bound {
	if len(*w) == 0 {
		return bound{}
	}
	b := (*w)[len(*w)-1]
	*w = (*w)[:len(*w)-1]
	return b
}

// at returns the value k below the top (0: the top).
func (w window) at(k int) bound {
	if k >= len(w) {
		return bound{}
	}
	return w[len(w)-1-k]
}

type lowerer struct {
	w       []byte
	scratch uint64 // index of the first scratch local
	wrap    bool   // lower (else the shadow: see lowerMemory64)
	// facts are the known bounds of locals, valid from where they were learned (a local.set of a bounded
	// value, a checked address read from the local) to the next control-flow operator: no path enters
	// between. ggml's kernel reads four halves at offsets from one local: one check, not four.
	facts map[uint64]bound
	sink  uint64 // the v128 global lane chains are written to (addSinkGlobal)
	// narrow holds, by their offset in the source body, the accesses whose address narrowScaled made 32-bit
	// already, with the constant it moved into their offset; extra is that constant for the access being
	// written (memarg adds it).
	narrow map[int]uint64
	extra  uint64
}

func (l *lowerer) op(b ...byte) { l.w = append(l.w, b...) }
func (l *lowerer) local(op byte, k uint64) {
	l.w = append(l.w, op)
	l.w = binary.AppendUvarint(l.w, l.scratch+k)
}
func (l *lowerer) i64(v int64) { l.w = appendSLEB64(append(l.w, 0x42), v) }
func (l *lowerer) i32(v int32) { l.w = appendSLEB64(append(l.w, 0x41), int64(v)) }

// trap is the original's out-of-bounds trap: a load at 2^32, beyond any 32-bit memory. The shadow has none.
func (l *lowerer) trap() {
	if l.wrap {
		l.op(0x41, 0x7f, 0x2d, 0x00, 0x01, 0x1a) // i32.const -1  i32.load8_u offset=1  drop
	}
}

// convert is i32.wrap_i64 or i64.extend_i32_{s,u} (op) when lowering; the shadow's same-fuel identity else.
func (l *lowerer) convert(op byte) {
	if l.wrap {
		l.op(op)
		return
	}
	l.local(0x22, scT)
}

// addr turns the i64 address on top of the stack into the i32 one: checked unless b proves it below 2^32.
func (l *lowerer) addr(b bound) {
	if !b.known || b.max > math.MaxUint32 {
		if b.fromLocal {
			l.facts[b.local] = known(math.MaxUint32) // past the check, it is below 2^32
		}
		l.local(0x22, scA)           // local.tee $a
		l.i64(32)                    // i64.const 32
		l.op(0x88, 0xa7, 0x04, 0x40) // i64.shr_u  i32.wrap_i64  if
		l.trap()
		l.op(0x0b)         // end
		l.local(0x20, scA) // local.get $a
	}
	l.convert(0xa7) // i32.wrap_i64
}

// narrowed reports whether narrowScaled made the address of the memory access at src offset pos 32-bit
// already; if so, memarg adds the constant it moved to that access's offset.
func (l *lowerer) narrowed(pos int) bool {
	c, ok := l.narrow[pos]
	if ok {
		delete(l.narrow, pos)
		l.extra = c
	}
	return ok
}

// access converts the address of the memory access at src offset pos (b bounds it), unless it is narrowed.
func (l *lowerer) access(pos int, b bound) {
	if !l.narrowed(pos) {
		l.addr(b)
	}
}

// memLen pushes the memory's length in bytes as an i64.
func (l *lowerer) memLen() {
	l.op(0x3f, 0x00, 0xad) // memory.size  i64.extend_i32_u
	l.i64(16)
	l.op(0x86) // i64.shl
}

// inBounds pushes (as i32) whether d + n <= length, computed in 64 bits: d <= len && n <= len - d.
func (l *lowerer) inBounds(d, n uint64) {
	l.local(0x20, d)
	l.memLen()
	l.op(0x58) // i64.le_u
	l.local(0x20, n)
	l.memLen()
	l.local(0x20, d)
	l.op(0x7d, 0x58, 0x71) // i64.sub  i64.le_u  i32.and
}

// fits pushes (as i32) whether every one of the i64 locals has its high 32 bits clear.
func (l *lowerer) fits(locals ...uint64) {
	for i, k := range locals {
		l.local(0x20, k)
		if i > 0 {
			l.op(0x84) // i64.or
		}
	}
	l.i64(32)
	l.op(0x88, 0x50) // i64.shr_u  i64.eqz
}

// memarg copies a memory operator's alignment and rewrites its offset for a 32-bit memory.
func (l *lowerer) memarg(r *wasmReader) error {
	align, err := r.uleb()
	if err != nil {
		return err
	}
	if align&0x40 != 0 {
		return fmt.Errorf("%w: multi-memory access", errNoLower)
	}
	off, err := r.uleb()
	if err != nil {
		return err
	}
	off, l.extra = off+l.extra, 0 // narrowScaled made sure the sum fits 32 bits
	if off > math.MaxUint32 {
		return fmt.Errorf("%w: offset %d", errNoLower, off)
	}
	l.w = binary.AppendUvarint(l.w, align)
	l.w = binary.AppendUvarint(l.w, off) // the same value in the shadow, re-encoded as LEB is all the same
	return nil
}

// Lane chains
//
// A vector built lane by lane from memory (v128.load32_splat, then v128.load32_lane 1, 2, 3: ggml's F16
// loads) is, in Cranelift's IR, four loads and three pure lane inserts. Pure operators are placed where their
// value is first needed, and in ggml's unrolled kernel that is the multiply-adds at the end of the loop body:
// every loaded scalar of all eight vectors stays live until then, and most are spilled to the stack and
// reloaded (ENGINE.md). Writing each finished vector to a global nobody reads (a side effect, so the inserts
// happen there) ends the chain where it is built: one 16-byte store a vector instead of a spill and a reload a
// lane. The global is not exported and never read: nothing observable changes but fuel, which the lowered
// module and its shadow count alike.

// Lanes through float loads
//
// Cranelift (wasmtime 39) never folds a load into the vector instruction that uses it, and it loads the
// scalar of v128.load32_splat and v128.load32_lane into an integer register: a move to a vector register and a
// broadcast, or a two-micro-op pinsrd, for every lane. An f32.load loads straight into a vector register, and
// f32x4.splat and f32x4.replace_lane are a broadcast and an insertps. So, in both the lowered module and its
// shadow, `v128.load32_splat` becomes `f32.load; f32x4.splat`, and `v128.load32_lane k` becomes
// `local.set $v; f32.load; local.set $f; local.get $v; local.get $f; f32x4.replace_lane k`: the same bytes
// loaded from the same address in the same order, into the same lanes. None of these is a float operation:
// they move bits, so no NaN is canonicalised or otherwise changed (TestLowerMemory64 loads signalling NaNs).
// In ggml's F16 kernel this halves the vector instructions that build each vector from the table.

// addSinkGlobal adds the mutable v128 global lane chains are written to and returns its index.
func addSinkGlobal(secs *[]section) (uint64, error) {
	var imported uint64
	for _, s := range *secs {
		if s.id == 2 {
			n, err := countGlobalImports(s.body)
			if err != nil {
				return 0, err
			}
			imported = n
		}
	}
	gi := -1
	for i, s := range *secs {
		if s.id == 6 {
			gi = i
		}
	}
	if gi < 0 {
		insertSection(secs, 6)
		for i, s := range *secs {
			if s.id == 6 {
				gi = i
			}
		}
	}
	n, rest, err := countAndRest((*secs)[gi].body)
	if err != nil {
		return 0, err
	}
	g := append([]byte{0x7b, 0x01, 0xfd, 0x0c}, make([]byte, 16)...) // v128, mutable, v128.const 0
	(*secs)[gi].body = concatVec(n+1, rest, append(g, 0x0b))
	return imported + n, nil
}

// nextIsLoadLane reports whether code starts with a v128.load*_lane, which continues a lane chain.
func nextIsLoadLane(code []byte) bool {
	if len(code) < 2 || code[0] != 0xfd {
		return false
	}
	r := wasmReader{b: code[1:]}
	sub, err := r.uleb()
	return err == nil && sub >= 84 && sub <= 87
}

// sinkVector writes the v128 on top of the stack to the sink global, keeping it on the stack.
func (l *lowerer) sinkVector() {
	l.local(0x22, scV) // local.tee $v
	l.op(0x24)         // global.set
	l.w = binary.AppendUvarint(l.w, l.sink)
	l.local(0x20, scV) // local.get $v
}

// laneLoaded follows a lane load: its vector is on the stack, and written to the sink when it ends a lane
// chain (the next operator is no lane load).
func (l *lowerer) laneLoaded(r *wasmReader, win *window) {
	win.push(bound{})
	if !nextIsLoadLane(r.b) {
		l.sinkVector()
	}
}

// belowValue lowers an operator whose address lies under one value (a store, a lane operator): the value
// waits in scratch local v while the address is converted; emit writes the opcode, then its memarg follows.
func (l *lowerer) belowValue(r *wasmReader, win *window, pos int, v uint64, emit func()) error {
	if !l.narrowed(pos) { // (narrowed, the address is converted already: the value can stay where it is)
		a := win.at(1)
		l.local(0x21, v)
		l.addr(a)
		l.local(0x20, v)
	}
	emit()
	win.pop()
	win.pop()
	return l.memarg(r)
}

// storeValue is the scratch local for the value a store (or lane operator) holds above its address.
func storeValue(op byte) uint64 {
	switch op {
	case 0x36, 0x3a, 0x3b:
		return scI
	case 0x37, 0x3c, 0x3d, 0x3e:
		return scB
	case 0x38:
		return scF
	case 0x39:
		return scD
	}
	return scV
}

// known is a value at most max.
func known(max uint64) bound { return bound{max: max, known: true} }

// loadBound is the bound of what an i64 load leaves (zero-extending ones only).
func loadBound(op byte) bound {
	switch op {
	case 0x31:
		return known(math.MaxUint8)
	case 0x33:
		return known(math.MaxUint16)
	case 0x35:
		return known(math.MaxUint32)
	}
	return bound{}
}

// lowerBody appends src, one function body with params parameters, lowered, to w.
func lowerBody(w, src []byte, params int, wrap bool, sink uint64) ([]byte, error) {
	r := wasmReader{b: src}
	groups, err := r.uleb()
	if err != nil {
		return nil, err
	}
	locals := uint64(params)
	w = binary.AppendUvarint(w, groups+uint64(len(scratchGroups)/2))
	for range groups {
		c, err1 := r.uleb()
		t, err2 := r.byte()
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		locals += c
		w = append(binary.AppendUvarint(w, c), t)
	}
	w = append(w, scratchGroups...)
	l := &lowerer{w: w, scratch: locals, wrap: wrap, sink: sink, facts: map[uint64]bound{}, narrow: map[int]uint64{}}
	var win window
	for len(r.b) > 0 {
		pos := len(src) - len(r.b) // of op, in src
		op := r.b[0]
		r.b = r.b[1:]
		switch {
		case op >= 0x28 && op <= 0x35: // loads
			l.access(pos, win.at(0))
			l.op(op)
			if err := l.memarg(&r); err != nil {
				return nil, err
			}
			win.pop()
			win.push(loadBound(op))
		case op >= 0x36 && op <= 0x3e: // stores: address, value
			if err := l.belowValue(&r, &win, pos, storeValue(op), func() { l.op(op) }); err != nil {
				return nil, err
			}
		case op == 0x3f || op == 0x40:
			if mi, err := r.uleb(); err != nil || mi != 0 {
				return nil, fmt.Errorf("%w: memory index", errNoLower)
			}
			if op == 0x3f {
				l.op(0x3f, 0x00)
				l.convert(0xad) // i64.extend_i32_u
			} else {
				// memory.grow: a delta of 2^32 pages or more asks for 2^32-1 (which fails, as the original).
				l.local(0x22, scA)
				l.i64(math.MaxUint32)
				l.local(0x20, scA)
				l.i64(math.MaxUint32)
				l.op(0x54, 0x1b) // i64.lt_u  select
				l.convert(0xa7)
				l.op(0x40, 0x00)
				l.convert(0xac) // i64.extend_i32_s
			}
			win = win[:0]
		case op == 0x42: // i64.const
			if l.narrowScaled(&r, win.at(0), pos+1) {
				win.pop()
				win.push(bound{})
				break
			}
			v, err := r.sleb()
			if err != nil {
				return nil, err
			}
			l.i64(v)
			win.push(known(uint64(v)))
		case op == 0xad: // i64.extend_i32_u
			l.op(op)
			win.pop()
			win.push(known(math.MaxUint32))
		case op == 0x7c || op == 0x86 || op == 0x7e || op == 0x83: // i64.add, shl, mul, and
			l.op(op)
			y, x := win.pop(), win.pop()
			win.push(combine(op, x, y))
		case op == 0x20 || op == 0x22 || op == 0x21: // local.get, tee, set
			k, err := r.uleb()
			if err != nil {
				return nil, err
			}
			l.w = binary.AppendUvarint(append(l.w, op), k)
			if op == 0x20 {
				b := l.facts[k]
				b.local, b.fromLocal = k, true
				win.push(b)
				break
			}
			v := win.pop()
			v.local, v.fromLocal = 0, false
			for i := range win { // values read from k before are not its value any more
				if win[i].fromLocal && win[i].local == k {
					win[i].fromLocal = false
				}
			}
			if v.known {
				l.facts[k] = v
			} else {
				delete(l.facts, k)
			}
			if op == 0x22 {
				v.local, v.fromLocal = k, true
				win.push(v)
			}
		case op == 0xfd:
			sub, err := r.uleb()
			if err != nil {
				return nil, err
			}
			if err := l.simd(&r, pos, sub, &win); err != nil {
				return nil, err
			}
		case op == 0xfc:
			sub, err := r.uleb()
			if err != nil {
				return nil, err
			}
			if err := l.bulk(&r, sub); err != nil {
				return nil, err
			}
			win = win[:0]
		case op == 0xfe:
			return nil, fmt.Errorf("%w: atomics", errNoLower)
		default:
			at := len(r.b)
			if err := r.skipOperator(op); err != nil {
				return nil, fmt.Errorf("%w: opcode 0x%02x: %v", errNoLower, op, err)
			}
			l.op(op)
			l.w = append(l.w, src[len(src)-at:len(src)-len(r.b)]...)
			win = win[:0]
			if op <= 0x05 || (op >= 0x0b && op <= 0x0f) { // unreachable … else, end, br … return
				clear(l.facts)
			}
		}
	}
	return l.w, nil
}

// combine is the bound of x op y for the i64 operators the pass follows.
func combine(op byte, x, y bound) bound {
	switch op {
	case 0x7c: // add
		if x.known && y.known {
			if s, c := mbits.Add64(x.max, y.max, 0); c == 0 {
				return known(s)
			}
		}
	case 0x86: // shl
		if x.known && y.known && y.max < 64 && mbits.Len64(x.max)+int(y.max) <= 64 {
			return known(x.max << y.max)
		}
	case 0x7e: // mul
		if x.known && y.known {
			if hi, lo := mbits.Mul64(x.max, y.max); hi == 0 {
				return known(lo)
			}
		}
	case 0x83: // and: at most either operand
		switch {
		case x.known && y.known:
			return known(min(x.max, y.max))
		case x.known:
			return known(x.max)
		case y.known:
			return known(y.max)
		}
	}
	return bound{}
}

// simd lowers one 0xfd operator (sub already read).
func (l *lowerer) simd(r *wasmReader, pos int, sub uint64, win *window) error {
	prefix := func() { l.w = binary.AppendUvarint(append(l.w, 0xfd), sub) }
	switch {
	case sub == 9: // v128.load32_splat: f32.load, f32x4.splat (see Lanes through float loads)
		l.access(pos, win.at(0))
		l.op(0x2a)
		if err := l.memarg(r); err != nil {
			return err
		}
		l.op(0xfd, 0x13)
		win.pop()
		win.push(bound{})
	case sub == 86: // v128.load32_lane: address, v128; f32.load, f32x4.replace_lane
		a := win.at(1)
		l.local(0x21, scV)
		l.access(pos, a)
		l.op(0x2a)
		if err := l.memarg(r); err != nil {
			return err
		}
		lane, err := r.byte()
		if err != nil {
			return err
		}
		l.local(0x21, scF)
		l.local(0x20, scV)
		l.local(0x20, scF)
		l.op(0xfd, 0x20, lane)
		win.pop()
		win.pop()
		l.laneLoaded(r, win)
	case sub <= 10 || sub == 92 || sub == 93: // loads: address
		l.access(pos, win.at(0))
		prefix()
		if err := l.memarg(r); err != nil {
			return err
		}
		win.pop()
		win.push(bound{})
	case sub == 11 || sub >= 84 && sub <= 91: // v128.store, load_lane (pushes a v128), store_lane: address, v128
		if err := l.belowValue(r, win, pos, scV, prefix); err != nil {
			return err
		}
		if sub >= 84 {
			lane, err := r.byte()
			if err != nil {
				return err
			}
			l.op(lane)
			if sub <= 87 {
				l.laneLoaded(r, win)
			}
		}
	default:
		n, err := simdImmediates(sub)
		if err != nil {
			return err
		}
		if n > len(r.b) {
			return errShort
		}
		prefix()
		l.w = append(l.w, r.b[:n]...)
		r.b = r.b[n:]
		*win = (*win)[:0]
	}
	return nil
}

// simdImmediates is the size of the immediates of a SIMD operator that does not touch memory.
func simdImmediates(sub uint64) (int, error) {
	switch {
	case sub == 12 || sub == 13:
		return 16, nil
	case sub >= 21 && sub <= 34:
		return 1, nil
	case sub <= 255:
		return 0, nil
	}
	return 0, fmt.Errorf("%w: simd 0x%x", errNoLower, sub)
}

// bulk lowers one 0xfc operator (sub already read). Each of memory.init, memory.copy and memory.fill takes its
// fast path (operands narrowed, the 32-bit operator) when its 64-bit operands fit 32 bits. Otherwise, lowered,
// the original's bound (d + n <= length in 64 bits) traps or lets through only what moves nothing or fills a
// whole 4 GiB memory; in the shadow, the 64-bit operator runs as it is.
func (l *lowerer) bulk(r *wasmReader, sub uint64) error {
	prefix := func(s uint64) { l.w = binary.AppendUvarint(append(l.w, 0xfc), s) }
	memIdx := func() error {
		if mi, err := r.uleb(); err != nil || mi != 0 {
			return fmt.Errorf("%w: memory index", errNoLower)
		}
		return nil
	}
	get := func(k uint64, narrow bool) {
		l.local(0x20, k)
		if narrow {
			l.convert(0xa7)
		}
	}
	switch sub {
	case 8: // memory.init seg: d (i64), s (i32), n (i32)
		seg, err := r.uleb()
		if err != nil {
			return err
		}
		if err := memIdx(); err != nil {
			return err
		}
		init := func() { prefix(8); l.w = append(binary.AppendUvarint(l.w, seg), 0) }
		l.local(0x21, scJ) // n
		l.local(0x21, scI) // s
		l.local(0x21, scA) // d
		l.fits(scA)
		l.op(0x04, 0x40) // if
		get(scA, true)
		get(scI, false)
		get(scJ, false)
		init()
		l.op(0x05) // else
		if l.wrap {
			// d >= 2^32 is in bounds only as d == length == 2^32 with n == 0; then the segment's bound decides.
			l.local(0x20, scJ)
			l.op(0xad) // i64.extend_i32_u
			l.local(0x21, scB)
			l.inBounds(scA, scB)
			l.op(0x04, 0x40)
			l.i32(0)
			l.local(0x20, scI)
			l.i32(0)
			init()
			l.op(0x05)
			l.trap()
			l.op(0x0b)
		} else {
			get(scA, false)
			get(scI, false)
			get(scJ, false)
			init()
		}
		l.op(0x0b)
	case 10: // memory.copy: d, s, n (i64)
		if err := errors.Join(memIdx(), memIdx()); err != nil {
			return err
		}
		l.local(0x21, scC)
		l.local(0x21, scB)
		l.local(0x21, scA)
		l.fits(scA, scB, scC)
		l.op(0x04, 0x40)
		for _, k := range []uint64{scA, scB, scC} {
			get(k, true)
		}
		prefix(10)
		l.op(0, 0)
		l.op(0x05)
		if l.wrap {
			// In bounds with an operand of 2^32 or more only when nothing moves (n == 0) or a whole 4 GiB memory is
			// copied onto itself: nothing to do either way.
			l.inBounds(scA, scC)
			l.inBounds(scB, scC)
			l.op(0x71, 0x45, 0x04, 0x40) // i32.and  i32.eqz  if
			l.trap()
			l.op(0x0b)
		} else {
			for _, k := range []uint64{scA, scB, scC} {
				get(k, false)
			}
			prefix(10)
			l.op(0, 0)
		}
		l.op(0x0b)
	case 11: // memory.fill: d (i64), v (i32), n (i64)
		if err := memIdx(); err != nil {
			return err
		}
		l.local(0x21, scB) // n
		l.local(0x21, scI) // v
		l.local(0x21, scA) // d
		l.fits(scA, scB)
		l.op(0x04, 0x40)
		get(scA, true)
		get(scI, false)
		get(scB, true)
		prefix(11)
		l.op(0)
		l.op(0x05)
		if l.wrap {
			// In bounds only as n == 0 (nothing to do) or d == 0, n == 2^32 in a 4 GiB memory: two halves.
			l.inBounds(scA, scB)
			l.op(0x04, 0x40)
			l.local(0x20, scB)
			l.i64(1 << 32)
			l.op(0x51, 0x04, 0x40) // i64.eq  if
			for _, at := range []int32{0, math.MinInt32} {
				l.i32(at)
				l.local(0x20, scI)
				l.i32(math.MinInt32) // 2^31 bytes
				prefix(11)
				l.op(0)
			}
			l.op(0x0b, 0x05)
			l.trap()
			l.op(0x0b)
		} else {
			get(scA, false)
			get(scI, false)
			get(scB, false)
			prefix(11)
			l.op(0)
		}
		l.op(0x0b)
	default: // no memory operand: copy it with its immediates
		var n int
		switch {
		case sub <= 7:
		case sub == 9 || sub == 13 || (sub >= 15 && sub <= 17):
			n = 1
		case sub == 12 || sub == 14:
			n = 2
		default:
			return fmt.Errorf("%w: 0xfc %d", errNoLower, sub)
		}
		prefix(sub)
		for range n {
			v, err := r.uleb()
			if err != nil {
				return err
			}
			l.w = binary.AppendUvarint(l.w, v)
		}
	}
	return nil
}
