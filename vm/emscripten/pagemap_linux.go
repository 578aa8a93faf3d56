package emscripten

import (
	"encoding/binary"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/aogo/aogo/vm"
)

// Skipping never-touched pages with /proc/self/pagemap
//
// Hashing, capturing or snapshotting a memory means finding its non-zero pages, and an aos 2.x heap is ~70 MB
// of which a few MB are ever written. Reading the rest to see that it is zero costs ~4 ms per memory hash,
// and faults every untouched page in (on some kernels as a real page: 70 MB of RSS per process for zeros).
// The kernel already knows which pages were never written: in a private anonymous mapping, a page whose
// pagemap entry is neither present nor swapped has never been touched (or was dropped), so it reads as zero.
// One pread of 8 bytes per OS page tells, without touching the pages. Where the kernel has the PAGEMAP_SCAN
// ioctl (Linux 6.7) it lists the touched ranges instead: the cost then follows what was touched, not the
// memory's size (an aos memory of 68 MiB, mostly an untouched 64 MiB stack: ~80 µs of pread per scan).
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
	noScan atomic.Bool // the kernel refused PAGEMAP_SCAN: read entries
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
	if !pagemap.noScan.Load() {
		for i := first; i < n; i++ {
			zero[i] = true
		}
		if scanTouched(addr+uintptr(first*pageSize), addr+uintptr(n*pageSize), s, func(lo, hi uintptr) {
			for i := int((lo - addr) / pageSize); i < n && uintptr(i*pageSize) < hi-addr; i++ {
				zero[i] = false
			}
		}) {
			return zero
		}
		pagemap.noScan.Store(true) // the entries below set every flag again
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

// PAGEMAP_SCAN (linux/fs.h): _IOWR('f', 16, struct pm_scan_arg), and the page categories it reports.
const (
	pagemapScan   = 0xC0606610
	pageIsPresent = 1 << 3
	pageIsSwapped = 1 << 4
	scanRegions   = 512 // page regions per ioctl (12 KiB)
)

// pmScanArg is struct pm_scan_arg.
type pmScanArg struct {
	size, flags, start, end, walkEnd, vec, vecLen, maxPages       uint64
	categoryInverted, categoryMask, categoryAnyofMask, returnMask uint64
}

// scanTouched calls touched(lo, hi) for each range of [start, end) that holds a present or swapped OS page
// (a range may come in pieces), through PAGEMAP_SCAN. It returns false when the kernel has no such ioctl or
// it fails: the caller then reads the entries instead.
func scanTouched(start, end uintptr, s *pageScratch, touched func(lo, hi uintptr)) bool {
	return scanPages(start, end, s, 0, 0, pageIsPresent|pageIsSwapped, touched)
}

// scanPages calls found(lo, hi) for the ranges of [start, end) whose OS pages' categories, with the bits of
// inverted flipped, have every bit of all and one bit of anyOf, through PAGEMAP_SCAN. It returns false when the
// kernel has no such ioctl or it fails.
func scanPages(start, end uintptr, s *pageScratch, inverted, all, anyOf uint64, found func(lo, hi uintptr)) bool {
	if cap(s.words) < 3*scanRegions {
		s.words = make([]uint64, 3*scanRegions)
	}
	vec := s.words[:3*scanRegions]
	arg := pmScanArg{
		size: uint64(unsafe.Sizeof(pmScanArg{})), start: uint64(start), end: uint64(end),
		vec: uint64(uintptr(unsafe.Pointer(&vec[0]))), vecLen: scanRegions,
		categoryInverted: inverted, categoryMask: all, categoryAnyofMask: anyOf, returnMask: anyOf,
	}
	for {
		r, _, errno := syscall.Syscall(syscall.SYS_IOCTL, pagemap.f.Fd(), pagemapScan, uintptr(unsafe.Pointer(&arg)))
		runtime.KeepAlive(vec)
		if errno != 0 || int(r) > scanRegions {
			return false
		}
		for k := range int(r) {
			found(uintptr(vec[3*k]), uintptr(vec[3*k+1]))
		}
		if arg.walkEnd >= arg.end {
			return true
		}
		if arg.walkEnd <= arg.start {
			return false // no progress
		}
		arg.start = arg.walkEnd
	}
}

// releaseZeroPages gives the touched pages of mem above the data image that hold only zeros back to the kernel
// (MADV_DONTNEED: in a private anonymous mapping they then read as zeros, and are untouched again) and marks
// them in zero. A memory keeps the pages a big message once filled: our aos module zeroes the heap blocks and
// stack copies it frees, and released they cost no scan, hash or RSS afterwards, where still mapped every
// memory hash would read them (~4 ms for the ~30 MB a 9.9 MB message leaves). Pages of the image are never
// released: there the mapping is the module's file, whose content would come back.
func releaseZeroPages(mem []byte, zero []bool, imageEnd uint64) {
	first := int((imageEnd + pageSize - 1) / pageSize)
	n := len(mem) / pageSize
	for i := first; i < n; {
		if zero[i] || !vm.IsZeroPage(mem[i*pageSize:(i+1)*pageSize]) {
			i++
			continue
		}
		j := i + 1
		for j < n && !zero[j] && vm.IsZeroPage(mem[j*pageSize:(j+1)*pageSize]) {
			j++
		}
		if syscall.Madvise(mem[i*pageSize:j*pageSize], syscall.MADV_DONTNEED) == nil {
			for k := i; k < j; k++ {
				zero[k] = true
			}
		}
		i = j
	}
}
