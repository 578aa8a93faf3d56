package vm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
)

// Machine is one process's hot VM instance. It is not safe for concurrent use: the CU gives each process
// one owner (one goroutine or one lock). Forks are independent machines and may run concurrently with the
// parent once Fork has returned.
type Machine interface {
	// Apply evaluates one message. msg and env are the JSON objects the reference loader passes to
	// handle(msg, env). A process-level failure (Lua error, trap, Compute-Limit reached, memory limit,
	// abort) is reported in Result.Error and leaves the state exactly as before the message. The error
	// return is for host failures only (WeaveDrive backend error, broken instance, and ctx ending: the guest
	// is interrupted at once and Apply returns an error wrapping ErrInterrupted); after such an error the
	// state is also as before the message, which may be applied again.
	Apply(ctx context.Context, msg, env []byte) (Result, error)
	// Snapshot writes the machine state (see the package documentation for the format) and returns the
	// memory hash (see HashMemory) of the linear memory.
	Snapshot(w io.Writer) (memHash [32]byte, err error)
	// MemoryHash is the memory hash (see HashMemory) of the linear memory as it is now.
	MemoryHash() [32]byte
	// WriteMemory writes the raw linear memory as it is now (MemorySize bytes), what the reference CU
	// serves as a process's state.
	WriteMemory(w io.Writer) error
	// MemorySize is the current linear memory size in bytes.
	MemorySize() uint64
	// Fork returns an independent machine with a copy of the current state, for dry-runs (and for
	// reading the state without holding this machine). Nothing done to the fork changes this machine. opts
	// may lower the fork's Compute-Limit.
	Fork(opts ForkOptions) (Machine, error)
	// Close releases the instance. A closed machine must not be used.
	Close() error
}

// Options configure a machine. Zero values mean "no limit beyond the format's own".
type Options struct {
	// MemoryLimit caps linear memory in bytes (the Memory-Limit tag). memory.grow beyond it fails, so
	// malloc returns NULL and the module reports an error. A module whose initial memory exceeds the
	// limit does not open.
	MemoryLimit uint64
	// ComputeLimit caps each Apply (the Compute-Limit tag, or less: a CU caps it at its maximum). It is
	// enforced with wasmtime fuel (one unit ≈ one wasm instruction) on every format but the metering ones,
	// where it is the reference's gas (as the reference meters them), and on modules that import
	// metering.usegas also as the reference gas limit. 0 means no limit (2^62 fuel, 9e15 gas).
	ComputeLimit uint64
	// ComputeLimitError is Result.Error when a message reaches ComputeLimit. Empty means the reference
	// loader's "out of gas!". It must depend only on configuration, so that results stay deterministic.
	ComputeLimitError string
	// WeaveDrive backs the weavedrive_* imports. nil means WeaveDrive is not available: opens fail
	// (fopen returns NULL), as in the reference loader without the extension.
	WeaveDrive WeaveDrive
	// CacheDir, when set, holds compiled modules (wasmtime serialized artifacts) keyed by the SHA-256 of
	// the wasm and the engine configuration, for fast cold starts.
	CacheDir string
	// Compiling, when set, is called before the module is compiled because neither this process nor CacheDir
	// has it: the one slow step of a cold start (about a second for aogo's aos, more for large modules), which
	// a caller may announce to a person waiting.
	Compiling func()
	// Debug, when set, receives what the module writes to stdout/stderr. It never reaches results.
	Debug io.Writer
}

// WeaveDrive is the data source behind the WeaveDrive extension. Open is called synchronously from the
// guest (fopen of "/data/<tx id>", "/tx/<id>", "/block/<height>", …) with the context of the Apply that
// runs the guest; DriveCallOf(ctx) tells which process and message asks (admission is the drive's
// business, not the VM's). It returns (nil, nil) for a path that is no drive file (the guest's fopen
// returns NULL), ErrFileNotFound or a *DriveRefusal for the reference drive's refusals (see them). Any
// other error is a host failure: Apply returns it and the message is not evaluated (the caller may apply
// it again later).
type WeaveDrive interface {
	Open(ctx context.Context, path string) (DriveFile, error)
}

// ErrFileNotFound is what WeaveDrive.Open returns (wrapped or not) for a /data path the process may not
// read, or whose data does not exist: the reference drive's "HALT" answer. The VM then does what the
// reference loader's glue does for the module's format: the wasm64 formats end the message with
// Result.Error "HALT: FILE NOT FOUND" (state as before it); emscripten4 (wasm32) gets NULL from fopen.
var ErrFileNotFound = errors.New("HALT: FILE NOT FOUND")

// DriveRefusal is a WeaveDrive answer that ends the message with Result.Error = Reason (state as before
// it) on every format, as an exception thrown by the reference drive does (Library mode without an
// attestation, an unknown Availability-Type). It is part of the result, not a host failure.
type DriveRefusal struct{ Reason string }

func (e *DriveRefusal) Error() string { return e.Reason }

// Tag is one name/value tag of a process or module, as DriveCall carries them.
type Tag struct{ Name, Value string }

// DriveCall is what a WeaveDrive learns of the evaluation that opens a file. The caller of Apply sets it
// (WithDriveCall); the VM keeps it with the message, so a replay of the message (rollback) opens files
// under the same call, and answers may be remembered per (BlockHeight, path) within a machine.
type DriveCall struct {
	Process     string // process id
	ProcessTags []Tag  // the process's tags (Extension, Availability-Type, Scheduler, Attestor, On-Boot …)
	ModuleTags  []Tag  // its module's tags
	BlockHeight int64  // the Block-Height of the message being evaluated
}

type driveCallKey struct{}

// WithDriveCall returns ctx carrying c for the WeaveDrive opens of one Apply.
func WithDriveCall(ctx context.Context, c *DriveCall) context.Context {
	return context.WithValue(ctx, driveCallKey{}, c)
}

// DriveCallOf returns the DriveCall ctx carries, or nil.
func DriveCallOf(ctx context.Context) *DriveCall {
	c, _ := ctx.Value(driveCallKey{}).(*DriveCall)
	return c
}

// DriveFile is one opened WeaveDrive file. Content must be immutable (Arweave data is), which is what
// makes replay deterministic.
type DriveFile interface {
	io.ReaderAt
	Size() int64
}

// ForkOptions change a fork's options; zero values keep the parent's.
type ForkOptions struct {
	// ComputeLimit, when lower than the parent's (or the parent has none), caps the fork's Apply calls.
	ComputeLimit uint64
	// ComputeLimitError is the fork's Options.ComputeLimitError, when ComputeLimit applies.
	ComputeLimitError string
}

// ErrInterrupted is wrapped by the error Apply returns when its context ended while the guest ran.
var ErrInterrupted = errors.New("evaluation interrupted")

// Loader opens machines of one or more module formats. vm/emscripten registers one for every ao
// emscripten format.
type Loader interface {
	// Open compiles (or takes from the cache) the module, instantiates it and runs its start-up code.
	Open(format string, wasm []byte, opts Options) (Machine, error)
	// Restore instantiates the module and loads state written by Machine.Snapshot.
	Restore(format string, wasm []byte, opts Options, snapshot io.Reader) (Machine, error)
}

var (
	mu      sync.RWMutex
	loaders = map[string]Loader{}
)

// ErrUnknownFormat is returned by Open and Restore for a Module-Format nobody registered.
var ErrUnknownFormat = errors.New("unknown module format")

// Register makes l the loader for format. It panics on a duplicate, which is a programming error in an
// init function.
func Register(format string, l Loader) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := loaders[format]; dup {
		panic("vm: format registered twice: " + format)
	}
	loaders[format] = l
}

// Formats lists the registered module formats, sorted.
func Formats() []string {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]string, 0, len(loaders))
	for f := range loaders {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// DefaultFormat is what the reference loader assumes when a module has no Module-Format tag.
const DefaultFormat = "wasm32-unknown-emscripten"

func loader(format string) (Loader, error) {
	if format == "" {
		format = DefaultFormat
	}
	mu.RLock()
	l, ok := loaders[format]
	mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w %q (is vm/emscripten imported?)", ErrUnknownFormat, format)
	}
	return l, nil
}

// Open starts a fresh machine for a module of the given Module-Format.
func Open(format string, wasm []byte, opts Options) (Machine, error) {
	l, err := loader(format)
	if err != nil {
		return nil, err
	}
	if format == "" {
		format = DefaultFormat
	}
	return l.Open(format, wasm, opts)
}

// Restore starts a machine from a snapshot written by Machine.Snapshot.
func Restore(format string, wasm []byte, opts Options, snapshot io.Reader) (Machine, error) {
	l, err := loader(format)
	if err != nil {
		return nil, err
	}
	if format == "" {
		format = DefaultFormat
	}
	return l.Restore(format, wasm, opts, snapshot)
}
