package vm

import (
	"errors"
	"fmt"
)

// Raw memory is the form reference CUs publish checkpoints in (a Checkpoint item's data is the gzipped linear
// memory): a machine restored from it is what a reference CU would resume with. The glue keeps a little state
// outside linear memory (emscripten: the Date.now counter, tempRet0, MEMFS); HostState exports it so that it can
// travel beside the memory, and RestoreRaw puts it back, so a restored machine continues exactly as the one
// that was checkpointed.

// HostStater is a Machine whose glue state outside linear memory can be exported.
type HostStater interface {
	// HostState returns that state, encoded (JSON for emscripten), or ErrHostStateTooLarge when it is more
	// than max bytes (a process that keeps files in MEMFS).
	HostState(max int) ([]byte, error)
}

// ErrHostStateTooLarge is HostState's answer for a state that does not fit where it is to travel.
var ErrHostStateTooLarge = errors.New("host state too large")

// RawLoader is a Loader that can start a machine from raw linear memory.
type RawLoader interface {
	// RestoreRaw instantiates the module, runs its start-up and loads memory (the whole linear memory, as
	// Machine.WriteMemory writes it) and host (HostState's encoding; nil: the state start-up leaves, which
	// is what a reference CU resumes a checkpoint with).
	RestoreRaw(format string, wasm []byte, opts Options, memory, host []byte) (Machine, error)
}

// RestoreRaw starts a machine of the given Module-Format from raw memory and host state (see RawLoader).
func RestoreRaw(format string, wasm []byte, opts Options, memory, host []byte) (Machine, error) {
	l, err := loader(format)
	if err != nil {
		return nil, err
	}
	if format == "" {
		format = DefaultFormat
	}
	rl, ok := l.(RawLoader)
	if !ok {
		return nil, fmt.Errorf("format %q cannot be restored from raw memory", format)
	}
	return rl.RestoreRaw(format, wasm, opts, memory, host)
}
