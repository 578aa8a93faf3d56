package emscripten

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/aogo/aogo/vm"
)

// Rollback without copying memory per message
//
// A machine keeps one hot instance and never copies its memory on the happy path. To honour "an
// errored message leaves the state as before it", it also keeps a base: an immutable sparse copy of the
// memory (non-zero 64 KiB pages) and host state at some earlier point, plus the journal of the messages
// applied successfully since then. When a message fails, the instance (possibly half-updated, or
// trapped mid-call) is thrown away and the state is rebuilt: fresh instance, base loaded, journal
// replayed. Evaluation is deterministic (fuel, no clock, immutable WeaveDrive data), so the replay ends
// exactly in the pre-message state; a replayed message that does not succeed again is reported as a
// broken machine rather than hidden.
//
// The base is re-taken when replaying the journal would cost noticeably more than taking it: when the
// evaluation time since the base exceeds rebaseFactor × the time the last capture took (and at least
// minRebaseInterval), or the journal holds maxJournalBytes. That keeps capture overhead at a few percent
// of evaluation time and bounds the cost of a rollback to a small multiple of one capture.
//
// Captures are incremental: the base's pages are immutable and carry their SHA-256, so a capture shares
// every page that still equals the previous base's copy and copies (and hashes) only the others; the
// memory hash (vm.HashMemory) reuses the same leaves. Both cost one scan of the memory's touched pages
// (pages the kernel never mapped are known zero without reading them, see untouchedPages; elsewhere a
// zero check or memcmp at memory speed, after one prefault) plus work proportional to what changed. A machine opened fresh starts from a pristine base — start-up itself, rebuilt by
// instantiating — so Open captures nothing; a restored one takes the snapshot's pages as its base.

const (
	pageSize          = 65536
	rebaseFactor      = 32
	minRebaseInterval = 100 * time.Millisecond
	maxJournalBytes   = 64 << 20
)

// page is an immutable copy of one non-zero 64 KiB page with its SHA-256 (its memory-hash leaf).
type page struct {
	idx  uint32
	data []byte
	sum  [32]byte
}

// baseState is immutable once built, so forks share it. A pristine base (no pages, no host state) is the
// state start-up leaves: rebuilding it is instantiating and booting, so Open need not capture anything.
type baseState struct {
	pristine bool
	memSize  uint64
	pages    []page     // increasing idx
	host     *hostState // never mutated; cloned on load
}

type journalEntry struct{ msg, env []byte }

type machine struct {
	f    *format
	cm   *compiledModule
	opts vm.Options

	cur          *instance
	base         *baseState
	journal      []journalEntry
	journalBytes int
	sinceBase    time.Duration
	captureCost  time.Duration
	broken       error
	drive        *driveCache // nil without WeaveDrive; opts.WeaveDrive points at it
}

// withDriveCache wraps opts.WeaveDrive in a fresh cache owned by m.
func (m *machine) withDriveCache() {
	if m.opts.WeaveDrive == nil {
		return
	}
	if d, ok := m.opts.WeaveDrive.(*driveCache); ok {
		m.drive = d.clone()
	} else {
		m.drive = &driveCache{inner: m.opts.WeaveDrive, files: map[string]vm.DriveFile{}}
	}
	m.opts.WeaveDrive = m.drive
	if m.cur != nil {
		m.cur.opts.WeaveDrive = m.drive
	}
}

var zeroPage = make([]byte, pageSize)

// pagesOf walks the pages of mem in order, pairing each non-zero one with prev's copy of the same page
// when prev has one (prev.pages is sorted, so this is a merge). fn gets the page and the copy (nil
// when there is none); zero pages are skipped, those zero marks without reading them (see scanMemory).
func pagesOf(mem []byte, zero []bool, prev *baseState, fn func(idx uint32, p []byte, old *page)) {
	var olds []page
	if prev != nil {
		olds = prev.pages
	}
	for off := 0; off+pageSize <= len(mem); off += pageSize {
		if isZeroPage(mem, zero, off/pageSize) {
			continue
		}
		p := mem[off : off+pageSize]
		idx := uint32(off / pageSize)
		for len(olds) > 0 && olds[0].idx < idx {
			olds = olds[1:]
		}
		var old *page
		if len(olds) > 0 && olds[0].idx == idx {
			old = &olds[0]
		}
		fn(idx, p, old)
	}
}

// capture takes a base from the instance's current state. Pages equal to prev's are shared with it
// (pages are immutable), so a capture copies and hashes only what changed since the previous one.
func capture(in *instance, prev *baseState) *baseState {
	mem, zero := in.scanMemory()
	b := &baseState{memSize: uint64(len(mem)), host: in.host.clone()}
	pagesOf(mem, zero, prev, func(idx uint32, p []byte, old *page) {
		if old != nil && bytes.Equal(old.data, p) {
			b.pages = append(b.pages, *old)
			return
		}
		b.pages = append(b.pages, page{idx: idx, data: bytes.Clone(p), sum: sha256.Sum256(p)})
	})
	return b
}

// memoryHash is the memory hash (vm.HashMemory) of mem, taking the leaves of the pages base holds an
// identical copy of from base instead of hashing them again. The pages that changed are hashed on every
// core: an aos heap's garbage collector touches most live pages, so after a few messages that is dozens of
// 64 KiB pages (~1 ms of SHA-256), on the path of every attested result.
func memoryHash(mem []byte, zero []bool, base *baseState) [32]byte {
	type leaf struct {
		idx     uint32
		sum     [32]byte
		changed []byte // page to hash; nil when sum is known
	}
	var leaves []leaf
	changed := 0
	pagesOf(mem, zero, base, func(idx uint32, p []byte, old *page) {
		if old != nil && bytes.Equal(old.data, p) {
			leaves = append(leaves, leaf{idx: idx, sum: old.sum})
			return
		}
		leaves = append(leaves, leaf{idx: idx, changed: p})
		changed++
	})
	workers := min(runtime.GOMAXPROCS(0), changed/8+1) // a goroutine per ~8 pages at least, or it costs more than it saves
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			k := 0
			for i := range leaves {
				if leaves[i].changed == nil {
					continue
				}
				if k%workers == w {
					leaves[i].sum = sha256.Sum256(leaves[i].changed)
				}
				k++
			}
		})
	}
	wg.Wait()
	h := vm.NewMemoryHasher()
	next := uint32(0) // first page not yet added
	for _, l := range leaves {
		h.ZeroPages(uint64(l.idx - next))
		h.Leaf(l.sum)
		next = l.idx + 1
	}
	h.ZeroPages(uint64(len(mem)/pageSize) - uint64(next))
	return h.Sum()
}

// instantiateBase builds a booted instance holding the base state.
func (m *machine) instantiateBase(b *baseState) (*instance, error) {
	in, err := newInstance(m.cm, m.f, m.opts)
	if err != nil {
		return nil, err
	}
	if err := in.boot(); err != nil {
		in.close()
		return nil, fmt.Errorf("start-up: %w", err)
	}
	if b.pristine {
		return in, nil
	}
	if err := in.loadPages(b.memSize, b.pages, b.host.clone()); err != nil {
		in.close()
		return nil, err
	}
	return in, nil
}

func (m *machine) rebase() {
	start := time.Now()
	m.base = capture(m.cur, m.base)
	m.captureCost = time.Since(start)
	m.journal, m.journalBytes, m.sinceBase = nil, 0, 0
	if m.drive != nil {
		clear(m.drive.files)
	}
}

// Apply implements vm.Machine.
func (m *machine) Apply(ctx context.Context, msg, env []byte) (vm.Result, error) {
	if m.broken != nil {
		return vm.Result{}, m.broken
	}
	if m.cur == nil {
		return vm.Result{}, errors.New("machine is closed")
	}
	start := time.Now()
	res, err := m.cur.apply(ctx, msg, env)
	if err != nil || res.Error != "" {
		if rerr := m.rollback(); rerr != nil {
			m.broken = fmt.Errorf("machine broken: rollback failed: %w", rerr)
			if err == nil {
				err = m.broken
			}
		}
		return res, err
	}
	// A process's env is the same for every message: keep one copy of it in the journal.
	e := journalEntry{msg: bytes.Clone(msg)}
	if n := len(m.journal); n > 0 && bytes.Equal(m.journal[n-1].env, env) {
		e.env = m.journal[n-1].env
	} else {
		e.env = bytes.Clone(env)
		m.journalBytes += len(env)
	}
	m.journal = append(m.journal, e)
	m.journalBytes += len(msg)
	m.sinceBase += time.Since(start)
	if m.journalBytes >= maxJournalBytes || m.sinceBase >= max(rebaseFactor*m.captureCost, minRebaseInterval) {
		m.rebase()
	}
	return res, nil
}

// rollback rebuilds the hot instance as base + journal.
func (m *machine) rollback() error {
	m.cur.close()
	m.cur = nil
	in, err := m.instantiateBase(m.base)
	if err != nil {
		return err
	}
	for i, e := range m.journal {
		r, err := in.apply(context.Background(), e.msg, e.env)
		if err == nil && r.Error != "" {
			err = fmt.Errorf("message replayed with a different outcome: %s", r.Error)
		}
		if err != nil {
			in.close()
			return fmt.Errorf("replay journal entry %d of %d: %w", i+1, len(m.journal), err)
		}
	}
	m.cur = in
	return nil
}

// Snapshot implements vm.Machine.
func (m *machine) Snapshot(w io.Writer) ([32]byte, error) {
	if m.cur == nil {
		return [32]byte{}, errors.New("machine is closed")
	}
	mem, zero := m.cur.scanMemory()
	return writeSnapshot(w, m.f.name, m.cm.hash, mem, zero, memoryHash(mem, zero, m.base), m.cur.host)
}

// MemoryHash implements vm.Machine.
func (m *machine) MemoryHash() [32]byte {
	if m.cur == nil {
		return [32]byte{}
	}
	mem, zero := m.cur.scanMemory()
	return memoryHash(mem, zero, m.base)
}

// WriteMemory implements vm.Machine.
func (m *machine) WriteMemory(w io.Writer) error {
	if m.cur == nil {
		return errors.New("machine is closed")
	}
	// Untouched pages are written from a zero buffer: reading them would fault them in for nothing.
	mem, zero := m.cur.scanMemory()
	for off := 0; off < len(mem); {
		end := min(off+pageSize, len(mem))
		p := mem[off:end]
		if zero != nil && off/pageSize < len(zero) && zero[off/pageSize] {
			p = zeroPage[:end-off]
		}
		if _, err := w.Write(p); err != nil {
			return err
		}
		off = end
	}
	return nil
}

// MemorySize implements vm.Machine.
func (m *machine) MemorySize() uint64 {
	if m.cur == nil {
		return 0
	}
	return uint64(len(m.cur.memory()))
}

// Fork implements vm.Machine: a new instance with a copy of the current memory and host state. It
// shares the (immutable) base and copies the journal, so its own rollbacks work without touching us.
func (m *machine) Fork() (vm.Machine, error) {
	if m.broken != nil {
		return nil, m.broken
	}
	if m.cur == nil {
		return nil, errors.New("machine is closed")
	}
	child := &machine{f: m.f, cm: m.cm, opts: m.opts, base: m.base, journal: append([]journalEntry(nil), m.journal...),
		journalBytes: m.journalBytes, sinceBase: m.sinceBase, captureCost: m.captureCost}
	child.withDriveCache()
	in, err := newInstance(m.cm, m.f, child.opts)
	if err != nil {
		return nil, err
	}
	if err := in.boot(); err != nil {
		in.close()
		return nil, fmt.Errorf("start-up: %w", err)
	}
	mem, zero := m.cur.scanMemory()
	if err := in.loadMemory(mem, zero, m.cur.host.clone()); err != nil {
		in.close()
		return nil, err
	}
	child.cur = in
	return child, nil
}

// Close implements vm.Machine.
func (m *machine) Close() error {
	m.cur.close()
	m.cur = nil
	m.base, m.journal = nil, nil
	return nil
}

// loader registers every format with vm.
type loader struct{}

func init() {
	for name := range formats {
		vm.Register(name, loader{})
	}
}

func lookupFormat(name string) (*format, error) {
	f, ok := formats[name]
	if !ok {
		return nil, fmt.Errorf("%w %q", vm.ErrUnknownFormat, name)
	}
	return f, nil
}

// booted compiles wasm for format (cached) and returns a machine with a fresh instance that has run start-up,
// not yet its current one: what Open and Restore both begin with.
func booted(format string, wasm []byte, opts vm.Options) (*machine, *instance, error) {
	f, err := lookupFormat(format)
	if err != nil {
		return nil, nil, err
	}
	cm, err := compile(wasm, opts.CacheDir, f.meteredAtLoad)
	if err != nil {
		return nil, nil, err
	}
	m := &machine{f: f, cm: cm, opts: opts}
	m.withDriveCache()
	in, err := newInstance(cm, f, m.opts)
	if err != nil {
		return nil, nil, err
	}
	if err := in.boot(); err != nil {
		in.close()
		return nil, nil, fmt.Errorf("start-up: %w", err)
	}
	return m, in, nil
}

// Open implements vm.Loader.
func (loader) Open(format string, wasm []byte, opts vm.Options) (vm.Machine, error) {
	m, in, err := booted(format, wasm, opts)
	if err != nil {
		return nil, err
	}
	in.bootImage() // while pristine
	m.cur = in
	// The base is start-up itself: nothing to capture until the journal grows (see Apply).
	m.base = &baseState{pristine: true}
	return m, nil
}

// Restore implements vm.Loader.
func (loader) Restore(format string, wasm []byte, opts vm.Options, r io.Reader) (vm.Machine, error) {
	m, in, err := booted(format, wasm, opts)
	if err != nil {
		return nil, err
	}
	cm := m.cm
	limit := m.f.heapMax
	if opts.MemoryLimit > 0 && opts.MemoryLimit < limit {
		limit = opts.MemoryLimit
	}
	// Stream the pages straight into the booted instance: no intermediate copy of the memory.
	var mem []byte
	var img map[uint32]bool
	loaded := map[uint32]bool{}
	begin := func(h *snapshotHeader) error {
		if h.Format != format {
			return fmt.Errorf("snapshot is of format %q, not %q", h.Format, format)
		}
		if want := fmt.Sprintf("%x", cm.hash); h.Module != want {
			return fmt.Errorf("snapshot is of module %s, not %s", h.Module, want)
		}
		img = in.bootImage()
		if err := in.grow(h.MemSize); err != nil {
			return err
		}
		mem = in.memory()
		return nil
	}
	// The loaded pages are also the base: the memory is exactly them and zeros.
	var pages []page
	sink := func(idx uint32, p []byte, sum [32]byte) {
		copy(mem[uint64(idx)*pageSize:], p)
		loaded[idx] = true
		pages = append(pages, page{idx: idx, data: bytes.Clone(p), sum: sum})
	}
	h, err := readSnapshot(r, limit, begin, sink)
	if err != nil {
		in.close()
		return nil, err
	}
	for idx := range img {
		if !loaded[idx] {
			clear(mem[uint64(idx)*pageSize : uint64(idx+1)*pageSize])
		}
	}
	in.host = h.Host
	in.drives = map[int32]vm.DriveFile{}
	m.cur = in
	m.base = &baseState{memSize: h.MemSize, pages: pages, host: h.Host.clone()}
	return m, nil
}
