package emscripten

import (
	"encoding/binary"
	"os"
	"sync"
	"unsafe"
)

// Skipping never-touched pages with /proc/self/pagemap
//
// Hashing, capturing or snapshotting a memory means finding its non-zero pages, and an aos 2.x heap is ~70 MB
// of which a few MB are ever written. Reading the rest to see that it is zero costs ~4 ms per memory hash,
// and faults every untouched page in (on some kernels as a real page: 70 MB of RSS per process for zeros).
// The kernel already knows which pages were never written: in a private anonymous mapping, a page whose
// pagemap entry is neither present nor swapped has never been touched (or was dropped), so it reads as zero.
// One pread of 8 bytes per OS page tells, without touching the pages.
//
// The one part of a wasmtime memory that is not anonymous is the module's data image, mapped copy-on-write
// from a file (its untouched pages read as the image, not zeros): pages below the data segments' extent
// (dataExtent) are always read. Everything not certainly zero is checked byte by byte, so a kernel that
// reports differently can only cost speed, never a wrong hash.

const (
	pmPresent = 1 << 63
	pmSwap    = 1 << 62
)

var pagemap struct {
	once   sync.Once
	f      *os.File
	osPage int
}

func openPagemap() {
	pagemap.osPage = os.Getpagesize()
	if pageSize%pagemap.osPage != 0 {
		return
	}
	if f, err := os.Open("/proc/self/pagemap"); err == nil {
		pagemap.f = f
	}
}

// untouchedPages reports, for each 64 KiB page of mem at or above imageEnd, whether the kernel holds none of
// its OS pages, so it is certainly zero. It returns nil when it cannot tell (no pagemap, unaligned memory).
// The result and the pagemap read use s's buffers: valid until the next call with s (a memory hash runs on
// every attested result, and an aos 2.x heap needs ~140 KB of pagemap entries).
func untouchedPages(mem []byte, imageEnd uint64, s *pageScratch) []bool {
	pagemap.once.Do(openPagemap)
	if pagemap.f == nil || len(mem) < pageSize {
		return nil
	}
	addr := uintptr(unsafe.Pointer(&mem[0]))
	if addr%uintptr(pagemap.osPage) != 0 {
		return nil
	}
	first := int((imageEnd + pageSize - 1) / pageSize) // first page wholly above the data image
	n := len(mem) / pageSize
	zero := s.zero(n)
	if first >= n {
		return zero
	}
	perWasm := pageSize / pagemap.osPage
	buf := s.bytes((n - first) * perWasm * 8)
	off := int64((addr+uintptr(first*pageSize))/uintptr(pagemap.osPage)) * 8
	if got, err := pagemap.f.ReadAt(buf, off); err != nil || got != len(buf) {
		return nil
	}
	for i := first; i < n; i++ {
		z := true
		for j := range perWasm {
			e := binary.LittleEndian.Uint64(buf[((i-first)*perWasm+j)*8:])
			if e&(pmPresent|pmSwap) != 0 {
				z = false
				break
			}
		}
		zero[i] = z
	}
	return zero
}
