package emscripten

import (
	"syscall"
	"unsafe"
)

// madvPopulateRead is MADV_POPULATE_READ (Linux 5.14): fault in page tables for reading, in one call.
const madvPopulateRead = 22

// prefault maps b's pages for reading ahead of a scan. A fresh instance's heap is untouched anonymous
// memory: scanning it page by page takes one page fault per 4 KiB (≈0.5 s for a 70 MB aos heap on a
// loaded VM) where one madvise call takes a few ms. It changes no content; on older kernels it fails
// and the scan just faults as before.
func prefault(b []byte) {
	if len(b) == 0 {
		return
	}
	_, _, _ = syscall.Syscall(syscall.SYS_MADVISE, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), madvPopulateRead)
}
