package emscripten

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
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
// Where the kernel allows (backing_linux.go), the base lives in a memfd mapped copy-on-write under the live
// memory: pages not written since the capture are the base's own (no second copy of a model's weights),
// pagemap lists the written ones, so a capture reads, hashes and copies only those, the memory hash takes the
// other pages' leaves from the base without reading them, a rollback maps the memfd under a fresh instance
// and a fork maps it too and copies only what was written since. Elsewhere the base is a private copy of the
// non-zero pages, and a capture shares every page that still equals the previous base's copy and copies (and
// hashes) only the others, after one scan of the memory's touched pages (pages the kernel never mapped are
// known zero without reading them, see untouchedPages). Either way the memory hash (vm.HashMemory) reuses
// the base's leaves. A machine opened fresh starts from a pristine base — start-up itself, rebuilt by
// instantiating — so Open captures nothing; a restored one takes the snapshot's pages as its base.

const (
	pageSize          = 65536
	rebaseFactor      = 32
	minRebaseInterval = 100 * time.Millisecond
	maxJournalBytes   = 64 << 20
)

// page is one non-zero 64 KiB page of a base with its chunk hashes and its leaf (vm.HashMemory): an immutable
// copy, or the backing's page (which changes only when that base is replaced by the next capture).
type page struct {
	idx    uint32
	data   []byte
	chunks *chunkSums
	sum    [32]byte // the page's leaf
}

type chunkSums = [vm.ChunksPerPage][32]byte

// hashPage returns the chunk hashes and leaf of the whole page p, hashing only the chunks that differ from
// old's copy of the page (old may be nil: every chunk is hashed).
func hashPage(p []byte, old *page) (*chunkSums, [32]byte) {
	sums := new(chunkSums)
	for j := range vm.ChunksPerPage {
		c := p[j*vm.ChunkSize : (j+1)*vm.ChunkSize]
		if old != nil && bytes.Equal(c, old.data[j*vm.ChunkSize:(j+1)*vm.ChunkSize]) {
			sums[j] = old.chunks[j]
		} else {
			sums[j] = vm.ChunkSum(c)
		}
	}
	return sums, vm.LeafOf(sums[:])
}

// baseState is immutable once built, so forks share it. A pristine base (no pages, no host state) is the
// state start-up leaves: rebuilding it is instantiating and booting, so Open need not capture anything.
type baseState struct {
	pristine bool
	memSize  uint64
	pages    []page     // increasing idx
	host     *hostState // never mutated; cloned on load
	back     *backing   // nil: pages are private copies; else the pages are back's (the machine holds one use)
}

type journalEntry struct {
	msg, env []byte
	call     *vm.DriveCall // the message's WeaveDrive call, so a replay opens files under it
}

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
	// replayLimit, when not 0, is the Compute-Limit the journal's messages ran under (a fork's own may be
	// lower): rollback replays them under it.
	replayLimit uint64
	hashes      hashCache // the memory as of the last MemoryHash or Snapshot (see memoryHash)
}

// withDriveCache wraps opts.WeaveDrive in a fresh cache owned by m.
func (m *machine) withDriveCache() {
	if m.opts.WeaveDrive == nil {
		return
	}
	if d, ok := m.opts.WeaveDrive.(*driveCache); ok {
		m.drive = d.clone()
	} else {
		m.drive = &driveCache{inner: m.opts.WeaveDrive, files: map[driveKey]vm.DriveFile{}}
	}
	m.opts.WeaveDrive = m.drive
	if m.cur != nil {
		m.cur.opts.WeaveDrive = m.drive
	}
}

var zeroPage = make([]byte, pageSize)

// pagesOf walks the pages of mem in order, pairing each non-zero one with prev's copy of the same page
// when prev has one (prev.pages is sorted, so this is a merge). fn gets the page and the copy (nil
// when there is none), and same when clean (see scanTracked; nil: unknown) says the page equals the copy;
// zero pages are skipped, those zero marks without reading them (see scanMemory).
func pagesOf(mem []byte, zero, clean []bool, prev *baseState, fn func(idx uint32, p []byte, old *page, same bool)) {
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
		fn(idx, p, old, old != nil && int(idx) < len(clean) && clean[idx])
	}
}

// capture takes a base from the instance's current state: in prev's backing when it can change it in place
// (captureInPlace), else in a new backing (captureInto), else as private copies, where pages equal to prev's
// are shared with it (pages are immutable), so a capture copies only what changed since the previous one and
// hashes only the chunks that changed. reserve is the most memory the machine may have; prev may be nil.
func capture(in *instance, prev *baseState, reserve uint64) (*baseState, error) {
	if prev == nil {
		prev = &baseState{pristine: true}
	}
	if b, err := captureInPlace(in, prev); b != nil || err != nil {
		return b, err
	}
	if back := newBacking(reserve); back != nil {
		b, err := captureInto(in, prev, back)
		if err != nil {
			back.release()
		}
		return b, err
	}
	mem, zero := in.scanMemory()
	b := &baseState{memSize: uint64(len(mem)), host: in.host.clone()}
	pagesOf(mem, zero, nil, prev, func(idx uint32, p []byte, old *page, _ bool) {
		if old != nil && bytes.Equal(old.data, p) {
			b.pages = append(b.pages, *old)
			return
		}
		chunks, sum := hashPage(p, old)
		b.pages = append(b.pages, page{idx: idx, data: bytes.Clone(p), chunks: chunks, sum: sum})
	})
	return b, nil
}

// hashCache is a machine's memory as of its last memory hash, page by page with the chunk hashes: the next
// hash compares each page with it and hashes only the chunks written since, then copies them in. It is a
// private, mutable copy (the base's pages are shared with forks and immutable), so keeping it up costs a
// 4 KiB copy per changed chunk, not a 64 KiB page allocation. It holds content with its hashes, so it
// stays right whatever happens to the instance (rollback, restore): a page that differs is rehashed.
type hashCache struct {
	pages []*cachedPage // by page index; nil: none yet
	n     int           // pages held
}

type cachedPage struct {
	data   [pageSize]byte
	chunks chunkSums
	leaf   [32]byte
}

// maxHashCachePages bounds a hash cache (a copy of the non-zero memory): past 64 MiB of non-zero pages, a
// machine's other pages are compared with its base instead (an aos 2.x process has a few MiB).
var maxHashCachePages = 1024

// memoryHash is the memory hash (vm.HashMemory) of mem. Leaves and chunk hashes come from cache (or, for the
// pages past its bound, base) for the pages and chunks identical to their copies there; only the chunks that changed
// are hashed, on every core: a message touches a few bytes of many pages (an aos heap's garbage collector
// marks most live objects), so that is tens to hundreds of 4 KiB chunks, on the path of every attested
// result. The cache is brought up to mem. Pages clean marks (see scanTracked) take base's leaf unread. each,
// when not nil, gets every non-zero page's leaf in increasing order.
func memoryHash(mem []byte, zero, clean []bool, base *baseState, cache *hashCache, each func(idx uint32, leaf [32]byte)) [32]byte {
	type leaf struct {
		idx uint32
		sum [32]byte
		job int // index into jobs; -1 when sum is known
	}
	type job struct {
		p    []byte
		sums *chunkSums  // where the chunk hashes go (the cache page's, or scratch)
		dst  *cachedPage // the cache page to copy changed chunks into; nil past the cache's bound
	}
	type task struct{ job, chunk int }
	var leaves []leaf
	var jobs []job
	var tasks []task
	if len(cache.pages) < len(mem)/pageSize {
		cache.pages = append(cache.pages, make([]*cachedPage, len(mem)/pageSize-len(cache.pages))...)
	}
	pagesOf(mem, zero, clean, base, func(idx uint32, p []byte, old *page, same bool) {
		// Under a backing, a written page often still equals the base (a capture keeps the private copies
		// of the pages it saw change): try the base's leaf first.
		if same || clean != nil && old != nil && bytes.Equal(old.data, p) {
			leaves = append(leaves, leaf{idx: idx, sum: old.sum, job: -1})
			return
		}
		cp := cache.pages[idx]
		if cp == nil && cache.n < maxHashCachePages {
			// First sight: fill the copy from base's (equal chunks keep their hashes), or hash it all.
			cp = new(cachedPage)
			cache.pages[idx], cache.n = cp, cache.n+1
			if old != nil {
				copy(cp.data[:], old.data)
				cp.chunks, cp.leaf = *old.chunks, old.sum
			} else {
				cp.chunks, cp.leaf = vm.ZeroPageChunks, vm.ZeroPageLeaf // cp.data is zero
			}
		}
		var ref []byte // the copy to compare with
		var refSums *chunkSums
		var known [32]byte
		switch {
		case cp != nil:
			ref, refSums, known = cp.data[:], &cp.chunks, cp.leaf
		case old != nil:
			ref, refSums, known = old.data, old.chunks, old.sum
		}
		if ref != nil && bytes.Equal(ref, p) {
			leaves = append(leaves, leaf{idx: idx, sum: known, job: -1})
			return
		}
		j := job{p: p, dst: cp}
		if cp != nil {
			j.sums = &cp.chunks
		} else {
			j.sums = new(chunkSums)
		}
		for c := range vm.ChunksPerPage {
			lo, hi := c*vm.ChunkSize, (c+1)*vm.ChunkSize
			if ref != nil && bytes.Equal(p[lo:hi], ref[lo:hi]) {
				j.sums[c] = refSums[c]
			} else {
				tasks = append(tasks, task{len(jobs), c})
			}
		}
		leaves = append(leaves, leaf{idx: idx, job: len(jobs)})
		jobs = append(jobs, j)
	})
	workers := min(runtime.GOMAXPROCS(0), len(tasks)/64+1) // a goroutine per ~64 chunks at least, or it costs more than it saves
	hashTasks := func(w int) {
		for k := w; k < len(tasks); k += workers {
			t := tasks[k]
			j := &jobs[t.job]
			lo, hi := t.chunk*vm.ChunkSize, (t.chunk+1)*vm.ChunkSize
			c := j.p[lo:hi]
			j.sums[t.chunk] = vm.ChunkSum(c)
			if j.dst != nil {
				copy(j.dst.data[lo:hi], c)
			}
		}
	}
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		wg.Go(func() { hashTasks(w) })
	}
	hashTasks(0)
	wg.Wait()
	h := vm.NewMemoryHasher()
	next := uint32(0) // first page not yet added
	for _, l := range leaves {
		h.ZeroPages(uint64(l.idx - next))
		if l.job >= 0 {
			j := &jobs[l.job]
			l.sum = vm.LeafOf(j.sums[:])
			if j.dst != nil {
				j.dst.leaf = l.sum
			}
		}
		h.Leaf(l.sum)
		if each != nil {
			each(l.idx, l.sum)
		}
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
	if b.back != nil {
		if err := in.mapBacking(b.back, b.memSize); err != nil {
			in.close()
			return nil, err
		}
		in.host, in.drives = b.host.clone(), map[int32]vm.DriveFile{}
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
	b, err := capture(m.cur, m.base, m.reserve())
	if err != nil {
		// The instance's memory may be gone with a failed mapping: nothing can be trusted any more.
		m.broken = fmt.Errorf("machine broken: %w", err)
		return
	}
	if b.back != m.base.back {
		m.base.back.release()
	}
	m.base = b
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
	call := vm.DriveCallOf(ctx)
	if m.drive != nil {
		m.drive.height = callHeight(call)
	}
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
	e := journalEntry{msg: bytes.Clone(msg), call: call}
	if n := len(m.journal); n > 0 && bytes.Equal(m.journal[n-1].env, env) {
		e.env = m.journal[n-1].env
	} else {
		e.env = bytes.Clone(env)
		m.journalBytes += len(env)
	}
	m.journal = append(m.journal, e)
	m.journalBytes += len(msg)
	m.sinceBase += time.Since(start)
	// While a fork shares the base's backing, a capture would copy the whole base: only a full journal forces one.
	if m.journalBytes >= maxJournalBytes || !m.base.back.shared() && m.sinceBase >= max(rebaseFactor*m.captureCost, minRebaseInterval) {
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
	in.opts.ComputeLimit = m.journalLimit()
	defer func() { in.opts.ComputeLimit = m.opts.ComputeLimit }()
	for i, e := range m.journal {
		ctx := context.Background()
		if e.call != nil {
			ctx = vm.WithDriveCall(ctx, e.call)
		}
		if m.drive != nil {
			m.drive.height = callHeight(e.call)
		}
		r, err := in.apply(ctx, e.msg, e.env)
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

// journalLimit is the Compute-Limit the journal's messages ran under.
func (m *machine) journalLimit() uint64 {
	if m.replayLimit != 0 {
		return m.replayLimit
	}
	return m.opts.ComputeLimit
}

// Snapshot implements vm.Machine.
func (m *machine) Snapshot(w io.Writer) ([32]byte, error) {
	if m.cur == nil {
		return [32]byte{}, errors.New("machine is closed")
	}
	mem, zero, clean := m.scan()
	return writeSnapshot(w, m.f.name, m.cm.hash, mem, zero, memoryHash(mem, zero, clean, m.base, &m.hashes, nil), m.cur.host)
}

// SnapshotPaged implements vm.PagedSnapshotter. The pages' keys are their leaves, which the memory hash
// computes anyway (and takes from the base for the pages not written since it): a checkpoint of a process
// holding a model stores and hashes only what changed since the previous one.
func (m *machine) SnapshotPaged(w io.Writer, ps vm.PageStore) ([32]byte, error) {
	if m.cur == nil {
		return [32]byte{}, errors.New("machine is closed")
	}
	mem, zero, clean := m.scan()
	var keys []pageKey
	sum := memoryHash(mem, zero, clean, m.base, &m.hashes, func(idx uint32, leaf [32]byte) {
		keys = append(keys, pageKey{idx, leaf})
	})
	return writePagedSnapshot(w, ps, m.f.name, m.cm.hash, mem, keys, sum, m.cur.host)
}

// MemoryHash implements vm.Machine.
func (m *machine) MemoryHash() [32]byte {
	if m.cur == nil {
		return [32]byte{}
	}
	mem, zero, clean := m.scan()
	return memoryHash(mem, zero, clean, m.base, &m.hashes, nil)
}

// scan is the current instance's scanTracked, with clean only when it is relative to m's base.
func (m *machine) scan() (mem []byte, zero, clean []bool) {
	mem, zero, clean = m.cur.scanTracked()
	if m.base.back == nil || m.cur.mapped.back != m.base.back {
		clean = nil
	}
	return mem, zero, clean
}

// reserve is the most memory m's instances may have: a backing reserves address space for it.
func (m *machine) reserve() uint64 {
	if m.opts.MemoryLimit > 0 && m.opts.MemoryLimit < m.f.heapMax {
		return max(m.opts.MemoryLimit, uint64(len(m.cur.memory())))
	}
	return max(m.f.heapMax, uint64(len(m.cur.memory())))
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
func (m *machine) Fork(fo vm.ForkOptions) (vm.Machine, error) {
	if m.broken != nil {
		return nil, m.broken
	}
	if m.cur == nil {
		return nil, errors.New("machine is closed")
	}
	opts := m.opts
	if fo.ComputeLimit > 0 && (opts.ComputeLimit == 0 || fo.ComputeLimit < opts.ComputeLimit) {
		opts.ComputeLimit, opts.ComputeLimitError = fo.ComputeLimit, fo.ComputeLimitError
	}
	// The journal replays under the limit its messages succeeded under, not the fork's.
	replay := m.journalLimit()
	if replay == 0 {
		replay = math.MaxUint64 // no limit
	}
	child := &machine{f: m.f, cm: m.cm, opts: opts, replayLimit: replay, base: m.base, journal: append([]journalEntry(nil), m.journal...),
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
	m.base.back.acquire()
	if err := forkMemory(in, m.cur, m.base); err != nil {
		in.close()
		m.base.back.release()
		return nil, err
	}
	child.cur = in
	return child, nil
}

// Close implements vm.Machine.
func (m *machine) Close() error {
	m.cur.close()
	m.cur = nil
	if m.base != nil {
		m.base.back.release()
	}
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
	cm, err := compile(wasm, opts.CacheDir, f.meteredAtLoad, lowerFor(f, opts.MemoryLimit), opts.Compiling)
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
func (l loader) Restore(format string, wasm []byte, opts vm.Options, r io.Reader) (vm.Machine, error) {
	return l.RestorePaged(format, wasm, opts, r, nil)
}

// RestorePaged implements vm.PagedRestorer.
func (loader) RestorePaged(format string, wasm []byte, opts vm.Options, r io.Reader, ps vm.PageStore) (vm.Machine, error) {
	m, in, err := booted(format, wasm, opts)
	if err != nil {
		return nil, err
	}
	cm := m.cm
	limit := m.f.heapMax
	if opts.MemoryLimit > 0 && opts.MemoryLimit < limit {
		limit = opts.MemoryLimit
	}
	// Stream the pages into a backing that then becomes the memory, or straight into the booted instance: no
	// intermediate copy of the memory either way.
	var mem []byte
	var img map[uint32]bool
	loaded := map[uint32]bool{}
	back := newBacking(max(limit, m.f.heapMax))
	begin := func(h *snapshotHeader) error {
		if h.Format != format {
			return fmt.Errorf("snapshot is of format %q, not %q", h.Format, format)
		}
		if want := fmt.Sprintf("%x", cm.hash); h.Module != want {
			return fmt.Errorf("snapshot is of module %s, not %s", h.Module, want)
		}
		if back != nil {
			if err := back.resize(h.MemSize); err == nil {
				mem = back.view[:h.MemSize]
				return nil
			}
			back.release()
			back = nil
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
	sink := func(idx uint32, p []byte, chunks *chunkSums, sum [32]byte) {
		dst := mem[uint64(idx)*pageSize : uint64(idx+1)*pageSize]
		copy(dst, p)
		if back != nil {
			back.nonzero[idx] = true
			pages = append(pages, page{idx: idx, data: dst, chunks: chunks, sum: sum})
			return
		}
		loaded[idx] = true
		pages = append(pages, page{idx: idx, data: bytes.Clone(p), chunks: chunks, sum: sum})
	}
	h, err := readPagedSnapshot(r, limit, ps, begin, sink)
	if err == nil && back != nil {
		err = in.mapBacking(back, h.MemSize)
	}
	if err != nil {
		in.close()
		back.release()
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
	m.base = &baseState{memSize: h.MemSize, pages: pages, host: h.Host.clone(), back: back}
	return m, nil
}
