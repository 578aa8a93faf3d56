package emscripten

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Snapshot format (version 1), all of it written by writeSnapshot and checked by readSnapshot:
//
//	"AOGOSNAP" | version byte (1) | uvarint n | n bytes of header JSON | gzip stream of the raw memory
//
// The header is {"format", "module" (hex SHA-256 of the wasm), "memSize", "memSha256" (hex SHA-256 of the
// raw memory), "host" (the hostState)}. Wasm globals are not stored: between calls they are back at the
// values start-up leaves (stack pointer included), so restore = fresh instance + start-up + this state.

const snapshotMagic = "AOGOSNAP"

const snapshotVersion = 1

// maxHeaderSize bounds the header (host state: MEMFS files are in it) a reader accepts.
const maxHeaderSize = 256 << 20

type snapshotHeader struct {
	Format    string     `json:"format"`
	Module    string     `json:"module"`
	MemSize   uint64     `json:"memSize"`
	MemSHA256 string     `json:"memSha256"`
	Host      *hostState `json:"host"`
}

func writeSnapshot(w io.Writer, format string, module [32]byte, mem []byte, host *hostState) ([32]byte, error) {
	sum := sha256.Sum256(mem)
	h, err := json.Marshal(snapshotHeader{
		Format: format, Module: hex.EncodeToString(module[:]), MemSize: uint64(len(mem)),
		MemSHA256: hex.EncodeToString(sum[:]), Host: host,
	})
	if err != nil {
		return sum, fmt.Errorf("encode snapshot header: %w", err)
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	var pre [len(snapshotMagic) + 1 + binary.MaxVarintLen64]byte
	n := copy(pre[:], snapshotMagic)
	pre[n] = snapshotVersion
	n++
	n += binary.PutUvarint(pre[n:], uint64(len(h)))
	if _, err := bw.Write(pre[:n]); err != nil {
		return sum, fmt.Errorf("write snapshot: %w", err)
	}
	if _, err := bw.Write(h); err != nil {
		return sum, fmt.Errorf("write snapshot: %w", err)
	}
	zw, _ := gzip.NewWriterLevel(bw, gzip.BestSpeed)
	if _, err := zw.Write(mem); err != nil {
		return sum, fmt.Errorf("write snapshot memory: %w", err)
	}
	if err := zw.Close(); err != nil {
		return sum, fmt.Errorf("write snapshot memory: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return sum, fmt.Errorf("write snapshot: %w", err)
	}
	return sum, nil
}

// snapshot is a decoded snapshot.
type snapshot struct {
	header snapshotHeader
	mem    []byte
	sum    [32]byte
}

var errBadSnapshot = errors.New("bad snapshot")

// readSnapshot decodes and verifies a snapshot. maxMem bounds the memory it will allocate (0: the
// wasm64 heap maximum). It never panics on hostile input.
func readSnapshot(r io.Reader, maxMem uint64) (*snapshot, error) {
	if maxMem == 0 {
		maxMem = 17179869184
	}
	br := bufio.NewReader(r)
	var magic [len(snapshotMagic) + 1]byte
	if _, err := io.ReadFull(br, magic[:]); err != nil {
		return nil, fmt.Errorf("%w: header: %v", errBadSnapshot, err)
	}
	if string(magic[:len(snapshotMagic)]) != snapshotMagic {
		return nil, fmt.Errorf("%w: not a snapshot (magic %q)", errBadSnapshot, magic[:len(snapshotMagic)])
	}
	if magic[len(snapshotMagic)] != snapshotVersion {
		return nil, fmt.Errorf("%w: unsupported version %d", errBadSnapshot, magic[len(snapshotMagic)])
	}
	hl, err := binary.ReadUvarint(br)
	if err != nil {
		return nil, fmt.Errorf("%w: header length: %v", errBadSnapshot, err)
	}
	if hl > maxHeaderSize {
		return nil, fmt.Errorf("%w: header of %d bytes is too large", errBadSnapshot, hl)
	}
	hb := make([]byte, hl)
	if _, err := io.ReadFull(br, hb); err != nil {
		return nil, fmt.Errorf("%w: header: %v", errBadSnapshot, err)
	}
	s := &snapshot{}
	if err := json.Unmarshal(hb, &s.header); err != nil {
		return nil, fmt.Errorf("%w: header: %v", errBadSnapshot, err)
	}
	h := &s.header
	want, err := hex.DecodeString(h.MemSHA256)
	if err != nil || len(want) != 32 {
		return nil, fmt.Errorf("%w: bad memory hash %q", errBadSnapshot, h.MemSHA256)
	}
	if h.MemSize == 0 || h.MemSize%65536 != 0 || h.MemSize > maxMem {
		return nil, fmt.Errorf("%w: memory size %d (limit %d)", errBadSnapshot, h.MemSize, maxMem)
	}
	if err := h.Host.validate(); err != nil {
		return nil, fmt.Errorf("%w: host state: %v", errBadSnapshot, err)
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("%w: memory: %v", errBadSnapshot, err)
	}
	// Grow the buffer as data arrives rather than trusting MemSize up front.
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(zr, int64(h.MemSize)+1))
	if err != nil {
		return nil, fmt.Errorf("%w: memory: %v", errBadSnapshot, err)
	}
	if uint64(n) != h.MemSize {
		return nil, fmt.Errorf("%w: memory is %d bytes, header says %d", errBadSnapshot, n, h.MemSize)
	}
	s.mem = buf.Bytes()
	s.sum = sha256.Sum256(s.mem)
	if !bytes.Equal(s.sum[:], want) {
		return nil, fmt.Errorf("%w: memory hash mismatch", errBadSnapshot)
	}
	return s, nil
}

// validate checks a decoded host state is usable (a snapshot is input we must not trust).
func (h *hostState) validate() error {
	if h == nil || h.FS == nil || h.FS.Nodes == nil || h.FS.FDs == nil {
		return errors.New("missing")
	}
	for p, n := range h.FS.Nodes {
		if n == nil || len(p) == 0 || p[0] != '/' {
			return fmt.Errorf("bad node %q", p)
		}
	}
	for fd, e := range h.FS.FDs {
		if e == nil || fd < 0 {
			return fmt.Errorf("bad descriptor %d", fd)
		}
		switch e.Kind {
		case kindTTY, kindTTY1, kindFile, kindDir, kindNull, kindDrive:
		default:
			return fmt.Errorf("descriptor %d has unknown kind %q", fd, e.Kind)
		}
		if e.Pos < 0 || e.Size < 0 {
			return fmt.Errorf("descriptor %d has a negative position", fd)
		}
	}
	return nil
}
