//go:build !linux

package emscripten

// untouchedPages cannot ask the kernel outside Linux: every page is read.
func untouchedPages(mem []byte, imageEnd uint64, s *pageScratch) []bool { return nil }

// releaseZeroPages has nothing to do where untouchedPages tells nothing.
func releaseZeroPages(mem []byte, zero []bool, imageEnd uint64) {}
