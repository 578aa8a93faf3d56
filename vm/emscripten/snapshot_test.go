package emscripten

import (
	"bytes"
	"testing"
)

func sampleSnapshot(t testing.TB) []byte {
	mem := make([]byte, 3*pageSize)
	copy(mem[pageSize+10:], "hello")
	mem[3*pageSize-1] = 7
	host := &hostState{Clock: clockStart, FS: newMemFS(true)}
	var buf bytes.Buffer
	if _, err := writeSnapshot(&buf, "wasm32-unknown-emscripten4", [32]byte{1}, mem, host); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSnapshotCodec(t *testing.T) {
	b := sampleSnapshot(t)
	got := make([]byte, 3*pageSize)
	h, err := readSnapshot(bytes.NewReader(b), 0, nil, func(idx uint32, p []byte) { copy(got[int(idx)*pageSize:], p) })
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
		if _, err := readSnapshot(bytes.NewReader(c), 0, nil, func(idx uint32, p []byte) { copy(got[int(idx)*pageSize:], p) }); err == nil {
			if string(got[pageSize+10:pageSize+15]) != "hello" || got[3*pageSize-1] != 7 {
				t.Fatalf("corruption at byte %d accepted with different memory", i)
			}
		}
	}
	if _, err := readSnapshot(bytes.NewReader(b), pageSize, nil, nil); err == nil {
		t.Fatal("memory limit not enforced")
	}
}

// FuzzReadSnapshot: hostile snapshots never panic the reader nor make it write outside the memory.
func FuzzReadSnapshot(f *testing.F) {
	f.Add(sampleSnapshot(f))
	f.Add([]byte(snapshotMagic + "\x01\x02{}"))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var size uint64
		_, _ = readSnapshot(bytes.NewReader(b), 64*pageSize, func(h *snapshotHeader) error {
			size = h.MemSize
			return nil
		}, func(idx uint32, p []byte) {
			if uint64(idx+1)*pageSize > size || len(p) != pageSize {
				t.Fatalf("page %d outside memory of %d bytes", idx, size)
			}
		})
	})
}
