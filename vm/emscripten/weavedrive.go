package emscripten

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/aogo/aogo/vm"
	"github.com/bytecodealliance/wasmtime-go/v39"
)

// WeaveDrive. The modules call weavedrive_open/read/close through asyncify in the reference (the JS
// drive is async); we answer synchronously, so asyncify never unwinds and its state stays 0. The C side
// (ao's patched fopen/fread/fclose) does fdopen on the descriptor we return, seeks it with fd_seek and
// reads through weavedrive_read.

func hostDriveOpen(in *instance, _ *wasmtime.Caller, v view, a []uint64) uint64 {
	if in.opts.WeaveDrive == nil {
		return 0 // no extension: fopen returns NULL
	}
	p := v.cstring(a[0], 4096)
	f, err := in.opts.WeaveDrive.Open(in.ctx, p)
	if err != nil {
		return in.driveRefused(p, err)
	}
	if f == nil {
		return 0
	}
	fd := in.host.FS.lowestFD(0)
	in.host.FS.FDs[fd] = &fdEntry{Path: p, Kind: kindDrive, Size: f.Size(), Fresh: true}
	in.drives[fd] = f
	return uint64(fd)
}

// driveRefused handles an Open error as the reference loader's glue handles the drive's answers: the
// "HALT" answer throws on wasm64 (the message ends with that Error) and is fopen's NULL on emscripten4;
// a refusal throws on every format; anything else is a host failure.
func (in *instance) driveRefused(path string, err error) uint64 {
	var ref *vm.DriveRefusal
	switch {
	case errors.As(err, &ref):
		stop(errors.New(ref.Reason))
	case errors.Is(err, vm.ErrFileNotFound):
		if in.f.mem64 {
			stop(vm.ErrFileNotFound)
		}
		return 0
	}
	stop(hostFailure{fmt.Errorf("weavedrive open %s: %w", path, err)})
	return 0
}

func hostDriveRead(in *instance, _ *wasmtime.Caller, v view, a []uint64) uint64 {
	e := in.fd(a[0])
	if e == nil || e.Kind != kindDrive {
		return 0
	}
	if e.Fresh {
		e.Pos, e.Fresh = 0, false
	}
	n := in.driveReadAt(e, v.span(a[1], a[2]))
	e.Pos += int64(n)
	return uint64(n)
}

func hostDriveClose(in *instance, c *wasmtime.Caller, v view, a []uint64) uint64 {
	sysFdClose(in, c, v, a[:1])
	return 0
}

// driveReadAt reads from the drive file behind e at e.Pos (not advancing it). The file is reopened by
// path after a restore or fork, which is safe because drive content is immutable.
func (in *instance) driveReadAt(e *fdEntry, dst []byte) int {
	var f vm.DriveFile
	for fd, ent := range in.host.FS.FDs {
		if ent == e {
			f = in.drives[fd]
			if f == nil {
				if in.opts.WeaveDrive == nil {
					return 0
				}
				var err error
				f, err = in.opts.WeaveDrive.Open(in.ctx, e.Path)
				if err != nil {
					in.driveRefused(e.Path, err)
					return 0
				}
				if f == nil {
					return 0
				}
				in.drives[fd] = f
			}
			break
		}
	}
	if f == nil || e.Pos >= e.Size {
		return 0
	}
	if rest := e.Size - e.Pos; int64(len(dst)) > rest {
		dst = dst[:rest]
	}
	n, err := f.ReadAt(dst, e.Pos)
	if err != nil && !errors.Is(err, io.EOF) {
		stop(hostFailure{fmt.Errorf("weavedrive read %s: %w", e.Path, err)})
	}
	return n
}

// driveCache remembers the files opened since the machine's base, so a rollback's replay reads them
// again without asking the backend (which may be what just failed). Drive content is immutable, so a
// remembered file is as good as a fresh one. Answers are remembered per (Block-Height of the message,
// path): whether a path is available may change from one message to the next (data admitted by a later
// attestation), never within one height. The machine sets height before each apply and clears the
// cache when it re-takes its base.
type driveCache struct {
	inner  vm.WeaveDrive
	files  map[driveKey]vm.DriveFile
	height int64
}

type driveKey struct {
	height int64
	path   string
}

// callHeight is the height driveCache keys a call's answers by (-1 without a call).
func callHeight(c *vm.DriveCall) int64 {
	if c == nil {
		return -1
	}
	return c.BlockHeight
}

func (d *driveCache) Open(ctx context.Context, path string) (vm.DriveFile, error) {
	k := driveKey{d.height, path}
	if f, ok := d.files[k]; ok {
		return f, nil
	}
	f, err := d.inner.Open(ctx, path)
	if err == nil {
		d.files[k] = f // nil too: "not available" is an answer to replay as well
	}
	return f, err
}

func (d *driveCache) clone() *driveCache {
	c := &driveCache{inner: d.inner, files: make(map[driveKey]vm.DriveFile, len(d.files)), height: d.height}
	for k, v := range d.files {
		c.files[k] = v
	}
	return c
}
