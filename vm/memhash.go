package vm

import (
	"bytes"
	"crypto/sha256"
	"hash"
	"io"
)

// PageSize is the WebAssembly page size, the unit of the memory hash's leaves.
const PageSize = 65536

// ChunkSize is the unit a leaf is made of: 16 chunks a page.
const ChunkSize = 4096

// ChunksPerPage is PageSize / ChunkSize.
const ChunksPerPage = PageSize / ChunkSize

// The memory hash
//
// The memory hash of a linear memory is a three-level SHA-256: cut the memory into 64 KiB pages (a wasm
// memory is always a whole number of them; a shorter tail would be one shorter page), each page into
// 4 KiB chunks (a shorter page: its last chunk shorter), and hash upwards:
//
//	chunk_ij    = SHA-256(the j-th 4 KiB of page_i)
//	leaf_i      = SHA-256(chunk_i0 || chunk_i1 || … || chunk_i15)
//	memory hash = SHA-256(leaf_0 || leaf_1 || … || leaf_{n-1})
//
// It is what Machine.MemoryHash and Machine.Snapshot return and what a CU attests as Memory-Hash
// (Attestation-Format 3); anyone holding the raw memory (GET /state) recomputes it with HashMemory.
// Why not SHA-256 of the raw memory: an aos 2.x memory is ~70 MB of which typically under 3 MB is not
// zero, and SHA-256 is sequential, so a plain hash costs ~100 ms per attestation whatever changed. Per
// page, a zero page's leaf is a constant found with a memory-speed zero check, and a page a machine still
// holds an identical copy of keeps its known leaf. Why chunks: a message typically changes a few bytes of
// each page it touches (an allocator header, a GC mark), so a machine that compares a changed page chunk
// by chunk with its copy rehashes only the chunks that changed, a fifth to a tenth of the page, plus a
// 512-byte hash for the leaf. Hashing then costs a scan plus SHA-256 of the chunks that changed.
//
// Format 2 of the attestation (and version 2 snapshots) had leaf_i = SHA-256(page_i); HashMemoryV2 is
// that definition, kept to read what older CUs wrote.

var zeroPage = make([]byte, PageSize)

// ZeroChunkSum is SHA-256 of a 4 KiB chunk of zeros.
var ZeroChunkSum = sha256.Sum256(zeroPage[:ChunkSize])

// ZeroPageChunks are the chunk hashes of a 64 KiB page of zeros.
var ZeroPageChunks = func() (sums [ChunksPerPage][32]byte) {
	for j := range sums {
		sums[j] = ZeroChunkSum
	}
	return sums
}()

// ZeroPageLeaf is the leaf of a 64 KiB page of zeros.
var ZeroPageLeaf = LeafOf(ZeroPageChunks[:])

// IsZeroPage reports whether p is all zero bytes (p is at most PageSize long).
func IsZeroPage(p []byte) bool { return bytes.Equal(p, zeroPage[:len(p)]) }

// ChunkSums writes the chunk hashes of page p (at most PageSize long) into sums and returns how many
// there are (ChunksPerPage for a whole page).
func ChunkSums(p []byte, sums *[ChunksPerPage][32]byte) int {
	n := 0
	for off := 0; off < len(p); off += ChunkSize {
		sums[n] = ChunkSum(p[off:min(off+ChunkSize, len(p))])
		n++
	}
	return n
}

// ChunkSum is the hash of one chunk (at most ChunkSize long); a zero chunk's is the constant ZeroChunkSum.
func ChunkSum(c []byte) [32]byte {
	if len(c) == ChunkSize && IsZeroPage(c) {
		return ZeroChunkSum
	}
	return sha256.Sum256(c)
}

// LeafOf is the leaf of a page whose chunk hashes, in order, are sums.
func LeafOf(sums [][32]byte) [32]byte {
	var buf [ChunksPerPage * 32]byte
	b := buf[:0]
	for i := range sums {
		b = append(b, sums[i][:]...)
	}
	return sha256.Sum256(b)
}

// PageLeaf is the leaf of page p (at most PageSize long).
func PageLeaf(p []byte) [32]byte {
	if len(p) == PageSize && IsZeroPage(p) {
		return ZeroPageLeaf
	}
	var sums [ChunksPerPage][32]byte
	n := ChunkSums(p, &sums)
	return LeafOf(sums[:n])
}

// MemoryHasher computes a memory hash incrementally, page by page in increasing order.
type MemoryHasher struct {
	h hash.Hash
}

// NewMemoryHasher starts a memory hash.
func NewMemoryHasher() *MemoryHasher { return &MemoryHasher{h: sha256.New()} }

// Page adds the next page.
func (m *MemoryHasher) Page(p []byte) {
	leaf := PageLeaf(p)
	m.h.Write(leaf[:])
}

// Leaf adds the next page by its leaf, when the caller already knows it.
func (m *MemoryHasher) Leaf(leaf [32]byte) { m.h.Write(leaf[:]) }

// zeroLeaves is ZeroPageLeaf 128 times: a run of zero pages goes to SHA-256 in few writes (a 68 MiB aos
// memory is mostly zero pages: 1024 of them cost ~41 µs written a leaf at a time, ~21 µs batched).
var zeroLeaves = bytes.Repeat(ZeroPageLeaf[:], 128)

// ZeroPages adds n zero pages.
func (m *MemoryHasher) ZeroPages(n uint64) {
	for n > 0 {
		k := min(n, uint64(len(zeroLeaves)/len(ZeroPageLeaf)))
		m.h.Write(zeroLeaves[:k*uint64(len(ZeroPageLeaf))])
		n -= k
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

// ZeroPageLeafV2 is the format-2 leaf of a zero page: SHA-256 of 64 KiB of zeros.
var ZeroPageLeafV2 = sha256.Sum256(zeroPage)

// HashMemoryV2 is the memory hash of format 2 (leaf_i = SHA-256(page_i)), which older CUs attested and
// wrote in version 2 snapshots.
func HashMemoryV2(mem []byte) [32]byte {
	h := sha256.New()
	for off := 0; off < len(mem); off += PageSize {
		p := mem[off:min(off+PageSize, len(mem))]
		leaf := ZeroPageLeafV2
		if len(p) != PageSize || !IsZeroPage(p) {
			leaf = sha256.Sum256(p)
		}
		h.Write(leaf[:])
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// HashWrittenMemoryV2 is HashMemoryV2 of the memory that write writes (Machine.WriteMemory), computed
// as it streams: no copy of the memory is held.
func HashWrittenMemoryV2(write func(io.Writer) error) ([32]byte, error) {
	w := &v2Writer{h: sha256.New(), page: make([]byte, 0, PageSize)}
	if err := write(w); err != nil {
		return [32]byte{}, err
	}
	if len(w.page) > 0 {
		w.flush()
	}
	var out [32]byte
	w.h.Sum(out[:0])
	return out, nil
}

type v2Writer struct {
	h    hash.Hash
	page []byte
}

func (w *v2Writer) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		k := min(PageSize-len(w.page), len(b))
		w.page = append(w.page, b[:k]...)
		b = b[k:]
		if len(w.page) == PageSize {
			w.flush()
		}
	}
	return n, nil
}

func (w *v2Writer) flush() {
	leaf := ZeroPageLeafV2
	if len(w.page) != PageSize || !IsZeroPage(w.page) {
		leaf = sha256.Sum256(w.page)
	}
	w.h.Write(leaf[:])
	w.page = w.page[:0]
}
