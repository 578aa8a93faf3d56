//go:build !linux

package emscripten

// backing is a base held in a memfd (backing_linux.go); elsewhere bases are private copies.
type backing struct {
	view    []byte
	size    uint64
	nonzero []bool
}

func newBacking(reserve uint64) *backing                         { return nil }
func (b *backing) resize(size uint64) error                      { return nil }
func (b *backing) acquire() *backing                             { return b }
func (b *backing) release()                                      {}
func (b *backing) shared() bool                                  { return false }
func (b *backing) mapUnder(mem []byte, off uint64) error         { return nil }
func dropPrivate(mem []byte) error                               { return nil }
func writtenPages(mem []byte, s *pageScratch, dirty []bool) bool { return false }
