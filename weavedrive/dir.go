package weavedrive

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// Dir is a Source of files named by id in one directory (aogo run --drive DIR). It has no transaction
// headers or blocks.
type Dir string

func (d Dir) path(id string) string { return filepath.Join(string(d), id) }

// Size implements Source.
func (d Dir) Size(_ context.Context, id string) (int64, bool, error) {
	fi, err := os.Stat(d.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	if !fi.Mode().IsRegular() {
		return 0, false, nil
	}
	return fi.Size(), true, nil
}

// ReadRange implements Source.
func (d Dir) ReadRange(_ context.Context, id string, off, n int64) ([]byte, error) {
	f, err := os.Open(d.path(id))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, n)
	if _, err := f.ReadAt(b, off); err != nil {
		return nil, err
	}
	return b, nil
}

// Tx implements Source: a directory has none.
func (Dir) Tx(context.Context, string) ([]byte, bool, error) { return nil, false, nil }

// Block implements Source: a directory has none.
func (Dir) Block(context.Context, int64) ([]byte, bool, error) { return nil, false, nil }
