package vm

import (
	"bytes"
	"crypto/sha256"
	"hash"
)

// PageSize is the WebAssembly page size, the unit of the memory hash.
const PageSize = 65536

// The memory hash
//
// The memory hash of a linear memory is a two-level SHA-256: cut the memory into 64 KiB pages (a wasm
// memory is always a whole number of them; a shorter tail would be hashed as it is), hash each page,
// and hash the concatenation of the page hashes:
//
//	leaf_i      = SHA-256(page_i)
//	memory hash = SHA-256(leaf_0 || leaf_1 || … || leaf_{n-1})
//
// It is what Machine.MemoryHash and Machine.Snapshot return and what a CU attests as Memory-Hash; anyone
// holding the raw memory (GET /state) recomputes it with HashMemory. Why not SHA-256 of the raw memory:
// an aos 2.x memory is ~70 MB of which typically under 3 MB is not zero, and SHA-256 is sequential, so
// a plain hash costs ~100 ms per attestation whatever changed. Per page, a zero page's leaf is a
// constant found with a memory-speed zero check, and a page a machine still holds an identical copy of
// keeps its known leaf: hashing costs a scan plus SHA-256 of the pages that changed.

var zeroPage = make([]byte, PageSize)

// ZeroPageLeaf is SHA-256 of a 64 KiB page of zeros.
var ZeroPageLeaf = sha256.Sum256(zeroPage)

// IsZeroPage reports whether p is all zero bytes (p is at most PageSize long).
func IsZeroPage(p []byte) bool { return bytes.Equal(p, zeroPage[:len(p)]) }

// MemoryHasher computes a memory hash incrementally, page by page in increasing order.
type MemoryHasher struct {
	h hash.Hash
}

// NewMemoryHasher starts a memory hash.
func NewMemoryHasher() *MemoryHasher { return &MemoryHasher{h: sha256.New()} }

// Page adds the next page.
func (m *MemoryHasher) Page(p []byte) {
	if len(p) == PageSize && IsZeroPage(p) {
		m.h.Write(ZeroPageLeaf[:])
		return
	}
	leaf := sha256.Sum256(p)
	m.h.Write(leaf[:])
}

// Leaf adds the next page by its SHA-256, when the caller already knows it.
func (m *MemoryHasher) Leaf(leaf [32]byte) { m.h.Write(leaf[:]) }

// ZeroPages adds n zero pages.
func (m *MemoryHasher) ZeroPages(n uint64) {
	for ; n > 0; n-- {
		m.h.Write(ZeroPageLeaf[:])
	}
}

// Sum returns the memory hash of the pages added so far.
func (m *MemoryHasher) Sum() [32]byte {
	var out [32]byte
	m.h.Sum(out[:0])
	return out
}

// HashMemory is the memory hash of mem (see above).
func HashMemory(mem []byte) [32]byte {
	h := NewMemoryHasher()
	for off := 0; off < len(mem); off += PageSize {
		h.Page(mem[off:min(off+PageSize, len(mem))])
	}
	return h.Sum()
}
