// Package vm is the VM half of a Compute Unit: a Machine evaluates an ao process's messages in a hot
// WebAssembly instance and reports results in the reference loader's shape.
//
// # API
//
//	m, err := vm.Open(format, wasm, vm.Options{MemoryLimit, ComputeLimit, WeaveDrive, CacheDir, Debug})
//	res, err := m.Apply(ctx, msgJSON, envJSON) // res.Error set ⇒ state rolled back; err ⇒ host failure
//	sum, err := m.Snapshot(w)                  // sum = the memory hash (HashMemory) of the linear memory
//	m2, err := vm.Restore(format, wasm, opts, r)
//	f, err := m.Fork(vm.ForkOptions{})           // throw-away copy for dry-runs (may lower ComputeLimit)
//	m.MemoryHash(); m.MemorySize(); m.WriteMemory(w); m.Close()
//
// Formats are registered by implementations (vm/emscripten registers the seven ao emscripten formats);
// import that package for its side effect. vm itself does not depend on wasmtime.
//
// # Messages
//
// msg and env are exactly what the reference CU passes to the loader's handle(memory, msg, env): msg is
// {Id, Owner, From, Target, Anchor, Data, Tags:[{name,value}], Timestamp, "Block-Height", Nonce, Epoch,
// "Hash-Chain", Cron, "Read-Only", …} and env is {Process: {Id, Owner, Tags}, Module: {Id, Owner, Tags}}.
// aos expects the first message of a process to be the Process message itself (Id = process id, with the
// process tags) and reads env.Process.Id/Tags, msg.Timestamp (os.time), msg.From, msg.Owner,
// msg["Block-Height"], msg.Id and msg.Cron. The CU strips tags named From and Owner from msg.Tags.
//
// # Results and errors
//
// Result marshals as the CU's /result body: {"Output","Messages","Spawns","Assignments","GasUsed"} plus
// "Error" when set (and "Patches" when a module returns any). A message fails — Error set, the machine's
// state left exactly as before it, the machine still usable — when the module answers ok:false or
// response.Error, traps, exits, aborts, runs out of fuel or gas ("out of gas!"), or cannot get memory
// under MemoryLimit (Options.ComputeLimitError replaces "out of gas!" when set). Apply returns a non-nil
// error only for host failures (WeaveDrive backend error, or its context ending, before or during the
// call: the guest is then interrupted at once by wasmtime epoch interruption and the error wraps
// ErrInterrupted); the state is then also as before the message. GasUsed is the
// reference's gas: the metering.usegas sum on modules that import it, 0 on the unmetered emscripten4 and
// wasm64 formats (as the reference reports), and — a known difference — wasmtime fuel on the two
// "-metering" formats, which the reference meters by rewriting the binary with its own cost table.
// Result.FuelUsed (not in JSON) is the fuel every message consumed.
//
// # Determinism
//
// Everything the guest can observe is a function of the module, the messages and the options: time is
// the reference glue's Date.now counter (starts at 10000, +1 per call), the time zone is UTC, stdin is
// empty, stdout/stderr go only to Options.Debug, system() never runs anything, WeaveDrive content is
// immutable, NaNs are canonicalised, threads and relaxed SIMD are off, and ComputeLimit is wasmtime fuel
// (≈ one unit per wasm instruction), the same on every run and every host.
//
// # Rollback, snapshots, forks
//
// The instance stays hot: memory is never copied per message. The machine keeps an immutable sparse base
// (non-zero 64 KiB pages with their SHA-256, plus host state; at first simply "start-up", which needs no
// copy) and the journal of messages applied since; a failed message discards the instance and rebuilds
// base + journal (deterministic replay), and the base is re-taken when replay would cost more than a few
// captures (see vm/emscripten/machine.go). A capture shares the pages that did not change with the
// previous base, and the memory hash reuses their SHA-256, so both cost a scan of the memory plus work
// on the changed pages only. Snapshots are the linear memory (non-zero pages, gzip) plus the host state
// (Date.now counter, MEMFS) with the memory hash; wasm globals are not stored because between calls they
// are at their start-up values. Replay-from-zero and restore-then-continue give byte-identical results
// and memory. Fork shares the base and copies the journal, so dry-runs never touch the parent.
//
// # Memory hash
//
// The memory hash is a SHA-256 tree (HashMemory): SHA-256 over the leaves of the 64 KiB pages, a page's leaf
// SHA-256 over the SHA-256 of its 4 KiB chunks. It is as binding as SHA-256 of the raw memory, and it lets a
// machine skip zero pages and rehash only the chunks written since its last hash.
//
// # Concurrency
//
// A Machine is not safe for concurrent use; give each process one owner. Different machines (forks
// included, once Fork has returned) run in parallel. Compiled modules are cached per process by wasm
// SHA-256 and shared; Options.CacheDir adds an on-disk cache of compiled artifacts.
package vm
