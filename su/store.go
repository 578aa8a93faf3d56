package su

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// ErrNotFound is returned by a Store when the asked slot, item or process does not exist.
var ErrNotFound = errors.New("not found")

// Slot is one entry of a process's log: nonce n, its signed assignment and (except on the assign path) the
// scheduled item itself.
type Slot struct {
	Process      string
	Nonce        uint64
	Timestamp    int64 // ms; strictly increasing within a process
	BlockHeight  uint64
	HashChain    string
	AssignmentID string
	// MessageID is the scheduled item's id: the process id for the Process's own slot (nonce 0).
	MessageID string
	// ContentHash is the de-duplication key of a pushed message (one with From-Process), "" otherwise.
	ContentHash string
	Assignment  []byte // the signed Assignment item
	// Message is the scheduled item as received (ANS-104). Nil when a message was assigned by id: the SU then
	// holds only the assignment, as the reference does.
	Message []byte
	// Upload asks Commit to queue the slot's Message (when held) and Assignment for the data-availability
	// layer, by reference to the slot: the queue never holds a second copy of them. It is not stored; slots
	// read back have it false.
	Upload bool
}

// PageQuery selects part of a process's log. Bounds apply to the timestamp, or to the nonce when ByNonce: From
// is exclusive, To inclusive, each only when its Has flag is set. Rows come in ascending order, at most Limit.
// When MaxBytes is positive, a store may end the page early, after the slot that brings the Message and
// Assignment bytes read past MaxBytes (SlotBytes): a page of large messages is then bounded in memory.
type PageQuery struct {
	ByNonce        bool
	From, To       int64
	HasFrom, HasTo bool
	Limit          int
	MaxBytes       int
}

// SlotBytes is what a slot weighs against PageQuery.MaxBytes.
func SlotBytes(s *Slot) int { return len(s.Message) + len(s.Assignment) }

// Upload is one queued item (or bundle) for the data-availability layer.
type Upload struct {
	Seq  int64
	Item []byte
}

// SlotUpload is one queued item of a slot marked Upload, held by reference: its message (Part 0) or its
// assignment (Part 1).
type SlotUpload struct {
	Process string
	Nonce   uint64
	Part    int
}

// SlotUploads lists what Commit queues for the slots marked Upload, in queue order: each slot's message (when
// held), then its assignment. Store implementations write these references, not the bytes.
func SlotUploads(slots []Slot) []SlotUpload {
	var out []SlotUpload
	for i := range slots {
		sl := &slots[i]
		if !sl.Upload {
			continue
		}
		if sl.Message != nil {
			out = append(out, SlotUpload{sl.Process, sl.Nonce, 0})
		}
		out = append(out, SlotUpload{sl.Process, sl.Nonce, 1})
	}
	return out
}

// UploadRows is what ScanUploads reads: database/sql's and pgx's rows both are.
type UploadRows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// ScanUploads reads PendingUploads rows of (seq, item) into Uploads. A NULL item is a reference to a slot item
// the store does not hold, which a Commit never writes: an error, not a silent gap in the queue.
func ScanUploads(rows UploadRows) ([]Upload, error) {
	var out []Upload
	for rows.Next() {
		var up Upload
		if err := rows.Scan(&up.Seq, &up.Item); err != nil {
			return nil, fmt.Errorf("su store: upload queue: %w", err)
		}
		if up.Item == nil {
			return nil, fmt.Errorf("su store: upload queue: entry %d names a slot item that is not stored", up.Seq)
		}
		out = append(out, up)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("su store: upload queue: %w", err)
	}
	return out, nil
}

// UploadDrainer is implemented by a store that several SU replicas share: HoldUploads reports whether this
// replica may drain the upload queue now (it holds, or has just taken, the store's single drainer lock), so
// that an item is sent by one replica only. A store without it has one SU, which always drains.
type UploadDrainer interface {
	HoldUploads(ctx context.Context) (bool, error)
}

// Store is the SU's durable state: the slots of every process and the upload queue. Implementations live in
// store/sqlite and store/postgres; store/storetest holds the suite every one must pass.
type Store interface {
	// Commit writes slots and queues uploads (other items, as they are) in one durable transaction, with the
	// items of every slot marked Upload: when it returns nil, all of them survive a crash; on error, none of
	// them is written. PendingUploads gives a slot's message before its assignment. The batch's first slot of
	// each process must follow that process's durable head (FirstNonces, CheckHeads), checked under a lock
	// that serialises committers of the process: otherwise Commit returns a *ConflictError.
	Commit(ctx context.Context, slots []Slot, uploads [][]byte) error
	// Last returns a process's highest-nonce slot, or ErrNotFound when the process has none.
	Last(ctx context.Context, pid string) (Slot, error)
	// Find returns the slot of process pid whose message id or assignment id is id.
	Find(ctx context.Context, pid, id string) (Slot, error)
	// FindContent returns the slot of process pid with the given content hash.
	FindContent(ctx context.Context, pid, hash string) (Slot, error)
	// ScanIDs calls fn with the message id and content hash ("" if none) of every slot of pid, in any order.
	ScanIDs(ctx context.Context, pid string, fn func(messageID, contentHash string)) error
	// Item returns the raw item whose id is id from any process's slots.
	Item(ctx context.Context, id string) ([]byte, error)
	// Page returns the slots of pid that q selects.
	Page(ctx context.Context, pid string, q PageQuery) ([]Slot, error)
	// PendingUploads returns up to limit queued uploads, oldest first.
	PendingUploads(ctx context.Context, limit int) ([]Upload, error)
	// DeleteUploads removes uploads that reached the data-availability layer.
	DeleteUploads(ctx context.Context, seqs []int64) error
	Close() error
}

// ConflictError is what Commit returns when the batch's first slot of some process does not follow that
// process's durable head: another SU replica sharing the store has written to the process since this one read
// its head. Nothing of the batch is written. The SU reloads the named heads and schedules those requests again.
type ConflictError struct {
	Processes []string // sorted, each once
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("su store: the head of %d process(es) moved (another writer), first %s", len(e.Processes), e.Processes[0])
}

// FirstNonces lists, per process of a batch, the nonce its first slot claims, sorted by process: a store checks
// each against the process's durable head under its lock (CheckHeads), in this order so that two committers
// never wait on each other's locks in a cycle. A process's slots in a batch must be contiguous, in nonce order.
func FirstNonces(slots []Slot) ([]string, []uint64, error) {
	first := map[string]int{}
	var pids []string
	for i := range slots {
		sl := &slots[i]
		if _, ok := first[sl.Process]; !ok {
			first[sl.Process] = i
			pids = append(pids, sl.Process)
		}
	}
	// Contiguity within the batch: each slot of a process follows the previous one of the same process.
	prev := make(map[string]uint64, len(pids))
	for i := range slots {
		sl := &slots[i]
		if p, ok := prev[sl.Process]; ok && sl.Nonce != p+1 {
			return nil, nil, fmt.Errorf("su store: batch slots of %s are not contiguous (%d after %d)", sl.Process, sl.Nonce, p)
		}
		prev[sl.Process] = sl.Nonce
	}
	slices.Sort(pids)
	nonces := make([]uint64, len(pids))
	for i, pid := range pids {
		nonces[i] = slots[first[pid]].Nonce
	}
	return pids, nonces, nil
}

// CheckHeads compares the first nonces of a batch (FirstNonces) with the durable heads a store read under its
// lock (head: the highest durable nonce, ok false when the process has no slot) and returns a *ConflictError
// naming every process whose batch does not start right after its head, or nil.
func CheckHeads(pids []string, firsts []uint64, head func(i int) (nonce uint64, ok bool)) error {
	var stale []string
	for i, pid := range pids {
		n, ok := head(i)
		if ok && firsts[i] != n+1 || !ok && firsts[i] != 0 {
			stale = append(stale, pid)
		}
	}
	if stale != nil {
		return &ConflictError{Processes: stale}
	}
	return nil
}
