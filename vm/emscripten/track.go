package emscripten

import (
	"fmt"
	"unsafe"

	"github.com/aogo/aogo/vm"
)

// backingsOff makes every new base a private copy (tests compare both ways).
var backingsOff bool

// mapping records that a backing is mapped under an instance's memory [0, size) (backing_linux.go).
type mapping struct {
	back  *backing
	addr  uintptr // where the memory started when it was mapped: wasmtime may move a growing memory
	size  uint64
	flags []bool // scanTracked's buffer
}

// setMapping records in's new mapping, counting it on its backing (a backing changes in place only while one
// base and the instance of the same machine use it: see backing.shared).
func (in *instance) setMapping(m mapping) {
	if in.mapped.back != m.back {
		in.mapped.back.unmapped()
		m.back.mappedUnder()
	}
	m.flags = in.mapped.flags
	in.mapped = m
}

func addrOf(mem []byte) uintptr {
	if len(mem) == 0 {
		return 0
	}
	return uintptr(unsafe.Pointer(&mem[0]))
}

// mapBacking makes in's memory at least size bytes (in must be freshly booted) and its first size bytes back's,
// as a private mapping of back: nothing is copied.
func (in *instance) mapBacking(back *backing, size uint64) error {
	if uint64(len(in.memory())) < size {
		if err := in.grow(size); err != nil {
			return err
		}
	}
	mem := in.memory()
	if err := back.mapUnder(mem[:size], 0); err != nil {
		in.setMapping(mapping{})
		return err
	}
	in.setMapping(mapping{back: back, addr: addrOf(mem), size: size})
	return nil
}

// scanTracked is scanMemory that also reports, when a backing is mapped under the memory, which of the pages it
// covers were not written since it was mapped (or since the capture that last dropped them): clean[i] means
// page i equals the backing's page i. clean is nil when no backing is mapped or the kernel cannot tell; it is
// valid, as zero is, until the next scan.
func (in *instance) scanTracked() (mem []byte, zero, clean []bool) {
	mem = in.memory()
	mp := &in.mapped
	if mp.back != nil && (uint64(len(mem)) < mp.size || addrOf(mem) != mp.addr) {
		// wasmtime moved the memory (copying it): the mapping went with the old pages.
		in.setMapping(mapping{})
	}
	// Above the mapping, untouched pages are zero, as in any memory; the data image, if any, is under it.
	lo, known := in.cm.imageEnd, in.cm.imageOK
	if mp.back != nil {
		lo, known = max(lo, mp.size), true
	}
	if known {
		if zero = untouchedPages(mem, lo, &in.scratch); zero != nil {
			releaseZeroPages(mem, zero, lo)
		}
	}
	if zero == nil {
		if in.prefaulted < len(mem) {
			prefault(mem[in.prefaulted:])
			in.prefaulted = len(mem)
		}
		return mem, nil, nil
	}
	if mp.back == nil {
		return mem, zero, nil
	}
	n := int(mp.size / pageSize)
	if cap(mp.flags) < n {
		mp.flags = make([]bool, n)
	}
	clean = mp.flags[:n]
	if !writtenPages(mem[:mp.size], &in.scratch, clean) { // clean holds the written flags
		return mem, zero, nil
	}
	for i := range n {
		clean[i] = !clean[i]
		zero[i] = clean[i] && !mp.back.nonzero[i]
	}
	releaseZeroWritten(mem, zero, clean, mp.back)
	return mem, zero, clean
}

// releaseZeroWritten is releaseZeroPages under a mapping: a written page that holds only zeros again over a
// zero page of the backing is dropped (it reads the backing's zeros), so it is clean and zero from then on.
// Over a non-zero page of the backing it stays until the next capture: dropping it would bring the base back.
func releaseZeroWritten(mem []byte, zero, clean []bool, back *backing) {
	for i := 0; i < len(clean); {
		ok := func(i int) bool {
			return !clean[i] && !back.nonzero[i] && vm.IsZeroPage(mem[i*pageSize:(i+1)*pageSize])
		}
		if !ok(i) {
			i++
			continue
		}
		j := i + 1
		for j < len(clean) && ok(j) {
			j++
		}
		if dropPrivate(mem[i*pageSize:j*pageSize]) == nil {
			for k := i; k < j; k++ {
				clean[k], zero[k] = true, true
			}
		}
		i = j
	}
}

// dropWritten discards the private copies of the pages of mem below the mapping that written marks, in runs:
// they equal the backing's pages, and from then on read them and count as clean.
func dropWritten(mem []byte, written []bool) {
	for i := 0; i < len(written); {
		if !written[i] {
			i++
			continue
		}
		j := i + 1
		for j < len(written) && written[j] {
			j++
		}
		// On failure the pages stay private with the backing's content: they count as written again, which
		// costs a compare at the next capture, never a wrong state.
		_ = dropPrivate(mem[i*pageSize : j*pageSize])
		i = j
	}
}

// captureInPlace takes a base from in's current state into the backing of prev, mapped under in's memory and
// used by no other machine: only the pages written since prev are read, compared, hashed and copied. It
// returns nil when it cannot (the written pages are unknown); prev must then not be used with in as if mapped.
func captureInPlace(in *instance, prev *baseState) (*baseState, error) {
	back := prev.back
	if back == nil || back.shared() || in.mapped.back != back {
		return nil, nil
	}
	mem, zero, clean := in.scanTracked()
	if clean == nil || in.mapped.back != back {
		return nil, nil
	}
	size := uint64(len(mem))
	if err := back.resize(size); err != nil {
		return nil, nil
	}
	b := &baseState{memSize: size, host: in.host.clone(), back: back}
	olds := prev.pages
	written := make([]bool, len(clean))
	for idx := range int(size / pageSize) {
		for len(olds) > 0 && int(olds[0].idx) < idx {
			olds = olds[1:]
		}
		var old *page
		if len(olds) > 0 && int(olds[0].idx) == idx {
			old = &olds[0]
		}
		if idx < len(clean) && clean[idx] {
			if old != nil {
				b.pages = append(b.pages, *old)
			}
			continue
		}
		// A written page that changed keeps its private copy: it is likely written again (a KV cache, a
		// heap's hot pages), and dropping it would cost a fault and a copy per 4 KiB when it is. One written
		// but unchanged since the last capture (or zero) is dropped: it no longer costs memory twice.
		drop := idx < len(clean)
		dst := back.view[idx*pageSize : (idx+1)*pageSize]
		p := mem[idx*pageSize : (idx+1)*pageSize]
		switch {
		case isZeroPage(mem, zero, idx):
			if back.nonzero[idx] {
				clear(dst)
				back.nonzero[idx] = false
			}
		case old != nil && string(old.data) == string(p): // old.data is dst
			b.pages = append(b.pages, *old)
		default:
			drop = false
			chunks, sum := hashPage(p, old)
			copy(dst, p)
			back.nonzero[idx] = true
			b.pages = append(b.pages, page{idx: uint32(idx), data: dst, chunks: chunks, sum: sum})
		}
		if drop {
			written[idx] = true
		}
	}
	dropWritten(mem, written)
	if size > in.mapped.size {
		if err := back.mapUnder(mem[in.mapped.size:size], in.mapped.size); err != nil {
			return nil, fmt.Errorf("capture: %w", err)
		}
		in.mapped.size = size
	}
	return b, nil
}

// captureInto takes a base from in's current state into back, a new backing, copying every non-zero page
// (chunk hashes are reused from prev's pages that did not change), and maps back under in's memory.
func captureInto(in *instance, prev *baseState, back *backing) (*baseState, error) {
	mem, zero, clean := in.scanTracked()
	if in.mapped.back != prev.back {
		clean = nil
	}
	size := uint64(len(mem))
	if err := back.resize(size); err != nil {
		return nil, err
	}
	b := &baseState{memSize: size, host: in.host.clone(), back: back}
	pagesOf(mem, zero, clean, prev, func(idx uint32, p []byte, old *page, same bool) {
		dst := back.view[uint64(idx)*pageSize : uint64(idx+1)*pageSize]
		copy(dst, p)
		back.nonzero[idx] = true
		if same || old != nil && string(old.data) == string(p) {
			b.pages = append(b.pages, page{idx: idx, data: dst, chunks: old.chunks, sum: old.sum})
			return
		}
		chunks, sum := hashPage(p, old)
		b.pages = append(b.pages, page{idx: idx, data: dst, chunks: chunks, sum: sum})
	})
	if err := back.mapUnder(mem[:size], 0); err != nil {
		in.setMapping(mapping{})
		return nil, fmt.Errorf("capture: %w", err)
	}
	in.setMapping(mapping{back: back, addr: addrOf(mem), size: size})
	return b, nil
}

// forkMemory makes in (freshly booted) hold a copy of src's memory, whose base is base: with a backing mapped
// under src, in maps it too and copies only the pages src wrote since, and its tracking starts from there.
func forkMemory(in, src *instance, base *baseState) error {
	mem, zero, clean := src.scanTracked()
	if base.back == nil || clean == nil || src.mapped.back != base.back {
		return in.loadMemory(mem, zero, src.host.clone())
	}
	if err := in.grow(uint64(len(mem))); err != nil {
		return err
	}
	if err := in.mapBacking(base.back, src.mapped.size); err != nil {
		return err
	}
	dst := in.memory()
	for idx := range len(mem) / pageSize {
		if idx < len(clean) {
			if !clean[idx] {
				copy(dst[idx*pageSize:], mem[idx*pageSize:(idx+1)*pageSize])
			}
			continue
		}
		if !isZeroPage(mem, zero, idx) {
			copy(dst[idx*pageSize:], mem[idx*pageSize:(idx+1)*pageSize])
		}
	}
	in.host = src.host.clone()
	in.drives = map[int32]vm.DriveFile{}
	return nil
}
