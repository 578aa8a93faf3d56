package sqlite

// Sync says when a commit of the SU and MU stores is durable: what it survives once it has returned.
type Sync int

const (
	// SyncFull (the default) fsyncs the WAL at every commit: a committed slot or task survives the unit's crash,
	// kill -9, an OS crash and a power loss. A production SU or MU wants this.
	SyncFull Sync = iota
	// SyncNormal writes every commit to the WAL (so into the OS's page cache) before it returns and fsyncs only at
	// WAL checkpoints: a commit survives the unit's own crash and kill -9 (the OS still holds the page), not an OS
	// crash or power loss, which can lose the last commits before it (the file stays consistent). It saves an
	// fsync per commit: 0.3-0.5 ms of each message's POST on a small VM, twice (the MU's task, the SU's slot).
	// `aogo dev`, a network on one machine, uses it.
	SyncNormal
)

// pragma is the SQLite synchronous setting for s.
func (s Sync) pragma() string {
	if s == SyncNormal {
		return "NORMAL"
	}
	return "FULL"
}

// Option configures OpenSU and OpenMU.
type Option func(*options)

type options struct {
	sync Sync
}

// WithSync sets when a commit is durable (default SyncFull).
func WithSync(s Sync) Option { return func(o *options) { o.sync = s } }

func applyOptions(opts []Option) options {
	var o options
	for _, f := range opts {
		f(&o)
	}
	return o
}
