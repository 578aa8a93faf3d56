package explorer

import (
	"context"
	"errors"

	"github.com/aogo/aogo/cu"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/mu"
	"github.com/aogo/aogo/su"
)

// Log is the part of an SU's store the explorer reads. su.Store implements it.
type Log interface {
	// Page returns the slots of pid that q selects (the explorer pages by nonce).
	Page(ctx context.Context, pid string, q su.PageQuery) ([]su.Slot, error)
	// Find returns the slot of pid whose message id or assignment id is id (su.ErrNotFound if none).
	Find(ctx context.Context, pid, id string) (su.Slot, error)
	// Item returns a raw item held in any process's slots (su.ErrNotFound if none).
	Item(ctx context.Context, id string) ([]byte, error)
}

// Results is the part of a CU's store the explorer reads. cu.Store implements it.
type Results interface {
	EvalByMessage(ctx context.Context, pid, mid string) (*cu.Eval, error)
	Evals(ctx context.Context, pid string, q cu.EvalQuery) ([]cu.Eval, bool, error)
	LatestCheckpoint(ctx context.Context, pid string) (*cu.Checkpoint, error)
}

// Links is the part of an MU's store the explorer reads: the crank links and the cron monitors.
// store/sqlite's MUStore implements it.
type Links interface {
	LinksFrom(ctx context.Context, id string, limit int) ([]mu.Link, error)
	LinksTo(ctx context.Context, id string, limit int) ([]mu.Link, error)
	Monitors(ctx context.Context) ([]mu.Monitor, error)
}

// Items is the part of a gateway the explorer reads: modules' tags, and the items the SU never scheduled
// (messages to wallets, which the MU uploads). *gateway.Client implements it.
type Items interface {
	Item(ctx context.Context, id string) ([]byte, error)
	Tags(ctx context.Context, id string) ([]dataitem.Tag, string, error)
}

// ErrNotFound is what an Index returns for an unknown process.
var ErrNotFound = errors.New("not found")

// ProcessRow is an indexed process: the fields of its Process item and how far its log is indexed.
type ProcessRow struct {
	Seq       int64  `json:"seq"` // the order the index met processes in (the list's cursor)
	ID        string `json:"id"`
	Owner     string `json:"owner"`
	Module    string `json:"module"`
	Scheduler string `json:"scheduler"`
	Parent    string `json:"parent,omitempty"` // From-Process of a spawned process
	Name      string `json:"name,omitempty"`
	Timestamp int64  `json:"timestamp"` // of its slot 0
	// Slots is how many of its slots are indexed: the next nonce to index.
	Slots uint64 `json:"slots"`
	// LastTimestamp is the timestamp of its newest indexed slot.
	LastTimestamp int64 `json:"last_timestamp"`
}

// MessageRow is one indexed slot.
type MessageRow struct {
	Seq         int64  `json:"seq"` // the index's order over all processes (the search and stream cursor)
	Process     string `json:"process"`
	Nonce       uint64 `json:"slot"`
	ID          string `json:"id"`
	Assignment  string `json:"assignment"`
	Owner       string `json:"owner,omitempty"` // signer of the message ("" when the item is not held)
	FromProcess string `json:"from_process,omitempty"`
	Action      string `json:"action,omitempty"`
	Timestamp   int64  `json:"timestamp"`
	BlockHeight uint64 `json:"block_height"`
	// Tags are indexed (name=value search) but not read back.
	Tags []dataitem.Tag `json:"-"`
}

// MessageQuery pages a process's indexed slots by nonce: ascending from From (inclusive), or, when Desc,
// descending from Before (exclusive; 0 means from the newest).
type MessageQuery struct {
	From   uint64
	Before uint64
	Desc   bool
	Limit  int
}

// SearchQuery selects indexed messages newest first: by signer Owner, or by the tag Name=Value; Before
// (exclusive, 0 = newest) is the Seq cursor.
type SearchQuery struct {
	Owner         string
	TagName       string
	TagValue      string
	Process       string // only messages of this process ("" = any)
	Action        string // only messages with this Action ("" = any)
	Before, Limit int64
}

// ModuleCount is a module and how many indexed processes run it.
type ModuleCount struct {
	ID        string `json:"id"`
	Processes int64  `json:"processes"`
}

// Index is the explorer's own index of the SU log. store/sqlite's ExplorerIndex implements it.
type Index interface {
	// Next returns the next nonce of pid to index (0 for a process it has not met).
	Next(ctx context.Context, pid string) (uint64, error)
	// Add stores new processes and messages in one transaction; the processes of the messages must be added
	// before or with them. It sets the Seq of each message it adds; a message already indexed is skipped
	// (its Seq stays 0).
	Add(ctx context.Context, procs []ProcessRow, msgs []MessageRow) error
	// Process returns one process, or ErrNotFound.
	Process(ctx context.Context, pid string) (ProcessRow, error)
	// Processes lists processes newest first, Seq below before (0 = from the newest).
	Processes(ctx context.Context, before int64, limit int) ([]ProcessRow, error)
	// ProcessesBy lists the processes spawned by parent (when set) or owned by owner, newest first.
	ProcessesBy(ctx context.Context, parent, owner string, limit int) ([]ProcessRow, error)
	// Messages pages one process's messages by nonce.
	Messages(ctx context.Context, pid string, q MessageQuery) ([]MessageRow, error)
	// ByID returns the messages whose message id or assignment id is id (one per process it is in).
	ByID(ctx context.Context, id string, limit int) ([]MessageRow, error)
	// Search returns the messages q selects (all messages when it names no owner nor tag), newest first.
	Search(ctx context.Context, q SearchQuery) ([]MessageRow, error)
	// Rate counts pid's messages per second with timestamps in [from, to) ms (whole seconds), one count per second.
	Rate(ctx context.Context, pid string, from, to int64) ([]int64, error)
	// Modules lists the modules of the indexed processes, most used first.
	Modules(ctx context.Context, limit int) ([]ModuleCount, error)
}
