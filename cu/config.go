package cu

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/vm"
)

// Scheduler is what the CU reads from an SU. *client.SU implements it.
type Scheduler interface {
	Process(ctx context.Context, pid string) (*client.SUProcess, error)
	Page(ctx context.Context, pid string, q client.SUQuery) (*client.SUPage, error)
	Message(ctx context.Context, id, pid string) (*client.SUMessage, error)
	Timestamp(ctx context.Context) (client.SUTimestamp, error)
}

// Locator finds the SU of a process (a fixed URL, or the process's Scheduler-Location).
type Locator interface {
	Locate(ctx context.Context, pid string) (Scheduler, error)
}

// FixedScheduler is a Locator that answers s for every process.
func FixedScheduler(s Scheduler) Locator { return fixed{s} }

type fixed struct{ s Scheduler }

func (f fixed) Locate(context.Context, string) (Scheduler, error) { return f.s, nil }

// ItemSource fetches whole signed items (modules, and messages assigned from Arweave). *gateway.Client
// implements it with GET /item/{id}.
type ItemSource interface {
	Item(ctx context.Context, id string) ([]byte, error)
}

// Block is one Arweave block as cron generation needs it.
type Block struct {
	Height    int64
	Timestamp int64 // ms
}

// BlockSource lists the blocks with min <= height <= max, ascending. Block-based crons need one; without
// it they never fire (time-based crons do not need it).
type BlockSource interface {
	Blocks(ctx context.Context, min, max int64) ([]Block, error)
}

// Machines opens VM instances. vm.Loader has this shape; the default uses vm.Open and vm.Restore (the
// registry filled by importing vm/emscripten).
type Machines interface {
	Open(format string, wasm []byte, opts vm.Options) (vm.Machine, error)
	Restore(format string, wasm []byte, opts vm.Options, snapshot io.Reader) (vm.Machine, error)
}

type registry struct{}

func (registry) Open(format string, wasm []byte, opts vm.Options) (vm.Machine, error) {
	return vm.Open(format, wasm, opts)
}

func (registry) Restore(format string, wasm []byte, opts vm.Options, snap io.Reader) (vm.Machine, error) {
	return vm.Restore(format, wasm, opts, snap)
}

// HashPolicy chooses the messages whose attestation carries a Memory-Hash.
type HashPolicy int

const (
	// HashPerRun hashes after the last message of each evaluation run (the message a /result request waits
	// for when the process is hot) and at checkpoints. The default.
	HashPerRun HashPolicy = iota
	// HashEveryMessage hashes after every message.
	HashEveryMessage
	// HashAtCheckpoint hashes only at checkpoints, where the snapshot computes it anyway: no extra cost.
	HashAtCheckpoint
)

// ParseHashPolicy reads "run", "every" or "checkpoint".
func ParseHashPolicy(s string) (HashPolicy, error) {
	switch s {
	case "run", "":
		return HashPerRun, nil
	case "every":
		return HashEveryMessage, nil
	case "checkpoint":
		return HashAtCheckpoint, nil
	}
	return 0, fmt.Errorf("memory hash policy %q: want run, every or checkpoint", s)
}

// Compute limits (units: wasmtime fuel, ≈ one wasm instruction; gas on the metering formats, as the reference
// meters them). Measured on a 2-core cloud VM (2026) with aos 2.x: a tight Lua loop (`while true do end`)
// runs ≈7.5 units/ns, the slowest loop shape measured (growing a string) ≈1.7 units/ns.
const (
	// DefaultMaxCompute is MaxCompute's default: a looping message ends in ≈1.5 s here (≈6 s for the slowest
	// shape measured); a 100,000-entry table build uses 7e8.
	DefaultMaxCompute = 10_000_000_000
	// DefaultMaxDryRunCompute is MaxDryRunCompute's default: ≈0.15–0.6 s of a loop here.
	DefaultMaxDryRunCompute = 1_000_000_000
)

// Config configures a CU. Wallet, Scheduler, Modules, Store and DataDir are required.
type Config struct {
	// Wallet identifies the CU (GET /) and signs result attestations.
	Wallet dataitem.Signer
	// Scheduler finds each process's SU.
	Scheduler Locator
	// Modules fetches Module items; they are verified and cached on disk by id.
	Modules ItemSource
	// Blocks backs block-based crons; optional.
	Blocks BlockSource
	Store  Store
	// Machines opens VMs; nil means the vm registry.
	Machines Machines
	// DataDir holds the module cache (modules/) and memory snapshots (snapshots/).
	DataDir string
	// CompiledCache holds compiled modules (vm.Options.CacheDir); empty means DataDir/wasmcache. Give every
	// CU and `aogo run` of a machine the same directory (cmd/aogo gives them the user's cache directory) and a
	// module compiles once on that machine, whatever the data dir.
	CompiledCache string

	// MaxMemory bounds Memory-Limit (413 above; 0 means the reference's default, 1 GiB).
	MaxMemory uint64
	// MaxCompute caps the Compute-Limit each message evaluates under (0 means DefaultMaxCompute): a
	// process whose Compute-Limit is higher (aos modules publish 9e12, ≈ 20 minutes of a loop here) runs
	// under MaxCompute instead. A message that reaches it ends with a deterministic Error naming both
	// numbers; CUs that are to agree on results must share MaxCompute (see doc.go, Compute limits).
	MaxCompute uint64
	// MaxDryRunCompute caps the Compute-Limit of a dry-run (0 means DefaultMaxDryRunCompute; never above
	// MaxCompute). Anyone may post a dry-run of any code, so it gets less than a scheduled message.
	MaxDryRunCompute uint64
	// CheckpointEvery is the number of evaluations between checkpoints (default 1000).
	CheckpointEvery int
	// CacheBytes is the memory budget of hot machines (sum of their linear memory; default 2 GiB). The least
	// recently used machines are checkpointed and closed beyond it.
	CacheBytes uint64
	// PageSize is the SU page size when loading messages (default 1000).
	PageSize int
	// MemoryHash says after which messages the memory hash (attested as Memory-Hash) is computed. Hashing
	// a 70 MB aos memory costs a scan of it plus SHA-256 of the pages that changed: a few times the
	// evaluation of a typical message.
	MemoryHash HashPolicy
	// SkipSignatureCheck disables the verification of assignment signatures (the hash chain is still
	// checked). For SUs whose JSON cannot carry the assignment anchor.
	SkipSignatureCheck bool
	// WeaveDrive backs the WeaveDrive extension (weavedrive.Drive over the CU's gateway); nil disables it.
	// Each evaluation's opens carry a vm.DriveCall: the process's and module's tags and the message's
	// Block-Height (a dry-run: the last evaluated message's).
	WeaveDrive vm.WeaveDrive
	// Archive, when set, is the gateway this CU publishes Checkpoint items to (every ArchiveEvery at most, and
	// at shutdown; ArchiveEvery 0 publishes none) and restores processes from when it has no local checkpoint
	// of them: only items signed by its own key or one in TrustCheckpoints (see archive.go).
	Archive          CheckpointArchive
	ArchiveEvery     time.Duration
	TrustCheckpoints []string
	// OperatorToken guards the operator routes (/metrics): they need "Authorization: Bearer <token>" and
	// never carry CORS headers. Empty: they are refused.
	OperatorToken string

	Logger *slog.Logger
	// Now is the clock (GET / timestamp, cron tail); nil means time.Now.
	Now func() time.Time
}

// compiledCache is where compiled modules are cached (see CompiledCache).
func (cfg *Config) compiledCache() string {
	if cfg.CompiledCache != "" {
		return cfg.CompiledCache
	}
	return filepath.Join(cfg.DataDir, "wasmcache")
}
