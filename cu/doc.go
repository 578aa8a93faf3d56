// Package cu is the Compute Unit: it replays a process's log from its Scheduler Unit through the process's
// VM and serves the results with the reference CU's HTTP API, so aoconnect and the reference MU work with it
// unchanged.
//
// # Routes
//
//	GET  /                          {"address": <CU wallet address>, "timestamp": <ms>}
//	GET  /result/{msg}?process-id=  the result of one message {Output, Messages, Spawns, Assignments, GasUsed,
//	                                Error?}, evaluating the process up to it; header X-Ao-Result-Attestation
//	                                (with request header X-Ao-Want-Attestation, always; without, once made)
//	GET  /results/{pid}?from=&to=&sort=&limit=
//	                                results already computed (errored ones left out), as the reference's
//	                                connection {pageInfo:{hasNextPage}, edges:[{cursor, node}]}; limit 25 by
//	                                default, 1000 at most
//	POST /dry-run?process-id=       body = message JSON as aoconnect's dryrun sends it; evaluated on a fork of
//	                                the process's latest state, which never changes, under the dry-run
//	                                compute limit; it stops when its client goes away
//	GET  /state/{pid}               the raw linear memory after the latest message (application/octet-stream,
//	                                headers Last-Timestamp, Last-Ordinate, Last-Block-Height), streamed from a
//	                                copy: a slow reader never holds the process
//	GET  /cron/{pid}?from=&to=&limit=
//	                                cron results, after evaluating up to to (or the SU's clock now)
//	GET  /metrics                   Prometheus text
//
// Errors are {"error": "..."} with the reference's statuses: 400 bad parameters, 404 unknown process or
// message, 413 a Memory-Limit above this CU's maximum, 422 an invalid module, process or log
// (broken hash chain, gap in the nonces, bad assignment signature), 500 anything else.
//
// Cursors are the reference's base64(JSON{timestamp, ordinate, cron, sort}) plus a "seq" field that orders
// results exactly; from is exclusive and to inclusive whatever the sort. A plain number is a timestamp.
//
// # Evaluation
//
// One owner (a mutex) per process keeps a hot vm.Machine and evaluates in slot order: the process from
// GET {su}/processes/{pid}, its module from the item source (the signed Module item, verified, cached on disk
// by id), then the log in nonce mode (from-nonce, show-anchor=1). Every slot is checked before it is
// evaluated: dense nonces from 0, the SU's hash chain (ao.FirstHashChain / ao.NextHashChain), the Process and
// Message tags, message id = SHA-256 of its signature, and the assignment's signature, rebuilt as the
// ANS-104 item the SU signed (the SU's JSON carries all its fields; the anchor only with show-anchor=1) and
// signed by the process's Scheduler. The reference CU checks the hash chain only for old-enough processes and
// no signature at all.
//
// handle(msg, env) gets the reference's msg object (Id, Signature, Data, Owner, Target, Anchor, From,
// Forwarded-By, Tags minus those named From and Owner, Message, Epoch, Nonce, Timestamp, Block-Height,
// Hash-Chain, Cron, Read-Only) and env {Process:{Id, Owner, Tags}, Module:{Id, Owner, Tags}}. The first
// message is the Process item itself. Cron messages are generated from the process's Cron-Interval tags and
// merged before the scheduled message that follows them, as the reference does (see cron.go).
//
// Every evaluation is stored (keyed by process and evaluation sequence, scheduled ones also by message id;
// cron ones flagged with their cron id); while Run runs, in the background, in batches, with /result answering
// from memory meanwhile: results are re-derivable, so a crash only costs re-evaluating from the checkpoint, which
// is never recorded before the evaluations it follows (see saver.go). Every CheckpointEvery evaluations, and when a hot machine is evicted
// or the CU closes, the machine is snapshotted to snapshots/<sha256 of the file> under the data directory and
// a checkpoint row names it, so a restart resumes from the latest checkpoint, not from zero. With a store that
// keeps pages (PageStore, store/sqlite does), the snapshot is paged: its memory pages are stored once by
// content, so a process holding a model stores the weights once, not in every checkpoint (see pages.go). Hot machines
// share a memory budget; the least recently used are checkpointed and closed beyond it.
//
// # Compute limits and interruption
//
// A message evaluates under min(Compute-Limit, Config.MaxCompute) units: wasmtime fuel (≈ one wasm
// instruction) on every format but the two metering ones, whose Compute-Limit is the reference's gas, as
// the reference meters them. The default maximum, DefaultMaxCompute = 1e10, ends a tight Lua loop in
// ≈1.5 s on a 2-core cloud VM (2026) and the slowest loop shape we measured in ≈6 s; aos modules publish
// Compute-Limit 9e12 (≈20 minutes of a loop), which the maximum caps. A message that reaches its limit has
// an Error result, "compute limit reached: N units (Compute-Limit M)", or, when the CU's maximum is what
// stopped it, "compute limit reached: K units (Compute-Limit M, this CU's maximum K)"; its state changes
// are rolled back and the result is stored like any other, so the message is never evaluated again. The
// text depends only on the process and the configuration: CUs that are to agree on results must share
// MaxCompute (or all have it at or above the Compute-Limits of the processes they compute).
//
// A dry-run runs under min(Compute-Limit, Config.MaxDryRunCompute) (default 1e9; "this CU's dry-run
// maximum" in its Error), stops as soon as its client goes away, and is never stored or resumed.
//
// Shutdown (Run's context ending, or Close) interrupts a running evaluation at once (wasmtime epoch
// interruption, see vm/emscripten): its Apply returns a host error, the machine is back at the state
// before the message, nothing is stored for it, and Close checkpoints the process as of the last message
// that completed. After a restart the message is evaluated again, within its limit, when a request (or
// the MU's pull) asks for it: so a message interrupted at every shutdown costs at most its limit per
// restart, and one that reached its limit costs nothing more. A result request whose client leaves does
// not interrupt the evaluation it started: that evaluation completes and is stored.
//
// # Attestations
//
// The CU signs every result it serves. The attestation is an ANS-104 data item signed by the CU wallet, with
// empty data, no target and no anchor, and these tags in this order:
//
//	Data-Protocol: ao
//	Variant: ao.TN.1
//	Type: Attestation
//	Attestation-Format: 3
//	Process: <process id>
//	Message: <message id>                      (absent for a cron result)
//	Slot: <nonce>                              (for a cron result: its ordinate, the nonce it follows)
//	Cron: <cron id "index-interval">           (cron results only)
//	Timestamp: <ms>
//	Block-Height: <height>
//	Hash-Chain: <the message's assignment hash chain>   (absent for a cron result)
//	Result-Hash: base64url(SHA-256(result body))
//	Memory-Hash: base64url(memory hash of the linear memory after the message)   (when computed, see below)
//
// The result body is the exact bytes GET /result returns; the attestation travels base64url-encoded in the
// X-Ao-Result-Attestation header (reference clients ignore it). Verification is dataitem.Verify plus the
// hash of the body (VerifyAttestation; `aogo verify-result` on the command line); whether the signer is a CU
// you trust is your decision. The hash chain binds the attestation to one position of the SU's signed log.
//
// The memory hash (vm.HashMemory) is a three-level SHA-256 over 64 KiB pages of 4 KiB chunks: with page_i
// the i-th 64 KiB of the linear memory (GET /state/{pid} serves exactly these bytes) and c_ij its j-th 4 KiB,
//
//	leaf_i      = SHA-256(SHA-256(c_i0) || … || SHA-256(c_i15))
//	Memory-Hash = base64url(SHA-256(leaf_0 || leaf_1 || … || leaf_{n-1}))
//
// Older aogo CUs wrote format 2 (leaf_i = SHA-256(page_i), vm.HashMemoryV2) and format 1 (SHA-256 of the
// raw memory); VerifyAttestation still accepts both, Attestation.Format says which. The tree form is as
// binding and much cheaper to keep up: an aos 2.x memory is ~70 MB of which a few MB are not zero; zero
// pages have a constant leaf, the VM reuses the leaf of every page identical to its last captured copy and
// the hash of every chunk identical to its copy's, so hashing costs a scan of the memory plus SHA-256 of
// the chunks that changed (a message changes a few bytes of each page it touches).
// Config.MemoryHash chooses which attestations carry Memory-Hash: the last message of each evaluation run
// (the one a /result request waits for; the default), every message, or checkpoints only (the snapshot
// computes it anyway). Attestations are signed when a result is first served, not during replay, and
// stored with the result; a run evaluated ahead of requests (Notify) signs its last message's at once, the
// result the requests that follow wait for. A request without X-Ao-Want-Attestation (aoconnect's) may be
// answered before the memory hash, with no attestation header; client.CU asks, and so the MU's quorum and
// aogo verify get one (see Results before their memory hash, api.go).
//
// # Determinism
//
// Results depend only on the log, the module and the block source: two CUs on the same log produce
// byte-identical result bodies and memory hashes (the VM derives time and randomness from the message).
package cu
