package emscripten

import (
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"

	"github.com/aogo/aogo/aos"
	"github.com/aogo/aogo/vm"
)

// bigLive makes an aos process hold mib MiB of live data spread over many pages (a stand-in for a model's
// weights): strings made of distinct lines, so no page repeats another.
func bigLive(mib int) []byte {
	return evalMsg(fmt.Sprintf(`Weights = {} for i = 1, %d do Weights[i] = string.rep(string.format("%%08d-", i), 128 * 1024 // 9) end return "ok"`, mib*8))
}

// memSum is the SHA-256 of the whole memory: equal sums mean bit-exact memories.
func memSum(m *machine) [32]byte { return sha256.Sum256(m.cur.memory()) }

// written counts the pages of m's memory written since its base was captured (all of them without a backing).
func written(m *machine) (n, nonzero int) {
	_, zero, clean := m.scan()
	for i := range zero {
		if !zero[i] {
			nonzero++
			if clean == nil || i >= len(clean) || !clean[i] {
				n++
			}
		}
	}
	return n, nonzero
}

// memPages is a vm.PageStore in memory that counts what it is given.
type memPages struct {
	pages      map[[32]byte][]byte
	puts, putB int
	flated     int // what the pages take flate-compressed, as the CU stores them
}

func (s *memPages) HasPage(k [32]byte) (bool, error) { _, ok := s.pages[k]; return ok, nil }
func (s *memPages) PutPage(k [32]byte, p []byte) error {
	if s.pages == nil {
		s.pages = map[[32]byte][]byte{}
	}
	s.pages[k] = bytes.Clone(p)
	s.puts++
	s.putB += len(p)
	var z bytes.Buffer
	fw, _ := flate.NewWriter(&z, flate.BestSpeed)
	fw.Write(p)
	fw.Close()
	s.flated += z.Len()
	return nil
}
func (s *memPages) Page(k [32]byte) ([]byte, error) {
	p, ok := s.pages[k]
	if !ok {
		return nil, vm.ErrPageNotFound
	}
	return p, nil
}

// TestPagedSnapshot: a paged snapshot of a process holding 16 MiB stores its pages once; the next, after a
// small message, stores only the pages that changed; each restores to the same memory; a page missing from or
// altered in the store, or no store, is refused.
func TestPagedSnapshot(t *testing.T) {
	m := openBooted(t, ourModule, aos.Format, vm.Options{}).(*machine)
	mustApply(t, m, bigLive(16))
	ps := &memPages{}
	var first bytes.Buffer
	h1, err := m.SnapshotPaged(&first, ps)
	if err != nil {
		t.Fatal(err)
	}
	if h1 != m.MemoryHash() {
		t.Fatal("paged snapshot's memory hash differs")
	}
	_, nonzero := written(m)
	if ps.puts < 16*16 || ps.puts > nonzero {
		t.Fatalf("first snapshot stored %d pages of %d non-zero", ps.puts, nonzero)
	}
	puts1 := ps.puts
	mustApply(t, m, evalMsg(`Counter = 1; return "ok"`))
	var second bytes.Buffer
	h2, err := m.SnapshotPaged(&second, ps)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first snapshot: %d pages stored, stream %d bytes; second: %d pages stored, stream %d bytes",
		puts1, first.Len(), ps.puts-puts1, second.Len())
	if ps.puts-puts1 > 32 {
		t.Fatalf("second snapshot stored %d pages after a small message", ps.puts-puts1)
	}
	wasm := realWasm(t, ourModule)
	for i, c := range []struct {
		snap []byte
		hash [32]byte
	}{{first.Bytes(), h1}, {second.Bytes(), h2}} {
		r, err := vm.RestorePaged(aos.Format, wasm, vm.Options{}, bytes.NewReader(c.snap), ps)
		if err != nil {
			t.Fatal(err)
		}
		if r.MemoryHash() != c.hash {
			t.Fatalf("snapshot %d restores another memory", i+1)
		}
		if got := outputData(t, mustApply(t, r, evalMsg(`return tostring(Counter) .. Weights[3]:sub(1, 9)`))); got != []string{"nil00000003-", "100000003-"}[i] {
			t.Fatalf("snapshot %d: state %q", i+1, got)
		}
		r.Close()
	}
	if _, err := vm.Restore(aos.Format, wasm, vm.Options{}, bytes.NewReader(second.Bytes())); err == nil {
		t.Fatal("a paged snapshot restored without its pages")
	}
	var some [32]byte
	for k := range ps.pages {
		some = k
		break
	}
	saved := ps.pages[some]
	ps.pages[some] = make([]byte, pageSize)
	if _, err := vm.RestorePaged(aos.Format, wasm, vm.Options{}, bytes.NewReader(second.Bytes()), ps); err == nil {
		t.Fatal("a page that does not hash to its key was accepted")
	}
	delete(ps.pages, some)
	if _, err := vm.RestorePaged(aos.Format, wasm, vm.Options{}, bytes.NewReader(second.Bytes()), ps); !errors.Is(err, vm.ErrPageNotFound) {
		t.Fatalf("a missing page: %v", err)
	}
	ps.pages[some] = saved
}
