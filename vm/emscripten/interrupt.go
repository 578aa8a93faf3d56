package emscripten

// Interrupting a running guest
//
// Fuel bounds how much a message may compute, but a host that is shutting down, or a dry-run whose client
// went away, must stop a guest at once whatever its fuel. The engine runs with epoch interruption: compiled
// code checks the engine's epoch at function entries and loop back-edges (a load and a compare), and a store
// whose deadline has passed calls its epoch-deadline callback. Each store's callback (C, below) reads a
// per-instance flag: when the Apply running on it has been cancelled it returns an error, which unwinds the
// guest as a trap; otherwise it extends the deadline by one epoch and the guest continues, unaware.
//
// The engine's epoch is shared by every store, and it only moves when some Apply's context ends
// (context.AfterFunc → mark that instance's flag, then Engine.IncrementEpoch). Other running guests then
// take one callback each, see that their own Apply was not cancelled, and go on: an interrupt aimed at one
// process costs the others a few nanoseconds and never a spurious failure. Nothing ticks while nobody is
// cancelled.
//
// The flag holds two generations: current (the Apply now running on the instance, 0 when none) and
// cancelled (the Apply a context cancellation was aimed at). A cancellation that arrives after its Apply
// ended carries an old generation and interrupts nothing.
//
// wasmtime-go v39 exposes Config.SetEpochInterruption, Engine.IncrementEpoch and Store.SetEpochDeadline
// but not the C API's epoch-deadline callback, so the callback is registered here through cgo, with the
// store pointer read from wasmtime.Store (checked against the struct's layout at start-up). The symbols come
// from the wasmtime static library wasmtime-go links.

/*
#include <stdint.h>
#include <stdlib.h>

typedef struct wasmtime_context wasmtime_context_t;
typedef struct wasmtime_store wasmtime_store_t;
typedef struct wasmtime_error wasmtime_error_t;
extern wasmtime_error_t *wasmtime_error_new(const char *message);
extern void wasmtime_store_epoch_deadline_callback(wasmtime_store_t *store,
	wasmtime_error_t *(*func)(wasmtime_context_t *context, void *data, uint64_t *epoch_deadline_delta, uint8_t *update_kind),
	void *data, void (*finalizer)(void *));

typedef struct {
	int64_t current;
	int64_t cancelled;
} aogo_interrupt;

static wasmtime_error_t *aogo_epoch_deadline(wasmtime_context_t *context, void *data, uint64_t *delta, uint8_t *kind) {
	aogo_interrupt *f = (aogo_interrupt *)data;
	int64_t cur = __atomic_load_n(&f->current, __ATOMIC_ACQUIRE);
	if (cur != 0 && __atomic_load_n(&f->cancelled, __ATOMIC_ACQUIRE) == cur) {
		return wasmtime_error_new("aogo: evaluation interrupted");
	}
	*delta = 1;
	*kind = 0; // WASMTIME_UPDATE_DEADLINE_CONTINUE
	return NULL;
}

static aogo_interrupt *aogo_interrupt_new(void) {
	return (aogo_interrupt *)calloc(1, sizeof(aogo_interrupt));
}

static void aogo_set_epoch_callback(void *store, aogo_interrupt *f) {
	wasmtime_store_epoch_deadline_callback((wasmtime_store_t *)store, aogo_epoch_deadline, f, NULL);
}
*/
import "C"

import (
	"context"
	"fmt"
	"reflect"
	"sync/atomic"
	"unsafe"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// storePtrOK says whether wasmtime.Store starts with its C store pointer, as in v39 (`_ptr
// *C.wasmtime_store_t`). It is checked once: a wasmtime-go whose layout differs fails loudly at Open instead
// of corrupting memory.
var storePtrOK = func() bool {
	t := reflect.TypeFor[wasmtime.Store]()
	if t.NumField() == 0 {
		return false
	}
	f := t.Field(0)
	return f.Name == "_ptr" && f.Offset == 0 && f.Type.Kind() == reflect.Pointer
}()

// interrupter is an instance's interrupt flag (C memory, read by the store's epoch callback).
type interrupter struct {
	flag *C.aogo_interrupt
	gen  int64 // generation of the last Apply (owner goroutine only)
}

// newInterrupter registers the epoch callback on store.
func newInterrupter(store *wasmtime.Store) (*interrupter, error) {
	if !storePtrOK {
		return nil, fmt.Errorf("wasmtime.Store layout changed: cannot install the epoch interrupt callback")
	}
	ptr := *(*unsafe.Pointer)(unsafe.Pointer(store))
	if ptr == nil {
		return nil, fmt.Errorf("wasmtime store is closed")
	}
	f := C.aogo_interrupt_new()
	if f == nil {
		return nil, fmt.Errorf("allocate interrupt flag")
	}
	C.aogo_set_epoch_callback(ptr, f)
	// A deadline one epoch ahead: any epoch increment from now reaches the callback, which decides.
	store.SetEpochDeadline(1)
	return &interrupter{flag: f}, nil
}

func (it *interrupter) current() *int64   { return (*int64)(unsafe.Pointer(&it.flag.current)) }
func (it *interrupter) cancelled() *int64 { return (*int64)(unsafe.Pointer(&it.flag.cancelled)) }

// arm makes ctx's cancellation interrupt the guest calls made until the returned disarm is called. disarm
// reports whether this Apply was interrupted; once it returns, nothing touches the flag on its behalf.
func (it *interrupter) arm(ctx context.Context, store *wasmtime.Store) (disarm func() bool) {
	it.gen++
	gen := it.gen
	atomic.StoreInt64(it.current(), gen)
	store.SetEpochDeadline(1)
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(fired)
		atomic.StoreInt64(it.cancelled(), gen)
		sharedEngine().IncrementEpoch()
	})
	return func() bool {
		if !stop() {
			<-fired // the callback ran (or runs): wait, so it cannot write the flag after free
		}
		atomic.StoreInt64(it.current(), 0)
		return atomic.LoadInt64(it.cancelled()) == gen
	}
}

// free releases the flag. The store must be closed first (its callback reads the flag).
func (it *interrupter) free() {
	if it != nil && it.flag != nil {
		C.free(unsafe.Pointer(it.flag))
		it.flag = nil
	}
}
