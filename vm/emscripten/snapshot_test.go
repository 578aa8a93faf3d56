package emscripten

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/aogo/aogo/vm"
)

func sampleSnapshot(t testing.TB) []byte {
	mem := make([]byte, 3*pageSize)
	copy(mem[pageSize+10:], "hello")
	mem[3*pageSize-1] = 7
	host := &hostState{Clock: clockStart, FS: newMemFS(true)}
	var buf bytes.Buffer
	if _, err := writeSnapshot(&buf, "wasm32-unknown-emscripten4", [32]byte{1}, mem, nil, vm.HashMemory(mem), host); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// samplePagedSnapshot is sampleSnapshot's memory as a paged snapshot, with the store holding its pages.
func samplePagedSnapshot(t testing.TB) ([]byte, *memPages) {
	mem := make([]byte, 3*pageSize)
	copy(mem[pageSize+10:], "hello")
	mem[3*pageSize-1] = 7
	var keys []pageKey
	for _, i := range []uint32{1, 2} {
		keys = append(keys, pageKey{i, vm.PageLeaf(mem[i*pageSize : (i+1)*pageSize])})
	}
	ps := &memPages{}
	var buf bytes.Buffer
	host := &hostState{Clock: clockStart, FS: newMemFS(true)}
	if _, err := writePagedSnapshot(&buf, ps, "wasm32-unknown-emscripten4", [32]byte{1}, mem, keys, vm.HashMemory(mem), host); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), ps
}

func TestSnapshotCodec(t *testing.T) {
	b := sampleSnapshot(t)
	got := make([]byte, 3*pageSize)
	h, err := readSnapshot(bytes.NewReader(b), 0, nil, func(idx uint32, p []byte, chunks *chunkSums, sum [32]byte) {
		if sum != vm.PageLeaf(p) || vm.LeafOf(chunks[:]) != sum {
			t.Fatalf("page %d: wrong leaf", idx)
		}
		copy(got[int(idx)*pageSize:], p)
	})
	if err != nil {
		t.Fatal(err)
	}
	if h.MemSize != 3*pageSize || string(got[pageSize+10:pageSize+15]) != "hello" || got[3*pageSize-1] != 7 {
		t.Fatal("round trip lost data")
	}
	// Any single corrupted byte must be rejected (or be harmless), never accepted with wrong memory.
	for i := range b {
		c := bytes.Clone(b)
		c[i] ^= 0x40
		clear(got)
		if _, err := readSnapshot(bytes.NewReader(c), 0, nil, func(idx uint32, p []byte, _ *chunkSums, _ [32]byte) { copy(got[int(idx)*pageSize:], p) }); err == nil {
			if string(got[pageSize+10:pageSize+15]) != "hello" || got[3*pageSize-1] != 7 {
				t.Fatalf("corruption at byte %d accepted with different memory", i)
			}
		}
	}
	if _, err := readSnapshot(bytes.NewReader(b), pageSize, nil, nil); err == nil {
		t.Fatal("memory limit not enforced")
	}
}

// oldSnapshot is a snapshot as an older aogo wrote it: version, a memory of memSize bytes whose hash (in
// header field hashField) is hash, and one non-zero page, number idx, holding data.
func oldSnapshot(version byte, memSize int, hashField string, hash [32]byte, idx uint64, data []byte) []byte {
	h, _ := json.Marshal(map[string]any{"format": "wasm32-unknown-emscripten4", "module": hex.EncodeToString(make([]byte, 32)),
		"memSize": memSize, hashField: hex.EncodeToString(hash[:]), "host": &hostState{Clock: clockStart, FS: newMemFS(true)}})
	var buf bytes.Buffer
	buf.WriteString(snapshotMagic)
	buf.WriteByte(version)
	buf.Write(binary.AppendUvarint(nil, uint64(len(h))))
	buf.Write(h)
	zw := gzip.NewWriter(&buf)
	zw.Write(binary.AppendUvarint(nil, idx+1))
	zw.Write(data)
	zw.Write([]byte{0})
	zw.Close()
	return buf.Bytes()
}

// TestSnapshotVersion2: snapshots with the format-2 memory hash (leaves = SHA-256 of the pages), as older
// CUs wrote them, still load, with their hash checked, and the sink gets the current leaves.
func TestSnapshotVersion2(t *testing.T) {
	mem := make([]byte, 3*pageSize)
	copy(mem[2*pageSize:], "version two")
	v2 := func(mem []byte, hash [32]byte) []byte {
		return oldSnapshot(2, len(mem), "memHash", hash, 2, mem[2*pageSize:])
	}
	got := make([]byte, 3*pageSize)
	sink := func(idx uint32, p []byte, _ *chunkSums, leaf [32]byte) {
		if leaf != vm.PageLeaf(p) {
			t.Fatalf("page %d: sink got a leaf of another format", idx)
		}
		copy(got[int(idx)*pageSize:], p)
	}
	if _, err := readSnapshot(bytes.NewReader(v2(mem, vm.HashMemoryV2(mem))), 0, nil, sink); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, mem) {
		t.Fatal("version 2 round trip lost data")
	}
	if _, err := readSnapshot(bytes.NewReader(v2(mem, vm.HashMemory(mem))), 0, nil, nil); err == nil {
		t.Fatal("version 2 snapshot carrying a format-3 memory hash accepted")
	}
}

// TestSnapshotVersion1: snapshots written before the memory hash existed (raw SHA-256 in the header)
// still load, and their hash is still checked.
func TestSnapshotVersion1(t *testing.T) {
	mem := make([]byte, 2*pageSize)
	copy(mem[pageSize:], "version one")
	v1 := func(mem []byte) []byte {
		return oldSnapshot(1, len(mem), "memSha256", sha256.Sum256(mem), 1, mem[pageSize:])
	}
	got := make([]byte, 2*pageSize)
	if _, err := readSnapshot(bytes.NewReader(v1(mem)), 0, nil, func(idx uint32, p []byte, _ *chunkSums, _ [32]byte) { copy(got[int(idx)*pageSize:], p) }); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, mem) {
		t.Fatal("version 1 round trip lost data")
	}
	other := bytes.Clone(mem)
	other[0] = 1 // v1 writes page 1 only: the header's hash covers a page 0 the stream does not hold
	if _, err := readSnapshot(bytes.NewReader(v1(other)), 0, nil, nil); err == nil {
		t.Fatal("version 1 snapshot with a wrong memory hash accepted")
	}
}

// FuzzReadSnapshot: hostile snapshots (paged ones too) never panic the reader nor make it write outside the
// memory.
func FuzzReadSnapshot(f *testing.F) {
	f.Add(sampleSnapshot(f))
	paged, ps := samplePagedSnapshot(f)
	f.Add(paged)
	f.Add([]byte(snapshotMagic + "\x01\x02{}"))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var size uint64
		_, _ = readPagedSnapshot(bytes.NewReader(b), 64*pageSize, ps, func(h *snapshotHeader) error {
			size = h.MemSize
			return nil
		}, func(idx uint32, p []byte, _ *chunkSums, _ [32]byte) {
			if uint64(idx+1)*pageSize > size || len(p) != pageSize {
				t.Fatalf("page %d outside memory of %d bytes", idx, size)
			}
		})
	})
}
