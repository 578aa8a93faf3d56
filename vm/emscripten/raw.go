package emscripten

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aogo/aogo/vm"
)

// HostState implements vm.HostStater: the glue state outside linear memory, as the JSON snapshots carry it.
func (m *machine) HostState(max int) ([]byte, error) {
	if m.cur == nil {
		return nil, errors.New("machine is closed")
	}
	b, err := json.Marshal(m.cur.host)
	if err != nil {
		return nil, fmt.Errorf("encode host state: %w", err)
	}
	if len(b) > max {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", vm.ErrHostStateTooLarge, len(b), max)
	}
	return b, nil
}

// RestoreRaw implements vm.RawLoader.
func (loader) RestoreRaw(format string, wasm []byte, opts vm.Options, memory, host []byte) (vm.Machine, error) {
	m, in, err := booted(format, wasm, opts)
	if err != nil {
		return nil, err
	}
	limit := m.f.heapMax
	if opts.MemoryLimit > 0 && opts.MemoryLimit < limit {
		limit = opts.MemoryLimit
	}
	if initial := len(in.memory()); uint64(len(memory)) > limit || len(memory)%pageSize != 0 || len(memory) < initial {
		in.close()
		return nil, fmt.Errorf("raw memory of %d bytes: want whole pages, at least the module's initial %d and at most %d", len(memory), initial, limit)
	}
	hs := in.host.clone()
	if host != nil {
		hs = &hostState{}
		if err := json.Unmarshal(host, hs); err != nil {
			in.close()
			return nil, fmt.Errorf("host state: %w", err)
		}
		if err := hs.validate(); err != nil {
			in.close()
			return nil, fmt.Errorf("host state: %w", err)
		}
	}
	if err := in.loadMemory(memory, nil, hs); err != nil {
		in.close()
		return nil, err
	}
	m.cur = in
	// Like a snapshot's pages, the loaded memory is the base a rollback returns to.
	b, err := capture(in, nil, m.reserve())
	if err != nil {
		in.close()
		return nil, err
	}
	m.base = b
	return m, nil
}
