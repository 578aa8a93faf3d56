package emscripten

import (
	"math"
	mbits "math/bits"
)

// Narrow scaled indexes
//
// ggml's F16 kernel looks each half up in a float table: `i64.load16_u; i64.const 2; i64.shl; i64.const T;
// i64.add`, the address of a `v128.load32_lane`. Lowered as a whole (an i32.wrap_i64 of the 64-bit sum),
// Cranelift computes it as a 64-bit shift, a 32-bit add and the zero extension the access needs: four x86
// instructions a lookup with the load, 128 in each iteration of the kernel's loop. An index scaled by a 32-bit
// shift needs no extension (x86 clears a register's high half on a 32-bit operation) and a constant in the
// access's offset is part of its addressing mode: `movzx; shl; mov [base + index + T]`, three.
//
// So when the value under an `i64.const k; i64.shl[; i64.const C; i64.add]` is known to stay below 2^32 once
// shifted, and a look ahead over the operators that follow (narrowConsumer) shows it is the address of a
// memory access and nothing else, the sequence becomes `i32.wrap_i64; i32.const k; i32.shl` and C moves into
// that access's offset, which then takes its address as it is. Same address: the shifted value is below 2^32
// and C plus the offset below 2^32, so no sum wraps in either form. The shadow makes the same decision and
// writes `local.tee (identity); i64.const k; i64.shl` with the same offset: the same operators, the same fuel.

// narrowScaled tries the rewrite at an i64.const (already read: r is at its immediate; top bounds the value
// under it). pos is the src offset of the rest of r. It reports whether it wrote the sequence and moved r past it.
func (l *lowerer) narrowScaled(r *wasmReader, top bound, pos int) bool {
	if !top.known {
		return false
	}
	rd := *r
	k, err := rd.sleb()
	if err != nil || k < 0 || k > 31 || len(rd.b) == 0 || rd.b[0] != 0x86 { // i64.shl
		return false
	}
	if mbits.Len64(top.max)+int(k) > 32 {
		return false
	}
	rd.b = rd.b[1:]
	var c uint64
	if len(rd.b) > 0 && rd.b[0] == 0x42 { // i64.const C; i64.add
		at := rd
		at.b = at.b[1:]
		v, err := at.sleb()
		if err == nil && v >= 0 && v <= math.MaxUint32 && len(at.b) > 0 && at.b[0] == 0x7c {
			c, rd.b = uint64(v), at.b[1:]
		}
	}
	consumed := len(r.b) - len(rd.b)
	at, off, ok := narrowConsumer(rd.b)
	if !ok || off+c > math.MaxUint32 {
		return false
	}
	l.convert(0xa7) // i32.wrap_i64
	if l.wrap {
		l.i32(int32(k))
		l.op(0x74) // i32.shl
	} else {
		l.i64(k)
		l.op(0x86) // i64.shl
	}
	l.narrow[pos+consumed+at] = c
	r.b = rd.b
	return true
}

// narrowConsumer follows the value on top of the stack before code through the operators that come next and
// returns the offset in code of the memory access it is the address of, and that access's offset. It fails
// (ok false) when the value is consumed by anything else, or an operator whose stack effect it does not model
// comes first (control flow included), or after 64 operators.
func narrowConsumer(code []byte) (at int, off uint64, ok bool) {
	r := wasmReader{b: code}
	depth := 0 // how many values are above ours
	for range 64 {
		if len(r.b) == 0 {
			return 0, 0, false
		}
		start := len(code) - len(r.b)
		op := r.b[0]
		r.b = r.b[1:]
		pops, pushes, addr := 0, 0, -1 // addr: the depth of an access's address operand
		lane := false                  // a lane index follows the access's memarg
		switch {
		case op == 0x20: // local.get
			pushes = 1
		case op == 0x21: // local.set
			pops = 1
		case op == 0x22: // local.tee
			pops, pushes = 1, 1
		case op == 0x41 || op == 0x42: // i32.const, i64.const
			pushes = 1
		case op == 0xa7 || op == 0xac || op == 0xad: // i32.wrap_i64, i64.extend_i32_{s,u}
			pops, pushes = 1, 1
		case op >= 0x6a && op <= 0x78, op >= 0x7c && op <= 0x8a: // i32 and i64 binary integer operators
			pops, pushes = 2, 1
		case op >= 0x28 && op <= 0x35: // loads
			pops, pushes, addr = 1, 1, 0
		case op >= 0x36 && op <= 0x3e: // stores: address, value
			pops, addr = 2, 1
		case op == 0xfd:
			sub, err := r.uleb()
			if err != nil {
				return 0, 0, false
			}
			switch {
			case sub <= 10 || sub == 92 || sub == 93: // loads
				pops, pushes, addr = 1, 1, 0
			case sub == 11: // v128.store: address, v128
				pops, addr = 2, 1
			case sub >= 84 && sub <= 87: // load_lane: address, v128
				pops, pushes, addr, lane = 2, 1, 1, true
			case sub >= 88 && sub <= 91: // store_lane: address, v128
				pops, addr, lane = 2, 1, true
			default:
				return 0, 0, false
			}
		default:
			return 0, 0, false
		}
		var o uint64
		if addr >= 0 { // an access: its alignment (one memory: no index flag), offset and lane index
			align, err1 := r.uleb()
			v, err2 := r.uleb()
			var err3 error
			if lane {
				_, err3 = r.byte()
			}
			if err1 != nil || err2 != nil || err3 != nil || align&0x40 != 0 {
				return 0, 0, false
			}
			o = v
		} else if err := r.skipOperator(op); err != nil {
			return 0, 0, false
		}
		if depth == addr {
			return start, o, true
		}
		if depth < pops { // ours is consumed by something else
			return 0, 0, false
		}
		depth += pushes - pops
	}
	return 0, 0, false
}
