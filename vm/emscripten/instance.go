package emscripten

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/aogo/aogo/vm"
	"github.com/bytecodealliance/wasmtime-go/v39"
)

// hostState is the glue state that is not in linear memory but that the guest can observe: the Date.now
// counter, tempRet0, the once-only tzset, and MEMFS. It is snapshotted with the memory.
type hostState struct {
	Clock       uint64 `json:"clock"`
	TempRet0    uint32 `json:"tempRet0,omitempty"`
	TzsetCalled bool   `json:"tzsetCalled,omitempty"`
	FS          *memFS `json:"fs"`
}

func (h *hostState) clone() *hostState {
	c := *h
	c.FS = h.FS.clone()
	return &c
}

// clockStart is where the glue's Date.now counter starts (TIME = 1e4).
const clockStart = 10000

// defaultGasLimit is every glue's DEFAULT_GAS_LIMIT, used when no Compute-Limit is given.
const defaultGasLimit = 9e15

// fuelUnlimited is the fuel of an Apply without Compute-Limit (and of start-up): large enough never to
// run out in practice, small enough that wasmtime's signed fuel arithmetic cannot overflow.
const fuelUnlimited = uint64(1) << 62

type exports struct {
	handle, main, ctors, malloc, setThrew *wasmtime.Func
	stackSave, stackRestore, stackAlloc   *wasmtime.Func
	stackInit, stackEnd, tempretSet       *wasmtime.Func
	errnoLocation                         *wasmtime.Func
}

// instance is one wasmtime store + instance of a module with its host state. Machines own instances.
type instance struct {
	f     *format
	cm    *compiledModule
	opts  vm.Options
	store *wasmtime.Store
	intr  *interrupter // the store's epoch-interrupt flag (interrupt.go)
	mem   *wasmtime.Memory
	table *wasmtime.Table
	exp   exports
	host  *hostState
	// drives holds the open WeaveDrive files; not state (reopened by path when missing).
	drives map[int32]vm.DriveFile
	// prefaulted is how many bytes of memory scanMemory has prefaulted (memory only grows).
	prefaulted int
	scratch    pageScratch // scanMemory's buffers
	mapped     mapping     // the base's backing mapped under the memory, if any (track.go)
	// sigs caches the parameter types of the exports we call (keyed by the *Func in exp).
	sigs map[*wasmtime.Func][]wasmtime.ValKind

	// per call
	ctx      context.Context
	pending  error // first root cause of a trap raised by a host function
	longjmp  bool  // _emscripten_throw_longjmp is unwinding to the nearest invoke_*
	gasUsed  uint64
	gasLimit uint64
	metered  bool // the module imports metering.usegas
	// gas and gasLimitG are the counter and limit globals meterModule adds to modules of the metering formats
	// and inlineUsegas to modules that meter themselves (nil otherwise).
	gas, gasLimitG *wasmtime.Global
}

// newInstance instantiates cm. It runs no guest code.
func newInstance(cm *compiledModule, f *format, opts vm.Options) (in *instance, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("instantiate: wasmtime panic: %v", r)
		}
	}()
	if cm.mem64 != f.mem64 && !(f.mem64 && cm.lowered) {
		return nil, fmt.Errorf("module memory is %s but format %s expects %s", bits(cm.mem64), f.name, bits(f.mem64))
	}
	in = &instance{f: f, cm: cm, opts: opts, drives: map[int32]vm.DriveFile{}, ctx: context.Background()}
	in.host = &hostState{Clock: clockStart, FS: newMemFS(f.main == mainNone)}
	in.store = wasmtime.NewStore(sharedEngine())
	if in.intr, err = newInterrupter(in.store); err != nil {
		in.store.Close()
		return nil, err
	}
	if opts.MemoryLimit > 0 {
		lim := opts.MemoryLimit
		if lim > math.MaxInt64 {
			lim = math.MaxInt64
		}
		in.store.Limiter(int64(lim), -1, -1, -1, -1)
	}
	externs := make([]wasmtime.AsExtern, len(cm.imports))
	for i, imp := range cm.imports {
		name := imp.name
		if !imp.isFunc {
			in.close()
			return nil, fmt.Errorf("unsupported import %s.%s: only functions can be imported", imp.module, name)
		}
		ft := imp.funcType()
		host := name
		if imp.module == "a" && f.minified {
			host = v1ImportName(name, ft)
		}
		if imp.module == "metering" {
			in.metered = true
		}
		fn := lookupHost(imp.module, host, imp.params)
		if host == "" {
			fn = unsupported(imp.module, name)
		}
		externs[i] = wasmtime.NewFunc(in.store, ft, in.callHost(imp.module+"."+name, fn, imp.results))
	}
	inst, err := wasmtime.NewInstance(in.store, cm.module, externs)
	if err != nil {
		in.close()
		return nil, fmt.Errorf("instantiate: %s", oneLine(err))
	}
	if err := in.bindExports(inst); err != nil {
		in.close()
		return nil, err
	}
	return in, nil
}

func bits(mem64 bool) string {
	if mem64 {
		return "memory64"
	}
	return "memory32"
}

func (in *instance) bindExports(inst *wasmtime.Instance) error {
	byName := map[string]*wasmtime.Extern{}
	exts := inst.Exports(in.store)
	for i, et := range in.cm.module.Exports() {
		ext := exts[i]
		byName[et.Name()] = ext
		if m := ext.Memory(); m != nil && in.mem == nil {
			in.mem = m
		}
		if t := ext.Table(); t != nil && in.table == nil {
			in.table = t
		}
	}
	if m := byName["memory"]; m != nil && m.Memory() != nil {
		in.mem = m.Memory()
	}
	if t := byName["__indirect_function_table"]; t != nil && t.Table() != nil {
		in.table = t.Table()
	}
	fn := func(names ...string) *wasmtime.Func {
		for _, n := range names {
			if e := byName[n]; e != nil && e.Func() != nil {
				return e.Func()
			}
		}
		return nil
	}
	// v1 builds export minified letters; map them (checking signatures) unless names are present.
	v1 := func(name string) *wasmtime.Func {
		if f := fn(name); f != nil || !in.f.minified {
			return f
		}
		e := v1Exports[name]
		if f := fn(e.letter); f != nil && sigOf(f.Type(in.store)) == e.sig {
			return f
		}
		return nil
	}
	in.exp = exports{
		handle:        v1("handle"),
		main:          v1("main"),
		ctors:         v1("__wasm_call_ctors"),
		malloc:        v1("malloc"),
		setThrew:      v1("setThrew"),
		stackSave:     fn("emscripten_stack_get_current"),
		stackRestore:  fn("_emscripten_stack_restore"),
		stackAlloc:    fn("_emscripten_stack_alloc"),
		stackInit:     fn("emscripten_stack_init"),
		stackEnd:      fn("emscripten_stack_get_end"),
		tempretSet:    fn("_emscripten_tempret_set"),
		errnoLocation: v1("__errno_location"),
	}
	if in.exp.stackSave == nil {
		in.exp.stackSave = v1("stackSave")
	}
	if in.exp.stackRestore == nil {
		in.exp.stackRestore = v1("stackRestore")
	}
	if in.exp.stackAlloc == nil {
		in.exp.stackAlloc = v1("stackAlloc")
	}
	if g := byName[meterGasExport]; g != nil && g.Global() != nil {
		if l := byName[meterLimitExp]; l != nil && l.Global() != nil {
			in.gas, in.gasLimitG = g.Global(), l.Global()
		}
	}
	switch {
	case in.mem == nil:
		return errors.New("module exports no memory")
	case in.table == nil:
		return errors.New("module exports no function table")
	case in.exp.handle == nil:
		return errors.New("module exports no handle function")
	case in.exp.stackSave == nil || in.exp.stackRestore == nil || in.exp.stackAlloc == nil:
		return errors.New("module exports no stack save/restore/alloc functions")
	}
	return nil
}

// callExport calls fn with uint64 arguments converted to its parameter types; store is the Store, or the
// Caller when called from inside a host function. A trap becomes an error (the cause is in.pending).
func (in *instance) callExport(store wasmtime.Storelike, fn *wasmtime.Func, args ...any) (uint64, error) {
	params := in.paramKinds(store, fn)
	if len(params) != len(args) {
		return 0, fmt.Errorf("export takes %d arguments, got %d", len(params), len(args))
	}
	conv := make([]interface{}, len(args))
	for i, kind := range params {
		var x uint64
		switch a := args[i].(type) {
		case uint64:
			x = a
		case int32:
			x = uint64(int64(a))
		case int:
			x = uint64(int64(a))
		}
		if kind == wasmtime.KindI64 {
			conv[i] = int64(x)
		} else {
			conv[i] = int32(uint32(x))
		}
	}
	res, err := fn.Call(store, conv...)
	if err != nil {
		return 0, err
	}
	switch r := res.(type) {
	case int32:
		return uint64(uint32(r)), nil
	case int64:
		return uint64(r), nil
	}
	return 0, nil
}

// paramKinds is fn's parameter types, looked up once per export: asking wasmtime costs several cgo
// calls and finalizer-tracked allocations, on every message.
func (in *instance) paramKinds(store wasmtime.Storelike, fn *wasmtime.Func) []wasmtime.ValKind {
	if k, ok := in.sigs[fn]; ok {
		return k
	}
	params := fn.Type(store).Params()
	kinds := make([]wasmtime.ValKind, len(params))
	for i, p := range params {
		kinds[i] = p.Kind()
	}
	if in.sigs == nil {
		in.sigs = map[*wasmtime.Func][]wasmtime.ValKind{}
	}
	in.sigs[fn] = kinds
	return kinds
}

// Helpers for host functions; a failure stops the guest.
func (in *instance) must(store wasmtime.Storelike, fn *wasmtime.Func, args ...any) uint64 {
	r, err := in.callExport(store, fn, args...)
	if err != nil {
		if in.pending == nil {
			in.pending = err
		}
		stop(in.pending)
	}
	return r
}

func (in *instance) stackSave(c wasmtime.Storelike) uint64 { return in.must(c, in.exp.stackSave) }
func (in *instance) stackRestore(c wasmtime.Storelike, sp uint64) {
	in.must(c, in.exp.stackRestore, sp)
}
func (in *instance) setThrew(c wasmtime.Storelike, threw uint64, value int32) {
	if in.exp.setThrew == nil {
		stop(errors.New("setjmp/longjmp needs the setThrew export"))
	}
	in.must(c, in.exp.setThrew, threw, value)
}

func (in *instance) viewOf(c wasmtime.Storelike) view {
	return view{b: in.mem.UnsafeData(c), mem64: in.f.mem64}
}

// mallocBytes copies b into a fresh malloc'ed block (what the glue's allocateUTF8 does).
func (in *instance) mallocBytes(c wasmtime.Storelike, b []byte) uint64 {
	if in.exp.malloc == nil {
		stop(errors.New("module exports no malloc"))
	}
	p := in.must(c, in.exp.malloc, uint64(len(b)))
	in.viewOf(c).write(p, b)
	return p
}

// setErrno writes errno as the v1/v2 glue's setErrNo does (through __errno_location, when exported).
func (in *instance) setErrno(c wasmtime.Storelike, v view, e int32) {
	if in.exp.errnoLocation == nil {
		return
	}
	p := in.must(c, in.exp.errnoLocation)
	in.viewOf(c).putI32(p, e)
}

func (in *instance) debugWrite(b []byte) {
	if in.opts.Debug != nil && len(b) > 0 {
		_, _ = in.opts.Debug.Write(b)
	}
}

func (in *instance) debugf(format string, args ...any) {
	if in.opts.Debug != nil {
		fmt.Fprintf(in.opts.Debug, format, args...)
	}
}

// guard runs a guest call with panics (from wasmtime-go or our host code) turned into errors.
func (in *instance) guard(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = hostFailure{fmt.Errorf("guest call panicked: %v", r)}
		}
	}()
	return f()
}

// boot runs the start-up the format's glue runs at instantiation: stack init and cookie, constructors,
// and main where the glue calls it.
func (in *instance) boot() error {
	if err := in.store.SetFuel(fuelUnlimited); err != nil {
		return fmt.Errorf("set fuel: %w", err)
	}
	in.gasLimit = defaultGasLimit
	if err := in.refill(); err != nil {
		return err
	}
	err := in.guard(func() error {
		s := in.store
		if in.f.stackInit && in.exp.stackInit != nil {
			if _, err := in.callExport(s, in.exp.stackInit); err != nil {
				return fmt.Errorf("emscripten_stack_init: %w", in.cause(err))
			}
			if in.exp.stackEnd != nil {
				end, err := in.callExport(s, in.exp.stackEnd)
				if err != nil {
					return fmt.Errorf("emscripten_stack_get_end: %w", in.cause(err))
				}
				if end == 0 {
					end += 4
				}
				v := in.viewOf(s)
				v.put32(end, 0x02135467)
				v.put32(end+4, 0x89BACDFE)
				v.put32(0, 0x63736d65)
			}
		}
		if in.exp.ctors != nil {
			if _, err := in.callExport(s, in.exp.ctors); err != nil {
				return fmt.Errorf("constructors: %w", in.cause(err))
			}
		}
		if in.exp.main == nil || in.f.main == mainNone {
			return nil
		}
		var argc, argv uint64
		if in.f.main == mainThisProgram {
			argc = 1
			argv = in.must(s, in.exp.stackAlloc, uint64(8))
			prog := []byte("thisProgram\x00")
			str := in.must(s, in.exp.stackAlloc, uint64(len(prog)))
			v := in.viewOf(s)
			v.write(str, prog)
			v.put32(argv, uint32(str))
			v.put32(argv+4, 0)
		}
		if _, err := in.callExport(s, in.exp.main, argc, argv); err != nil {
			var exit exitError
			if errors.As(in.cause(err), &exit) {
				return nil // main returning through exit() is how the glue's callMain ends too
			}
			return fmt.Errorf("main: %w", in.cause(err))
		}
		return nil
	})
	in.pending = nil
	return err
}

// cause is the root cause of a failed guest call: what a host function recorded, else the trap itself.
func (in *instance) cause(err error) error {
	if in.pending != nil {
		return in.pending
	}
	return err
}

// apply calls handle(msg, env) as the glue's cwrap does: both strings on the wasm stack, the stack
// restored afterwards. A non-nil error is a host failure; guest failures are in Result.Error (and the
// caller must then discard this instance).
func (in *instance) apply(ctx context.Context, msg, env []byte) (res vm.Result, err error) {
	if ctx.Err() != nil {
		return vm.Result{}, fmt.Errorf("%w: %w", vm.ErrInterrupted, context.Cause(ctx))
	}
	in.ctx = ctx
	defer func() { in.ctx = context.Background() }()
	disarm := in.intr.arm(ctx, in.store)
	failed := false
	defer func() {
		if disarm() && failed {
			// The guest was stopped by the epoch callback (ctx ended mid-call): a host failure, never a
			// result. The caller rolls back; the message is evaluated again later.
			res, err = vm.Result{}, fmt.Errorf("%w: %w", vm.ErrInterrupted, context.Cause(ctx))
		}
	}()
	in.pending, in.longjmp, in.gasUsed = nil, false, 0
	in.gasLimit = defaultGasLimit
	fuel := fuelUnlimited
	if in.opts.ComputeLimit > 0 {
		in.gasLimit = in.opts.ComputeLimit
		if !in.f.meteredAtLoad {
			// The metering formats' Compute-Limit is their gas, as in the reference; elsewhere it is fuel
			// (and, for a module that meters itself, its gas too, inline counter or not).
			fuel = min(in.opts.ComputeLimit, fuelUnlimited)
		}
	}
	if err := in.store.SetFuel(fuel); err != nil {
		return vm.Result{}, fmt.Errorf("set fuel: %w", err)
	}
	if err := in.refill(); err != nil {
		return vm.Result{}, err
	}
	var out []byte
	callErr := in.guard(func() error {
		s := in.store
		sp, err := in.callExport(s, in.exp.stackSave)
		if err != nil {
			return err
		}
		p1, err := in.pushString(msg)
		if err != nil {
			return err
		}
		p2, err := in.pushString(env)
		if err != nil {
			return err
		}
		ret, err := in.callExport(s, in.exp.handle, p1, p2)
		if err != nil {
			return err
		}
		v := in.viewOf(s)
		if ret >= uint64(len(v.b)) {
			return fmt.Errorf("handle returned pointer %#x outside memory", ret)
		}
		out = []byte(v.cstring(ret, len(v.b)))
		_, err = in.callExport(s, in.exp.stackRestore, sp)
		return err
	})
	left, _ := in.store.GetFuel()
	res.FuelUsed = fuel - left
	if in.gas != nil {
		in.gasUsed = uint64(in.gas.Get(in.store).I64())
	}
	if callErr != nil {
		// Whatever the trap says, a guest stopped by its context's end has no result (see the defer).
		failed = true
		cause := in.cause(callErr)
		var hf hostFailure
		if errors.As(cause, &hf) {
			return vm.Result{}, hf.err
		}
		res.Error = describe(cause)
		if left == 0 || errors.Is(cause, errOutOfGas) {
			// Fuel is the Compute-Limit on every format, gas too on the metering ones: one text for both.
			res.Error = in.computeLimitError()
		}
		res.GasUsed = in.gasReport()
		return res, nil
	}
	r, err := vm.DecodeResponse(out)
	if err != nil {
		r = vm.Result{Error: err.Error()}
	}
	r.FuelUsed = res.FuelUsed
	r.GasUsed = in.gasReport()
	return r, nil
}

// computeLimitError is Result.Error for a message that reached its Compute-Limit.
func (in *instance) computeLimitError() string {
	if in.opts.ComputeLimitError != "" {
		return in.opts.ComputeLimitError
	}
	return errOutOfGas.Error() // the reference loader's text
}

// refill zeroes the gas counter of a module metered at load and sets its limit, as the glue's gas.refill()
// does before every message.
func (in *instance) refill() error {
	if in.gas == nil {
		return nil
	}
	if err := in.gas.Set(in.store, wasmtime.ValI64(0)); err != nil {
		return fmt.Errorf("reset gas: %w", err)
	}
	if err := in.gasLimitG.Set(in.store, wasmtime.ValI64(int64(min(in.gasLimit, math.MaxInt64)))); err != nil {
		return fmt.Errorf("set gas limit: %w", err)
	}
	return nil
}

func (in *instance) gasReport() uint64 {
	switch {
	case in.metered:
		return in.gasUsed
	}
	return 0
}

// pushString copies s + NUL onto the wasm stack as the glue's ccall does for a "string" argument: the
// reservation is the format's (stringReservation) and nothing checks it against the stack. A string larger
// than the stack runs below it, over static data, as in the reference; one larger than the stack pointer
// wraps below address 0, and then, like the glue's typed-array writes, only the bytes that land inside
// memory are written (see format.signedPtrs) and handle() gets the wrapped pointer: the guest traps, the
// message ends in an Error and its state is rolled back. The reference's loader, which leaves its stack
// pointer wrapped after that trap, fails every later message too; we do not.
func (in *instance) pushString(s []byte) (uint64, error) {
	p, err := in.callExport(in.store, in.exp.stackAlloc, in.stringReservation(s))
	if err != nil {
		return 0, err
	}
	at := int64(p)
	if !in.f.mem64 {
		at = int64(uint32(p))
		if in.f.signedPtrs {
			at = int64(int32(uint32(p)))
		}
	} else if !in.f.signedPtrs {
		at = int64(min(p, math.MaxInt64))
	}
	v := in.viewOf(in.store)
	v.writeClipped(at, s)
	v.writeClipped(at+int64(len(s)), []byte{0})
	return p, nil
}

// stringReservation is the stack bytes ccall reserves for the string s: its UTF-8 length + 1, or in the v1
// and v2 glues (JS string length << 2) + 1, the length counted in UTF-16 units as JS does (wrapping at 32
// bits like the glue's <<).
func (in *instance) stringReservation(s []byte) uint64 {
	if !in.f.wideStrings {
		return uint64(len(s)) + 1
	}
	return uint64(uint32(utf16Len(s))<<2) + 1
}

// utf16Len is the length of the JS string whose UTF-8 encoding is s: one unit per code point, two above
// U+FFFF; an invalid byte counts one (the U+FFFD a decoder makes of it).
func utf16Len(s []byte) int {
	n := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			n++
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		n++
		if r > 0xFFFF {
			n++
		}
		i += size
	}
	return n
}

// describe turns a guest failure into the Result.Error text: our own causes as they are, wasmtime traps
// as their message without the backtrace wasmtime appends.
func describe(err error) string {
	var trap *wasmtime.Trap
	if errors.As(err, &trap) {
		if code := trap.Code(); code != nil {
			if *code == wasmtime.OutOfFuel {
				return errOutOfGas.Error()
			}
			if text, ok := v8TrapText[*code]; ok {
				return text
			}
		}
	}
	msg := err.Error()
	var werr *wasmtime.Error
	if errors.As(err, &trap) || errors.As(err, &werr) {
		// "error while executing at wasm backtrace:\n    0: …\n\nCaused by:\n    wasm trap: …"
		if i := strings.LastIndex(msg, "Caused by:"); i >= 0 {
			msg = strings.TrimSpace(msg[i+len("Caused by:"):])
		}
		if i := strings.Index(msg, "wasm backtrace:"); i >= 0 {
			msg = strings.TrimSpace(msg[:i])
		}
	}
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return strings.TrimSpace(msg)
}

// v8TrapText is the message of the RuntimeError V8 throws for a trap, which is the reference's Error for a
// message whose guest trapped (e.g. handle() given a message that overflowed the stack), where wasmtime's
// wording differs. Only codes that map one to one are listed (wasmtime has one code for div and rem by zero).
var v8TrapText = map[wasmtime.TrapCode]string{
	wasmtime.MemoryOutOfBounds:      "memory access out of bounds",
	wasmtime.UnreachableCodeReached: "unreachable",
}

// memory is the live linear memory (valid until the next guest call).
func (in *instance) memory() []byte { return in.mem.UnsafeData(in.store) }

// scanMemory is memory() for a caller about to look for its non-zero pages. zero, when not nil, marks the
// 64 KiB pages that are certainly zero without reading them (untouchedPages): callers skip those. Touched
// pages that hold only zeros again are given back to the kernel and marked (releaseZeroPages). When the
// kernel cannot tell, zero is nil and the pages not read before are prefaulted in one call (see prefault).
func (in *instance) scanMemory() (mem []byte, zero []bool) {
	mem, zero, _ = in.scanTracked()
	return mem, zero
}

// pageScratch holds scanMemory's buffers, reused from one scan to the next.
type pageScratch struct {
	buf   []byte
	flag  []bool
	words []uint64 // PAGEMAP_SCAN's page regions (pagemap_linux.go)
}

func (s *pageScratch) bytes(n int) []byte {
	if cap(s.buf) < n {
		s.buf = make([]byte, n)
	}
	return s.buf[:n]
}

// zero returns n false flags.
func (s *pageScratch) zero(n int) []bool {
	if cap(s.flag) < n {
		s.flag = make([]bool, n)
	}
	s.flag = s.flag[:n]
	clear(s.flag)
	return s.flag
}

// isZeroPage reports whether page idx of mem is zero, by zero (see scanMemory) or by reading it.
func isZeroPage(mem []byte, zero []bool, idx int) bool {
	if zero != nil && zero[idx] {
		return true
	}
	return vm.IsZeroPage(mem[idx*pageSize : (idx+1)*pageSize])
}

// bootImage lists the pages that are not zero right after start-up (data segments plus what start-up
// wrote). It is the same for every instance of a module and format, so it is computed once, from the
// first instance that asks while still pristine. Loading a state then only has to touch those pages and
// the state's own non-zero pages: clearing the whole memory would fault in every page of a 100 MB heap.
func (in *instance) bootImage() map[uint32]bool {
	key := in.f.name
	in.cm.mu.Lock()
	defer in.cm.mu.Unlock()
	if img, ok := in.cm.bootImages[key]; ok {
		return img
	}
	img := map[uint32]bool{}
	mem, zero := in.scanMemory()
	for off := 0; off+pageSize <= len(mem); off += pageSize {
		if !isZeroPage(mem, zero, off/pageSize) {
			img[uint32(off/pageSize)] = true
		}
	}
	if in.cm.bootImages == nil {
		in.cm.bootImages = map[string]map[uint32]bool{}
	}
	in.cm.bootImages[key] = img
	return img
}

// grow makes the memory size bytes; it cannot shrink.
func (in *instance) grow(size uint64) error {
	cur := uint64(in.mem.DataSize(in.store))
	if size < cur {
		return fmt.Errorf("state memory (%d bytes) is smaller than the module's initial memory (%d bytes)", size, cur)
	}
	if size%pageSize != 0 {
		return fmt.Errorf("state memory size %d is not a whole number of pages", size)
	}
	if size > cur {
		if _, err := in.mem.Grow(in.store, (size-cur)/pageSize); err != nil {
			return fmt.Errorf("grow memory to %d bytes: %w", size, err)
		}
	}
	return nil
}

// loadPages replaces memory and host state with a sparse state (the non-zero pages). The instance must
// be freshly booted, so its globals are at their start values and only boot-image pages are non-zero.
func (in *instance) loadPages(size uint64, pages []page, host *hostState) error {
	img := in.bootImage()
	if err := in.grow(size); err != nil {
		return err
	}
	mem := in.memory()
	have := make(map[uint32]bool, len(pages))
	for _, p := range pages {
		copy(mem[uint64(p.idx)*pageSize:], p.data)
		have[p.idx] = true
	}
	for idx := range img {
		if !have[idx] {
			clear(mem[uint64(idx)*pageSize : uint64(idx+1)*pageSize])
		}
	}
	in.host = host
	in.drives = map[int32]vm.DriveFile{}
	return nil
}

// loadMemory is loadPages for a dense copy of a memory.
func (in *instance) loadMemory(src []byte, srcZero []bool, host *hostState) error {
	img := in.bootImage()
	if err := in.grow(uint64(len(src))); err != nil {
		return err
	}
	mem := in.memory()
	for off := 0; off+pageSize <= len(src); off += pageSize {
		p := src[off : off+pageSize]
		if !isZeroPage(src, srcZero, off/pageSize) {
			copy(mem[off:], p)
		} else if img[uint32(off/pageSize)] {
			clear(mem[off : off+pageSize])
		}
	}
	in.host = host
	in.drives = map[int32]vm.DriveFile{}
	return nil
}

func (in *instance) close() {
	if in != nil && in.store != nil {
		in.store.Close()
		in.store = nil
		in.setMapping(mapping{})
		in.intr.free() // after the store: its epoch callback reads the flag
	}
}
