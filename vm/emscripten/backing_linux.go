//go:build linux

package emscripten

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A base in a memfd, mapped under the live memory
//
// A base used to be a private copy of every non-zero page: for a process holding a model (the llama module: a
// 1.2 GB wasm64 memory, the weights in it) that doubles its RSS, and every capture compared the whole memory
// with the previous base to find what changed. A backing instead holds the base in a memfd, and the live
// instance's memory is a private (copy-on-write) mapping of it (mmap MAP_FIXED over wasmtime's pages, which are
// ours to fill). Three things follow from the kernel's copy-on-write:
//   - a page the guest never wrote since the capture is the memfd's page: the base costs no second copy of it;
//   - a page it wrote became a private anonymous page: /proc/self/pagemap tells them apart (PAGEMAP_SCAN's
//     PAGE_IS_FILE, or bit 61 of the entries), so the pages written since the capture are known without
//     reading memory. A capture copies those into the memfd and drops the private copies (MADV_DONTNEED: the
//     mapping reads the memfd again), so it costs what the messages touched;
//   - a rollback maps the memfd under a fresh instance: nothing is copied.
// Writes the kernel makes on the guest's behalf go through the same page tables, and reads never make a page
// look written, so the only error the tracking can make is calling a page written when it is not (a zero page
// mapped on a read, a swapped file page), which costs a compare, never a wrong state. Where any of it is
// missing (no memfd, no pagemap, the self-test below fails) bases are private copies as before.
//
// A backing changes in place only while one machine uses it: a fork shares its parent's base, and the first of
// them to capture again while it is shared copies the base into a backing of its own.

// backing is a base held in a memfd.
type backing struct {
	fd      int
	view    []byte // the whole reservation, MAP_SHARED: base pages are slices of it
	size    uint64 // the memfd's size (the base's memory size)
	nonzero []bool // by page: the memfd's page is not all zeros (base.pages lists exactly these)
	// users counts the bases (one per machine) on the backing, mappers the instances it is mapped under: an
	// instance whose machine has moved to another base must still see this one unchanged.
	users, mappers atomic.Int32
}

var backingsOK = sync.OnceValue(backingSelfTest)

// newBacking makes an empty backing able to hold up to reserve bytes, or returns nil when backings cannot be
// used here. Its one user is the caller.
func newBacking(reserve uint64) *backing {
	if backingsOff || !backingsOK() {
		return nil
	}
	return openBacking(reserve)
}

func openBacking(reserve uint64) *backing {
	reserve = (reserve + pageSize - 1) / pageSize * pageSize
	fd, err := unix.MemfdCreate("aogo-base", unix.MFD_CLOEXEC)
	if err != nil {
		return nil
	}
	view, err := unix.Mmap(fd, 0, int(reserve), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_NORESERVE)
	if err != nil {
		unix.Close(fd)
		return nil
	}
	b := &backing{fd: fd, view: view}
	b.users.Store(1)
	return b
}

// resize grows the memfd to size bytes (new pages read as zeros).
func (b *backing) resize(size uint64) error {
	if size > uint64(len(b.view)) {
		return fmt.Errorf("memory of %d bytes is beyond the base's reservation of %d", size, len(b.view))
	}
	if size <= b.size {
		return nil
	}
	if err := unix.Ftruncate(b.fd, int64(size)); err != nil {
		return fmt.Errorf("grow base memfd: %w", err)
	}
	b.size = size
	if n := int(size / pageSize); n > len(b.nonzero) {
		b.nonzero = append(b.nonzero, make([]bool, n-len(b.nonzero))...)
	}
	return nil
}

func (b *backing) acquire() *backing {
	if b != nil {
		b.users.Add(1)
	}
	return b
}

// release drops one user; the last one unmaps the view and closes the memfd (instances that still map it keep
// their pages: the kernel holds the file while it is mapped, and nonzero stays).
func (b *backing) release() {
	if b == nil || b.users.Add(-1) != 0 {
		return
	}
	unix.Munmap(b.view)
	unix.Close(b.fd)
	b.view = nil
}

// shared reports whether b is used by more than one base or mapped under more than one instance: then it
// must not change (a machine changes it only under its own instance).
func (b *backing) shared() bool { return b != nil && (b.users.Load() > 1 || b.mappers.Load() > 1) }

func (b *backing) mappedUnder() {
	if b != nil {
		b.mappers.Add(1)
	}
}

func (b *backing) unmapped() {
	if b != nil {
		b.mappers.Add(-1)
	}
}

// mapUnder maps the memfd's bytes [off, off+len(mem)) privately over mem, which must be page-aligned wasm
// memory of the caller's instance: its content becomes the memfd's, copy-on-write. Like wasmtime's own
// mappings it reserves no swap: a multi-GB memory costs commit charge only for the pages written.
func (b *backing) mapUnder(mem []byte, off uint64) error {
	if len(mem) == 0 {
		return nil
	}
	addr := uintptr(unsafe.Pointer(&mem[0]))
	r, _, errno := syscall.Syscall6(syscall.SYS_MMAP, addr, uintptr(len(mem)), syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_FIXED|syscall.MAP_NORESERVE, uintptr(b.fd), uintptr(off))
	if errno != 0 {
		return fmt.Errorf("map base under memory: %w", errno)
	}
	if r != addr {
		return fmt.Errorf("map base under memory: mapped at %#x, not %#x", r, addr)
	}
	return nil
}

// dropPrivate discards the private copies of mem's pages: they read the mapped memfd again.
func dropPrivate(mem []byte) error {
	return syscall.Madvise(mem, syscall.MADV_DONTNEED)
}

// PAGEMAP_SCAN's PAGE_IS_FILE: a present page that is not anonymous (here: the memfd's own page).
const pageIsFile = 1 << 2

// pmFile is bit 61 of a pagemap entry: file page or shared anonymous.
const pmFile = 1 << 61

// writtenPages marks in dirty (one flag per 64 KiB page of mem, which a backing is mapped under) the pages
// holding a private page: written since they were mapped or dropped. It returns false when it cannot tell.
func writtenPages(mem []byte, s *pageScratch, dirty []bool) bool {
	pagemap.once.Do(openPagemap)
	if pagemap.f == nil || len(mem) == 0 {
		return false
	}
	addr := uintptr(unsafe.Pointer(&mem[0]))
	if addr%uintptr(pagemap.osPage) != 0 {
		return false
	}
	n := len(mem) / pageSize
	clear(dirty[:n])
	if !pagemap.noScan.Load() {
		// Present or swapped, and not a file page.
		if scanPages(addr, addr+uintptr(n*pageSize), s, pageIsFile, pageIsFile, pageIsPresent|pageIsSwapped, func(lo, hi uintptr) {
			for i := int((lo - addr) / pageSize); i < n && uintptr(i*pageSize) < hi-addr; i++ {
				dirty[i] = true
			}
		}) {
			return true
		}
		clear(dirty[:n])
	}
	perWasm := pageSize / pagemap.osPage
	buf := s.bytes(n * perWasm * 8)
	if got, err := pagemap.f.ReadAt(buf, int64(addr/uintptr(pagemap.osPage))*8); err != nil || got != len(buf) {
		return false
	}
	for i := range n {
		for j := range perWasm {
			e := binary.LittleEndian.Uint64(buf[(i*perWasm+j)*8:])
			if e&pmSwap != 0 || e&pmPresent != 0 && e&pmFile == 0 {
				dirty[i] = true
				break
			}
		}
	}
	return true
}

// backingSelfTest checks, once, that this kernel does what backings rely on: a private mapping of a memfd reads
// its content, pagemap tells a written page from a read and an untouched one, and MADV_DONTNEED brings the
// memfd's content back.
func backingSelfTest() bool {
	b := openBacking(4 * pageSize)
	if b == nil {
		return false
	}
	defer b.release()
	if b.resize(3*pageSize) != nil {
		return false
	}
	b.view[10] = 7
	b.view[pageSize+10] = 8
	mem, err := unix.Mmap(-1, 0, 3*pageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return false
	}
	defer unix.Munmap(mem)
	if b.mapUnder(mem, 0) != nil || mem[10] != 7 {
		return false
	}
	mem[pageSize+11] = 9 // written; page 0 read; page 2 untouched
	var s pageScratch
	dirty := make([]bool, 3)
	if !writtenPages(mem, &s, dirty) || dirty[0] || !dirty[1] || dirty[2] {
		return false
	}
	if dropPrivate(mem[pageSize:2*pageSize]) != nil || mem[pageSize+11] != 0 || mem[pageSize+10] != 8 {
		return false
	}
	return writtenPages(mem, &s, dirty) && !dirty[1]
}
