package cu

import (
	"context"
	"errors"
)

// ErrNotFound is what a Store returns when it holds no such row.
var ErrNotFound = errors.New("not found")

// Store keeps what the CU computed: every evaluation (scheduled messages and cron messages) and the
// checkpoints a restart resumes from. Memory snapshots themselves are files under the data directory; the
// store only names them (and, if it is also a PageStore, keeps their memory pages: pages.go). store/sqlite implements it.
type Store interface {
	// SaveEvals stores evaluations atomically, in order. Seq is unique per process.
	SaveEvals(ctx context.Context, evals []Eval) error
	// EvalByMessage returns the evaluation of scheduled message mid in process pid, or ErrNotFound.
	EvalByMessage(ctx context.Context, pid, mid string) (*Eval, error)
	// Evals returns up to q.Limit evaluations of pid in the range q selects, ordered by Seq (descending when
	// q.Desc), and whether more match.
	Evals(ctx context.Context, pid string, q EvalQuery) ([]Eval, bool, error)
	// SetAttestation records the signed attestation of evaluation seq of pid.
	SetAttestation(ctx context.Context, pid string, seq int64, attestation []byte) error
	// SaveCheckpoint records a checkpoint; LatestCheckpoint returns the one with the highest Seq, or
	// ErrNotFound.
	SaveCheckpoint(ctx context.Context, cp Checkpoint) error
	LatestCheckpoint(ctx context.Context, pid string) (*Checkpoint, error)
}

// Eval is one evaluated message.
type Eval struct {
	Process string
	// Seq orders a process's evaluations: 0 is the first, +1 each (scheduled and cron alike).
	Seq int64
	// Message is the scheduled message id; "" for a cron message.
	Message string
	// Nonce is the slot of a scheduled message; for a cron message, the ordinate: the nonce of the scheduled
	// message it follows (as the reference CU keys them).
	Nonce int64
	// Cron is the reference cron id "<index>-<interval>" for a cron message, "" otherwise.
	Cron        string
	Timestamp   int64
	BlockHeight int64
	// HashChain is the Hash-Chain of the message's assignment ("" for cron messages).
	HashChain string
	// Result is the canonical JSON the CU serves for this message (vm.Result.MarshalJSON).
	Result []byte
	// IsError reports Result carries an Error (the state was not advanced).
	IsError bool
	// MemoryHash is the memory hash (vm.HashMemory) after the message, when it was computed (nil otherwise).
	MemoryHash []byte
	// Attestation is the CU's signed attestation item, once one was made.
	Attestation []byte

	// early marks the copy a run publishes before its memory hash (proc.early): never stored, not attested.
	early bool
}

// EvalQuery selects evaluations. Bounds on Seq win over bounds on Timestamp when both are set; zero values
// mean unbounded. FromSeq/FromTimestamp are exclusive, ToSeq/ToTimestamp inclusive.
type EvalQuery struct {
	FromSeq, ToSeq             *int64
	FromTimestamp, ToTimestamp *int64
	CronOnly                   bool
	SkipErrors                 bool
	Desc                       bool
	Limit                      int
}

// Checkpoint is a saved machine state: after evaluation Seq, whose position in the log it records so
// evaluation can continue from it.
type Checkpoint struct {
	Process  string
	ModuleID string
	Seq      int64
	// Nonce of the last scheduled message evaluated (the left boundary for cron generation).
	Nonce        int64
	Timestamp    int64 // of the last scheduled message
	BlockHeight  int64 // of the last scheduled message
	HashChain    string
	AssignmentID string
	// Cron is the cron generator's position (JSON of cronCursor), empty when the process has no crons.
	Cron []byte
	// MemoryHash is the memory hash (vm.HashMemory); File names the snapshot under the data directory.
	MemoryHash []byte
	File       string
	// Pages lists the keys of the memory pages a paged snapshot uses (PageStore; nil for a whole snapshot):
	// a store that keeps pages keeps these while the checkpoint exists.
	Pages [][32]byte
}
