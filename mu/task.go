package mu

import (
	"context"
	"errors"
	"time"
)

// Kind says what a task delivers.
type Kind string

const (
	// KindMessage is a user's signed Message posted to POST /: write it to the target's SU, then crank its result.
	KindMessage Kind = "message"
	// KindProcess is a user's signed Process posted to POST /: write it to its Scheduler's SU, then crank its
	// boot result.
	KindProcess Kind = "process"
	// KindPush is an outbox message re-signed by the MU (or a Spawned notice): write it to the target's SU (or
	// upload it to the gateway when the target is a wallet), then crank its result.
	KindPush Kind = "push"
	// KindSpawn is an outbox spawn, a Process item signed by the MU: write it, send the Spawned notice to the
	// parent, then crank the new process's boot result.
	KindSpawn Kind = "spawn"
	// KindAssign schedules an existing message onto a process (POST /?assign= or an outbox Assignment), then
	// cranks its result there.
	KindAssign Kind = "assign"
)

// Stage is where a task is in its life. Tasks move write → pull → done; any stage can end in parked.
//
// The "build" step of the reference MU has no stage of its own here: an outbox entry is validated, built and
// signed while its parent's result is cranked, and the signed bytes are stored with the child task in the same
// transaction that marks the parent done. From then on the item's id is fixed, so every retry of the write
// re-posts the very same item and the SU's de-duplication by id makes the write happen once.
type Stage string

const (
	StageWrite  Stage = "write"  // post the item to its SU (or upload it, or call assign)
	StagePull   Stage = "pull"   // fetch the result from a CU and crank it (children + done in one transaction)
	StageDone   Stage = "done"   // finished; kept for a while so a re-posted user item is recognised
	StageParked Stage = "parked" // failed for good or invalid; visible on GET / and /metrics, never dropped
)

// Task is one durable unit of work. Everything a retry needs is in the row.
type Task struct {
	ID    int64
	Key   string // idempotency key, unique: "item:<id>", "assign:<pid>:<msg>", "<parent>/<n>", "cron:<pid>:<cursor>/<n>"
	Kind  Kind
	Stage Stage

	Process string // the process the item is written to (its target) and whose result is pulled
	ItemID  string // id of the item (for assign: the assigned message id)
	Item    []byte // signed ANS-104 bytes, set before the first write attempt (nil for assign)
	Origin  string // the user item at the root of this cascade (the Pushed-For of children)
	Parent  int64  // the task whose crank created this one, 0 for tasks from a request or a cron tick
	// Depth counts the hops from the root of the cascade: 0 for a user's item, its outbox messages 1, theirs 2,
	// and so on (children of a cron result start at 1). Beyond Config.MaxDepth a task is parked (brake.go).
	Depth int

	// Assign parameters (KindAssign).
	BaseLayer bool
	Exclude   []string

	Cast bool // scheduled only: the result is not cranked
	// AssignTo lists processes the item is also assigned to once written (outbox tag Assignments, or the
	// Target of a user's Process item).
	AssignTo []string

	Attempts  int       // failed attempts so far
	NextAt    time.Time // not before; zero = now
	LastError string    // the last failure, or the reason it is parked
	Created   time.Time
	Updated   time.Time

	// stored is the stage the store holds when it lags Stage: after a successful write with nothing to add,
	// the MU goes on to pull without committing (one commit per hop instead of two). A crash there re-does
	// the write, which the SU answers from its de-duplication by id. "" means Stage.
	stored Stage
}

func (t Task) storedStage() Stage {
	if t.stored != "" {
		return t.stored
	}
	return t.Stage
}

// Advance is a stage change of one task, applied only if the task is still at From (compare-and-set), together
// with the children it creates, all in one transaction.
type Advance struct {
	ID       int64
	From, To Stage
	ItemID   string // when non-empty, replaces the task's ItemID (e.g. learnt from the SU)
	Error    string // LastError to record (the reason, for To == StageParked)
	Children []Task
}

// ErrStale is returned when a compare-and-set finds the task (or monitor cursor) already moved on: another
// attempt did the work, and this one must not repeat it.
var ErrStale = errors.New("mu: task already advanced")

// Monitor is a persisted cron subscription: the MU asks the CU for the process's cron results after Cursor.
type Monitor struct {
	Process string
	Cursor  string // CU cursor of the last cranked cron result; "" = from the start
	Created time.Time
}

// Store is the MU's durable state: the task queue and the monitors. store/sqlite implements it.
type Store interface {
	// Insert adds tasks. A task whose Key already exists is not inserted again; the existing row is returned in
	// its place, with inserted false.
	Insert(ctx context.Context, t Task) (stored Task, inserted bool, err error)
	// Advance applies a stage change and inserts its children atomically; ErrStale if the task is not at a.From.
	// It returns the children as stored (with IDs); a child whose Key exists is skipped. An advance to
	// StageDone with no children may be applied lazily (returned before it is durable, reads showing the
	// earlier stage for a moment, a stale one unreported): every stage is safe to do again after a crash.
	// With the children it records their crank Links (from the task's ItemID and Process).
	Advance(ctx context.Context, a Advance) ([]Task, error)
	// Retry records a failed attempt: attempts, the time of the next one, and the error.
	Retry(ctx context.Context, id int64, attempts int, next time.Time, lastError string) error
	// Delete removes a task that was never accepted (a request answered with an error).
	Delete(ctx context.Context, id int64) error
	// Unpark moves a parked task back to stage to, with its attempts reset.
	Unpark(ctx context.Context, id int64, to Stage) error
	// Get returns one task.
	Get(ctx context.Context, id int64) (Task, error)
	// Pending returns every task that is neither done nor parked, oldest first.
	Pending(ctx context.Context) ([]Task, error)
	// Parked returns up to limit parked tasks, newest first.
	Parked(ctx context.Context, limit int) ([]Task, error)
	// Counts returns the number of tasks per stage.
	Counts(ctx context.Context) (map[Stage]int, error)
	// PruneDone deletes done tasks last updated before t.
	PruneDone(ctx context.Context, before time.Time) (int, error)

	// PutMonitor adds (or keeps) a monitor.
	PutMonitor(ctx context.Context, m Monitor) error
	// DeleteMonitor removes a monitor; false if there was none.
	DeleteMonitor(ctx context.Context, pid string) (bool, error)
	// Monitors lists the monitors.
	Monitors(ctx context.Context) ([]Monitor, error)
	// AdvanceMonitor moves a monitor's cursor from → to and inserts the tasks the cranked cron result created,
	// atomically, with their crank Links (Parent "", ParentProcess pid); ErrStale if the cursor is not at from
	// (or the monitor is gone).
	AdvanceMonitor(ctx context.Context, pid, from, to string, children []Task) ([]Task, error)

	Close() error
}

// SharedStore is a Store that several MU replicas share (store/postgres; each replica opens its own). Every
// pending task and every monitor belongs to one replica at a time: Insert, the children of Advance and
// AdvanceMonitor, Unpark and PutMonitor give what they create to the calling replica, and Advance, Retry and
// AdvanceMonitor are fenced, returning ErrStale once another replica has taken the task or monitor over. A
// replica holds a lease that lasts Lease unless renewed (Heartbeat); when a replica dies its lease runs out and
// the others take its tasks (Claim) and monitors (LeaseMonitors) over.
//
// Exactly once does not rest on the leases: the compare-and-set stage changes and unique keys already make each
// crank commit once, and re-posting a stored item is idempotent at the SU. The leases keep replicas from doing
// the same work twice, and the fencing stops a replica that lost its lease at its next commit.
type SharedStore interface {
	Store
	// Lease is how long a replica's lease lasts without renewal.
	Lease() time.Duration
	// Heartbeat renews this replica's lease.
	Heartbeat(ctx context.Context) error
	// Claim gives this replica up to n tasks due by now (NextAt) of replicas whose lease ran out, oldest first.
	// Rows another replica is claiming at the same moment are skipped.
	Claim(ctx context.Context, now time.Time, n int) ([]Task, error)
	// LeaseMonitors takes over the monitors of replicas whose lease ran out and returns this replica's, with
	// their cursors.
	LeaseMonitors(ctx context.Context) ([]Monitor, error)
}
