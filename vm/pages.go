package vm

import (
	"errors"
	"io"
)

// Paged snapshots
//
// A process holding a model keeps the same hundreds of MB of weights in memory from one checkpoint to the
// next. A paged snapshot writes the state without its memory pages, naming each non-zero 64 KiB page by its
// key (its memory-hash leaf: SHA-256 over the SHA-256s of its 4 KiB chunks, see HashMemory), and hands the
// pages to a PageStore that keeps each distinct page once: the weights are stored by the first checkpoint,
// and the next ones add only the pages that changed.

// PageStore keeps memory pages by key. Page returns ErrPageNotFound for a key it does not hold.
type PageStore interface {
	HasPage(key [32]byte) (bool, error)
	PutPage(key [32]byte, page []byte) error
	Page(key [32]byte) ([]byte, error)
}

// ErrPageNotFound is what a PageStore's Page returns for a key it does not hold.
var ErrPageNotFound = errors.New("page not found")

// PagedSnapshotter is a Machine that can write paged snapshots: like Snapshot, but the memory's non-zero pages
// go to pages (those it does not hold yet) and the stream names them. Restore it with RestorePaged.
type PagedSnapshotter interface {
	SnapshotPaged(w io.Writer, pages PageStore) ([32]byte, error)
}

// PagedRestorer is a Loader that restores paged snapshots (and plain ones).
type PagedRestorer interface {
	RestorePaged(format string, wasm []byte, opts Options, snapshot io.Reader, pages PageStore) (Machine, error)
}

// RestorePaged is Restore for a snapshot written by Machine.Snapshot or PagedSnapshotter.SnapshotPaged, whose
// pages are in pages.
func RestorePaged(format string, wasm []byte, opts Options, snapshot io.Reader, pages PageStore) (Machine, error) {
	l, err := loader(format)
	if err != nil {
		return nil, err
	}
	if format == "" {
		format = DefaultFormat
	}
	if pr, ok := l.(PagedRestorer); ok {
		return pr.RestorePaged(format, wasm, opts, snapshot, pages)
	}
	return l.Restore(format, wasm, opts, snapshot)
}
