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
	"hash"
	"io"

	"github.com/aogo/aogo/vm"
)

// Snapshot format (version 3), all of it written by writeSnapshot and checked by readSnapshot:
//
//	"AOGOSNAP" | version byte (3) | uvarint n | n bytes of header JSON | gzip stream of the pages
//
// The header is {"format", "module" (hex SHA-256 of the wasm), "memSize", "memHash" (hex memory hash, see
// vm.HashMemory), "host" (the hostState)}. Older versions are still read: version 2 is the same with the
// format-2 memory hash (vm.HashMemoryV2), version 1 had "memSha256" (hex SHA-256 of the raw memory)
// instead of "memHash". The gzip stream holds only the non-zero 64 KiB pages, each as
// uvarint(page index + 1) followed by the 65536 bytes, in increasing index order, ended by uvarint 0: aos
// heaps are mostly zeros, and skipping them makes snapshot and restore proportional to the live data.
// Wasm globals are not stored: between calls they are back at the values start-up leaves (stack pointer
// included), so restore = fresh instance + start-up + this state.

const snapshotMagic = "AOGOSNAP"

const snapshotVersion = 3

// pagedSnapshotVersion is a paged snapshot (vm.PagedSnapshotter): the same header, then the gzipped page table,
// uvarint(page index + 1) and the page's 32-byte key (its leaf) for each non-zero page, ended by uvarint 0;
// the pages themselves are in a vm.PageStore.
const pagedSnapshotVersion = 4

// maxHeaderSize bounds the header (host state: MEMFS files are in it) a reader accepts.
const maxHeaderSize = 256 << 20

type snapshotHeader struct {
	Format    string     `json:"format"`
	Module    string     `json:"module"`
	MemSize   uint64     `json:"memSize"`
	MemHash   string     `json:"memHash,omitempty"`
	MemSHA256 string     `json:"memSha256,omitempty"` // version 1
	Host      *hostState `json:"host"`
}

// writeSnapshot writes mem, whose memory hash is sum, and host.
func writeSnapshot(w io.Writer, format string, module [32]byte, mem []byte, zero []bool, sum [32]byte, host *hostState) ([32]byte, error) {
	bw, zw, err := beginSnapshot(w, snapshotVersion, format, module, uint64(len(mem)), sum, host)
	if err != nil {
		return sum, err
	}
	var idx [binary.MaxVarintLen64]byte
	for off := 0; off+pageSize <= len(mem); off += pageSize {
		if isZeroPage(mem, zero, off/pageSize) {
			continue
		}
		p := mem[off : off+pageSize]
		k := binary.PutUvarint(idx[:], uint64(off/pageSize)+1)
		if _, err := zw.Write(idx[:k]); err != nil {
			return sum, fmt.Errorf("write snapshot memory: %w", err)
		}
		if _, err := zw.Write(p); err != nil {
			return sum, fmt.Errorf("write snapshot memory: %w", err)
		}
	}
	return sum, endSnapshot(bw, zw)
}

// pageKey is a non-zero page of a paged snapshot.
type pageKey struct {
	idx uint32
	key [32]byte
}

// writePagedSnapshot writes a paged snapshot of mem (memory hash sum, non-zero pages keys, in increasing
// order) and host, putting the pages ps does not hold yet into it.
func writePagedSnapshot(w io.Writer, ps vm.PageStore, format string, module [32]byte, mem []byte, keys []pageKey, sum [32]byte, host *hostState) ([32]byte, error) {
	for _, k := range keys {
		has, err := ps.HasPage(k.key)
		if err == nil && !has {
			err = ps.PutPage(k.key, mem[uint64(k.idx)*pageSize:uint64(k.idx+1)*pageSize])
		}
		if err != nil {
			return sum, fmt.Errorf("store snapshot page %d: %w", k.idx, err)
		}
	}
	bw, zw, err := beginSnapshot(w, pagedSnapshotVersion, format, module, uint64(len(mem)), sum, host)
	if err != nil {
		return sum, err
	}
	var buf [binary.MaxVarintLen64 + 32]byte
	for _, k := range keys {
		n := binary.PutUvarint(buf[:], uint64(k.idx)+1)
		n += copy(buf[n:], k.key[:])
		if _, err := zw.Write(buf[:n]); err != nil {
			return sum, fmt.Errorf("write snapshot page table: %w", err)
		}
	}
	return sum, endSnapshot(bw, zw)
}

// beginSnapshot writes the magic, version and header, and opens the gzip stream that follows.
func beginSnapshot(w io.Writer, version byte, format string, module [32]byte, memSize uint64, sum [32]byte, host *hostState) (*bufio.Writer, *gzip.Writer, error) {
	h, err := json.Marshal(snapshotHeader{
		Format: format, Module: hex.EncodeToString(module[:]), MemSize: memSize,
		MemHash: hex.EncodeToString(sum[:]), Host: host,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("encode snapshot header: %w", err)
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	var pre [len(snapshotMagic) + 1 + binary.MaxVarintLen64]byte
	n := copy(pre[:], snapshotMagic)
	pre[n] = version
	n++
	n += binary.PutUvarint(pre[n:], uint64(len(h)))
	if _, err := bw.Write(pre[:n]); err != nil {
		return nil, nil, fmt.Errorf("write snapshot: %w", err)
	}
	if _, err := bw.Write(h); err != nil {
		return nil, nil, fmt.Errorf("write snapshot: %w", err)
	}
	zw, _ := gzip.NewWriterLevel(bw, gzip.BestSpeed)
	return bw, zw, nil
}

// endSnapshot ends the page stream and flushes.
func endSnapshot(bw *bufio.Writer, zw *gzip.Writer) error {
	if _, err := zw.Write([]byte{0}); err != nil {
		return fmt.Errorf("write snapshot memory: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("write snapshot memory: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write snapshot: %w", err)
	}
	return nil
}

var errBadSnapshot = errors.New("bad snapshot")

// readSnapshot decodes and verifies a snapshot, handing each non-zero page, its chunk hashes and its leaf
// (vm.HashMemory) to sink in increasing order (sink may be called before verification ends: a caller
// loading an instance must discard it on error; the page buffer is reused after sink returns).
// It checks everything a hostile input could get wrong — sizes against maxMem (0: the wasm64 heap
// maximum), page order, the memory hash — and never panics.
func readSnapshot(r io.Reader, maxMem uint64, begin func(h *snapshotHeader) error, sink func(idx uint32, page []byte, chunks *chunkSums, leaf [32]byte)) (*snapshotHeader, error) {
	return readPagedSnapshot(r, maxMem, nil, begin, sink)
}

// readPagedSnapshot is readSnapshot that also reads paged snapshots, whose pages come from ps (nil: refused).
// Each page must hash to its key.
func readPagedSnapshot(r io.Reader, maxMem uint64, ps vm.PageStore, begin func(h *snapshotHeader) error, sink func(idx uint32, page []byte, chunks *chunkSums, leaf [32]byte)) (*snapshotHeader, error) {
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
	version := magic[len(snapshotMagic)]
	if version < 1 || version > pagedSnapshotVersion {
		return nil, fmt.Errorf("%w: unsupported version %d", errBadSnapshot, magic[len(snapshotMagic)])
	}
	if version == pagedSnapshotVersion && ps == nil {
		return nil, fmt.Errorf("%w: a paged snapshot needs its page store", errBadSnapshot)
	}
	hl, err := binary.ReadUvarint(br)
	if err != nil {
		return nil, fmt.Errorf("%w: header length: %v", errBadSnapshot, err)
	}
	if hl > maxHeaderSize {
		return nil, fmt.Errorf("%w: header of %d bytes is too large", errBadSnapshot, hl)
	}
	hb := make([]byte, 0, min(hl, 1<<20))
	hbuf := bytes.NewBuffer(hb)
	if n, err := io.CopyN(hbuf, br, int64(hl)); err != nil || uint64(n) != hl {
		return nil, fmt.Errorf("%w: header: %v", errBadSnapshot, err)
	}
	h := &snapshotHeader{}
	if err := json.Unmarshal(hbuf.Bytes(), h); err != nil {
		return nil, fmt.Errorf("%w: header: %v", errBadSnapshot, err)
	}
	wantHex := h.MemHash
	if version == 1 {
		wantHex = h.MemSHA256
	}
	want, err := hex.DecodeString(wantHex)
	if err != nil || len(want) != 32 {
		return nil, fmt.Errorf("%w: bad memory hash %q", errBadSnapshot, wantHex)
	}
	if h.MemSize == 0 || h.MemSize%pageSize != 0 || h.MemSize > maxMem {
		return nil, fmt.Errorf("%w: memory size %d (limit %d)", errBadSnapshot, h.MemSize, maxMem)
	}
	if err := h.Host.validate(); err != nil {
		return nil, fmt.Errorf("%w: host state: %v", errBadSnapshot, err)
	}
	if begin != nil {
		if err := begin(h); err != nil {
			return nil, err
		}
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("%w: memory: %v", errBadSnapshot, err)
	}
	zbr := bufio.NewReader(zr)
	// Version 3 checks the memory hash (zero pages cost nothing), version 2 the format-2 memory hash (leaves
	// are the pages' SHA-256), version 1 the SHA-256 of the raw memory. The sink gets the current leaves.
	mh := vm.NewMemoryHasher()
	var raw hash.Hash
	switch version {
	case 1:
		raw = sha256.New()
	case 2:
		raw = sha256.New() // of the format-2 leaves
	}
	zeros := func(n uint64) {
		mh.ZeroPages(n)
		for ; raw != nil && n > 0; n-- {
			if version == 1 {
				raw.Write(zeroPage)
			} else {
				raw.Write(vm.ZeroPageLeafV2[:])
			}
		}
	}
	buf := make([]byte, pageSize)
	pages := h.MemSize / pageSize
	next := uint64(0) // first page index not yet hashed
	for {
		k, err := binary.ReadUvarint(zbr)
		if err != nil {
			return nil, fmt.Errorf("%w: memory: %v", errBadSnapshot, err)
		}
		if k == 0 {
			break
		}
		idx := k - 1
		if idx < next || idx >= pages {
			return nil, fmt.Errorf("%w: page %d out of order or beyond %d pages", errBadSnapshot, idx, pages)
		}
		zeros(idx - next)
		var key [32]byte
		if version == pagedSnapshotVersion {
			if _, err := io.ReadFull(zbr, key[:]); err != nil {
				return nil, fmt.Errorf("%w: page table entry %d: %v", errBadSnapshot, idx, err)
			}
			p, err := ps.Page(key)
			if err != nil {
				return nil, fmt.Errorf("snapshot page %d (%x): %w", idx, key, err)
			}
			if len(p) != pageSize {
				return nil, fmt.Errorf("%w: stored page %x has %d bytes", errBadSnapshot, key, len(p))
			}
			copy(buf, p)
		} else if _, err := io.ReadFull(zbr, buf); err != nil {
			return nil, fmt.Errorf("%w: memory page %d: %v", errBadSnapshot, idx, err)
		}
		chunks := new(chunkSums)
		vm.ChunkSums(buf, chunks)
		leaf := vm.LeafOf(chunks[:])
		if version == pagedSnapshotVersion && leaf != key {
			return nil, fmt.Errorf("%w: stored page %x does not hash to its key", errBadSnapshot, key)
		}
		mh.Leaf(leaf)
		switch version {
		case 1:
			raw.Write(buf)
		case 2:
			v2 := sha256.Sum256(buf)
			raw.Write(v2[:])
		}
		next = idx + 1
		if sink != nil {
			sink(uint32(idx), buf, chunks, leaf)
		}
	}
	zeros(pages - next)
	if _, err := zbr.ReadByte(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the last page", errBadSnapshot)
	}
	got := mh.Sum()
	if raw != nil {
		copy(got[:], raw.Sum(nil))
	}
	if !bytes.Equal(got[:], want) {
		return nil, fmt.Errorf("%w: memory hash mismatch", errBadSnapshot)
	}
	return h, nil
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
