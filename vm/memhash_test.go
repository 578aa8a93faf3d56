package vm

import (
	"bytes"
	"crypto/sha256"
	"io"
	"testing"
)

// leafByDefinition is a page's leaf written out from the definition, independently of the code.
func leafByDefinition(p []byte) [32]byte {
	var sums []byte
	for off := 0; off < len(p); off += 4096 {
		c := sha256.Sum256(p[off:min(off+4096, len(p))])
		sums = append(sums, c[:]...)
	}
	return sha256.Sum256(sums)
}

// TestHashMemory checks the memory hash against its definition, written out independently.
func TestHashMemory(t *testing.T) {
	mem := make([]byte, 5*PageSize)
	mem[PageSize+7] = 1
	copy(mem[3*PageSize:], bytes.Repeat([]byte("aogo"), PageSize/4))
	var leaves []byte
	for i := range 5 {
		leaf := leafByDefinition(mem[i*PageSize : (i+1)*PageSize])
		leaves = append(leaves, leaf[:]...)
	}
	want := sha256.Sum256(leaves)
	if got := HashMemory(mem); got != want {
		t.Fatalf("HashMemory = %x, want %x", got, want)
	}
	h := NewMemoryHasher()
	h.ZeroPages(1)
	h.Leaf(leafByDefinition(mem[PageSize : 2*PageSize]))
	h.Page(mem[2*PageSize : 3*PageSize])
	h.Page(mem[3*PageSize : 4*PageSize])
	h.ZeroPages(1)
	if got := h.Sum(); got != want {
		t.Fatalf("incremental = %x, want %x", got, want)
	}
	// Runs of zero pages around the batch ZeroPages writes them in.
	for _, n := range []int{0, 1, 127, 128, 129, 300, 1088} {
		zeros := make([]byte, n*PageSize)
		h := NewMemoryHasher()
		h.ZeroPages(uint64(n))
		if got, want := h.Sum(), HashMemory(zeros); got != want {
			t.Fatalf("ZeroPages(%d) = %x, HashMemory of %d zero pages %x", n, got, n, want)
		}
	}
	if HashMemory(mem[:4*PageSize]) == want {
		t.Fatal("a memory one page shorter has the same hash")
	}
	if ZeroPageLeaf != leafByDefinition(make([]byte, PageSize)) {
		t.Fatal("ZeroPageLeaf")
	}
	// A short tail page: its last chunk is shorter.
	tail := append(bytes.Clone(mem[:PageSize+5000]), 9)
	wantTail := sha256.Sum256(append(append([]byte(nil), leaves[:32]...), func() []byte {
		l := leafByDefinition(tail[PageSize:])
		return l[:]
	}()...))
	if got := HashMemory(tail); got != wantTail {
		t.Fatalf("tail: HashMemory = %x, want %x", got, wantTail)
	}
	// From chunk sums: one chunk changed, the others reused.
	var sums [ChunksPerPage][32]byte
	page := bytes.Clone(mem[3*PageSize : 4*PageSize])
	if n := ChunkSums(page, &sums); n != ChunksPerPage {
		t.Fatalf("%d chunks", n)
	}
	page[5*ChunkSize+1] ^= 0xff
	sums[5] = sha256.Sum256(page[5*ChunkSize : 6*ChunkSize])
	if LeafOf(sums[:]) != leafByDefinition(page) || PageLeaf(page) != leafByDefinition(page) {
		t.Fatal("leaf from updated chunk sums")
	}
}

// TestHashMemoryV2 checks the format-2 definition (leaf = SHA-256 of the page) older CUs wrote.
func TestHashMemoryV2(t *testing.T) {
	mem := make([]byte, 3*PageSize)
	mem[2*PageSize+1] = 7
	var leaves []byte
	for i := range 3 {
		leaf := sha256.Sum256(mem[i*PageSize : (i+1)*PageSize])
		leaves = append(leaves, leaf[:]...)
	}
	if got, want := HashMemoryV2(mem), sha256.Sum256(leaves); got != want {
		t.Fatalf("HashMemoryV2 = %x, want %x", got, want)
	}
	if HashMemoryV2(mem) == HashMemory(mem) {
		t.Fatal("the two formats agree")
	}
	// Streamed in odd-sized writes.
	got, err := HashWrittenMemoryV2(func(w io.Writer) error {
		for off := 0; off < len(mem); off += 1000 {
			w.Write(mem[off:min(off+1000, len(mem))])
		}
		return nil
	})
	if err != nil || got != HashMemoryV2(mem) {
		t.Fatalf("streamed: %x, %v", got, err)
	}
}

func BenchmarkHashMemory(b *testing.B) {
	mem := make([]byte, 1088*PageSize) // an aos 2.x memory: 68 MiB, ~30 pages not zero
	for i := range 30 {
		copy(mem[i*3*PageSize:], bytes.Repeat([]byte{byte(i + 1)}, PageSize))
	}
	b.SetBytes(int64(len(mem)))
	b.Run("pages", func(b *testing.B) {
		for b.Loop() {
			HashMemory(mem)
		}
	})
	b.Run("sha256-raw", func(b *testing.B) {
		for b.Loop() {
			sha256.Sum256(mem)
		}
	})
}

// BenchmarkZeroPages: the leaves of a 64 MiB run of zero pages (the untouched stack of an aos memory).
func BenchmarkZeroPages(b *testing.B) {
	for b.Loop() {
		h := NewMemoryHasher()
		h.ZeroPages(1024)
		h.Sum()
	}
}
