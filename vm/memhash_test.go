package vm

import (
	"bytes"
	"crypto/sha256"
	"testing"
)

// TestHashMemory checks the memory hash against its definition, written out independently.
func TestHashMemory(t *testing.T) {
	mem := make([]byte, 5*PageSize)
	mem[PageSize+7] = 1
	copy(mem[3*PageSize:], bytes.Repeat([]byte("aogo"), PageSize/4))
	var leaves []byte
	for i := range 5 {
		leaf := sha256.Sum256(mem[i*PageSize : (i+1)*PageSize])
		leaves = append(leaves, leaf[:]...)
	}
	want := sha256.Sum256(leaves)
	if got := HashMemory(mem); got != want {
		t.Fatalf("HashMemory = %x, want %x", got, want)
	}
	h := NewMemoryHasher()
	h.ZeroPages(1)
	h.Leaf(sha256.Sum256(mem[PageSize : 2*PageSize]))
	h.Page(mem[2*PageSize : 3*PageSize])
	h.Page(mem[3*PageSize : 4*PageSize])
	h.ZeroPages(1)
	if got := h.Sum(); got != want {
		t.Fatalf("incremental = %x, want %x", got, want)
	}
	if HashMemory(mem[:4*PageSize]) == want {
		t.Fatal("a memory one page shorter has the same hash")
	}
	if ZeroPageLeaf != sha256.Sum256(make([]byte, PageSize)) {
		t.Fatal("ZeroPageLeaf")
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
