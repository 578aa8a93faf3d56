// Package verify recomputes a process from its log, as anyone may: ao's results are verified lazily. It reads
// the process, its module and its whole log from a gateway alone (the signed Assignment items the SU uploaded,
// found with GraphQL, and the messages they assign, read as data) or from an SU; checks every slot (the
// assignment's signature by the process's Scheduler, nonces dense from 0, the hash chain, the message's id
// and signature: the same checks as the CU, package ao); replays the checked log in a fresh machine (the CU's
// own evaluation, run in this process, so results are byte-identical to an honest CU's); and compares, slot by
// slot, each named CU's result and signed attestation (Result-Hash, Memory-Hash where the CU attested one,
// signature, signer) with the replay. The report names the first divergence (slot, CU, field, both values)
// and ends with a statement about the last slot (process, slot, result hash, memory hash) signed by the
// verifier's wallet, which `aogo verify-result --statement` checks offline.
//
// The verifier reads, checks and asks the CUs about one window of slots while the replay evaluates the
// previous one; memory holds about two windows (their messages and the CUs' answers). Every CheckpointEvery
// evaluations, and when a run ends or is interrupted, the replay's machine is snapshotted under Dir with what
// was found up to it (Dir/state.json): the next run with the same Dir resumes there, and also verifies only
// the slots added since.
//
// WeaveDrive data (Config.WeaveDrive) is read as the CU reads it: cmd/aogo gives the CU's own drive
// (weavedrive.ForGateway), so data is admitted by the same rules from the same Attestations on the gateway
// at each message's Block-Height; and the replay runs under the compared CU's MaxMemory (a wasm64 machine's
// cap) and MaxCompute: under other limits an honest CU's results may differ from the replay's.
//
// A slot whose message targets another process is shown to the replay as the SU shows an assignment of a
// message it does not hold (the CU reads the message from the gateway then): it is how such slots reach the
// log. Cron messages are replayed (their effect shows in the next memory hash) but not compared one by one.
package verify
