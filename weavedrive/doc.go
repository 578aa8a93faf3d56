// Package weavedrive owns WeaveDrive's data sources and admission rules: which Arweave data a process may
// read through the WeaveDrive extension (fopen of /data/<id>, /tx/<id>, /block/<height>) and where the
// bytes come from.
//
// The rules (rules.go) are the reference drive's (@permaweb/weavedrive 0.0.18, aos extensions/weavedrive),
// pure and decided only from the process's and module's tags and the Block-Height of the message being
// evaluated, never the clock:
//
//   - the process's On-Boot data is always admitted;
//   - otherwise the module or the process must carry Extension: WeaveDrive;
//   - Availability-Type (process tag over module tag; default Assignments) is Assignments, Individual or
//     Library: data is admitted by an item Type=Attestation, Message=<id>, Data-Protocol=ao owned by the
//     process's Scheduler or one of its Attestor tags, at a block height at or below the message's; in
//     Individual mode also by Type=Available, ID=<id>, Data-Protocol=WeaveDrive; in Library mode data not
//     attested stops the evaluation (the reference throws: the CU cannot process the message);
//   - /tx/<id> and /block/<h> need no attestation (as in the reference); /block/<h> above the message's
//     Block-Height is not available (the reference would wait for it: a process never sees the future).
//
// Not-admitted data is what the reference makes it: Open returns vm.ErrFileNotFound (the reference's
// "HALT"), which on the wasm64 formats ends the message with Error "HALT: FILE NOT FOUND" (state
// unchanged) and on emscripten4 is fopen's NULL; Library mode without an attestation and an unknown
// Availability-Type are a vm.DriveRefusal with the reference's exception text (an Error on every format).
// Data admitted but not on the gateway (yet) is a host failure: the message is evaluated later.
//
// Determinism: a "not attested" answer at height H is final only when the query that gave it was made
// once the gateway's chain was past H (Options.SettleBlocks; no more items can land at H). An open at an
// open block waits for it to close (Options.SettleWait) and asks again; past the wait it returns
// ErrNotSettled, a host failure, and the CU evaluates the message again later. Answers are remembered per attestation query: a positive one with the lowest
// height it holds from, a negative one only up to the height it was final for, so it is never used past
// the moment the data is admitted.
//
// Bytes (Drive) come from a Source: Gateway (HEAD, then Range reads with read-ahead through Cache, a
// bounded on-disk block cache shared by every process of the CU) or Dir (files named by id, for aogo run).
package weavedrive
