// Package datadir owns the exclusive lock on a data directory: one aogo process (a unit, or `aogo dev`) per
// directory. Two processes on one directory would both resume the same durable queues and race on the same
// stores (the second MU re-running the first's tasks, the SU's slots colliding).
//
// The lock is flock(2) on the file LockFile in the directory. The kernel releases it when the holder exits,
// however it exits (kill -9 included), so a stale lock never needs cleaning up. The holder writes its pid into
// the file, which is what the refusal names.
package datadir
