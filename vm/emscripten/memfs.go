package emscripten

import (
	"path"
	"sort"
	"strings"
)

// errno values of emscripten's libc (wasi/musl numbering, as the glue's FS.ErrnoError uses them).
const (
	eBADF     = 8
	eEXIST    = 20
	eINVAL    = 28
	eISDIR    = 31
	eNOENT    = 44
	eNOSYS    = 52
	eNOTDIR   = 54
	eNOTEMPTY = 55
	eNOTTY    = 59
	eRANGE    = 68
	eSPIPE    = 70
	eACCES    = 2
)

// open(2) flags (musl).
const (
	oAccMode   = 3
	oWronly    = 1
	oRdwr      = 2
	oCreat     = 0o100
	oExcl      = 0o200
	oTrunc     = 0o1000
	oAppend    = 0o2000
	oDirectory = 0o200000
)

const atFDCWD = -100

// fd kinds.
const (
	kindTTY   = "tty"  // fd 0 and 1: /dev/tty (termios and window size ioctls answer)
	kindTTY1  = "tty1" // fd 2: /dev/tty1 (no ioctl ops)
	kindFile  = "file" // a MEMFS regular file
	kindDir   = "dir"
	kindNull  = "null"  // /dev/null
	kindDrive = "drive" // a WeaveDrive file (content from vm.WeaveDrive)
)

// memFS is the minimal in-host file system the ao modules need: stdio, the directories the emscripten FS
// creates at start (and /data, which the loader adds), regular files for os.tmpname/io.open on writable
// paths, and WeaveDrive descriptors. It is part of the machine state: snapshots carry it, so
// restore-then-continue equals replay even for a process that writes files (the reference keeps its FS in
// JS and loses it on reload; we are stricter).
type memFS struct {
	Nodes map[string]*memNode `json:"nodes"`
	FDs   map[int32]*fdEntry  `json:"fds"`
}

type memNode struct {
	Dir  bool   `json:"dir,omitempty"`
	Data []byte `json:"data,omitempty"`
	Dev  string `json:"dev,omitempty"` // kindNull, kindTTY, kindTTY1 for device nodes
	Ino  uint64 `json:"ino"`
	Time uint64 `json:"time,omitempty"` // Date.now() counter value when created or last written
}

type fdEntry struct {
	Path  string `json:"path"`
	Kind  string `json:"kind"`
	Pos   int64  `json:"pos"`
	Flags int32  `json:"flags"`
	Size  int64  `json:"size,omitempty"` // drive files: total size
	// Fresh marks a drive file not yet read: the first weavedrive_read starts at 0 whatever seeks came
	// before (aos reads a file as f:read(f:seek("end")), which the reference drives support this way).
	Fresh bool `json:"fresh,omitempty"`
}

func newMemFS(withData bool) *memFS {
	fs := &memFS{Nodes: map[string]*memNode{}, FDs: map[int32]*fdEntry{}}
	for _, d := range []string{"/", "/tmp", "/home", "/home/web_user", "/dev", "/dev/shm", "/dev/shm/tmp", "/proc", "/proc/self", "/proc/self/fd"} {
		fs.mkdir(d)
	}
	if withData {
		fs.mkdir("/data")
	}
	fs.Nodes["/dev/null"] = &memNode{Dev: kindNull, Ino: fs.nextIno()}
	fs.Nodes["/dev/tty"] = &memNode{Dev: kindTTY, Ino: fs.nextIno()}
	fs.Nodes["/dev/tty1"] = &memNode{Dev: kindTTY1, Ino: fs.nextIno()}
	fs.Nodes["/dev/stdin"] = fs.Nodes["/dev/tty"]
	fs.Nodes["/dev/stdout"] = fs.Nodes["/dev/tty"]
	fs.Nodes["/dev/stderr"] = fs.Nodes["/dev/tty1"]
	fs.FDs[0] = &fdEntry{Path: "/dev/stdin", Kind: kindTTY}
	fs.FDs[1] = &fdEntry{Path: "/dev/stdout", Kind: kindTTY, Flags: oWronly}
	fs.FDs[2] = &fdEntry{Path: "/dev/stderr", Kind: kindTTY1, Flags: oWronly}
	return fs
}

func (fs *memFS) nextIno() uint64 { return uint64(len(fs.Nodes) + 1) }

func (fs *memFS) mkdir(p string) { fs.Nodes[p] = &memNode{Dir: true, Ino: fs.nextIno()} }

// clone deep-copies the file system (file contents included) for forks and base states.
func (fs *memFS) clone() *memFS {
	c := &memFS{Nodes: make(map[string]*memNode, len(fs.Nodes)), FDs: make(map[int32]*fdEntry, len(fs.FDs))}
	seen := map[*memNode]*memNode{}
	for p, n := range fs.Nodes {
		if cn, ok := seen[n]; ok {
			c.Nodes[p] = cn
			continue
		}
		cn := *n
		cn.Data = append([]byte(nil), n.Data...)
		seen[n] = &cn
		c.Nodes[p] = &cn
	}
	for fd, e := range fs.FDs {
		ce := *e
		c.FDs[fd] = &ce
	}
	return c
}

// resolve makes p absolute against the cwd ("/"; chdir is not offered) and cleans it.
func resolve(dirfd int32, p string, fs *memFS) (string, int32) {
	if strings.HasPrefix(p, "/") {
		return path.Clean(p), 0
	}
	if dirfd != atFDCWD {
		e, ok := fs.FDs[dirfd]
		if !ok {
			return "", eBADF
		}
		if e.Kind != kindDir {
			return "", eNOTDIR
		}
		return path.Clean(path.Join(e.Path, p)), 0
	}
	return path.Clean("/" + p), 0
}

func (fs *memFS) parentOK(p string) int32 {
	dir := path.Dir(p)
	n, ok := fs.Nodes[dir]
	if !ok {
		return eNOENT
	}
	if !n.Dir {
		return eNOTDIR
	}
	return 0
}

// lowestFD is FS.nextfd: the lowest free descriptor.
func (fs *memFS) lowestFD(from int32) int32 {
	for fd := from; ; fd++ {
		if _, used := fs.FDs[fd]; !used {
			return fd
		}
	}
}

// open is FS.open for MEMFS paths; it returns the new fd or -errno.
func (fs *memFS) open(p string, flags int32, now uint64) int32 {
	n, exists := fs.Nodes[p]
	if flags&oCreat != 0 {
		if exists && flags&oExcl != 0 {
			return -eEXIST
		}
		if !exists {
			if e := fs.parentOK(p); e != 0 {
				return -e
			}
			n = &memNode{Ino: fs.nextIno(), Time: now}
			fs.Nodes[p] = n
			exists = true
		}
	}
	if !exists {
		return -eNOENT
	}
	if n.Dir && flags&oAccMode != 0 {
		return -eISDIR
	}
	if !n.Dir && flags&oDirectory != 0 {
		return -eNOTDIR
	}
	kind := kindFile
	switch {
	case n.Dir:
		kind = kindDir
	case n.Dev != "":
		kind = n.Dev
	}
	if kind == kindFile && flags&oTrunc != 0 {
		n.Data = nil
	}
	fd := fs.lowestFD(0)
	fs.FDs[fd] = &fdEntry{Path: p, Kind: kind, Flags: flags &^ (oCreat | oExcl | oTrunc)}
	return fd
}

func (fs *memFS) unlink(p string) int32 {
	n, ok := fs.Nodes[p]
	if !ok {
		return -eNOENT
	}
	if n.Dir {
		return -eISDIR
	}
	delete(fs.Nodes, p)
	return 0
}

func (fs *memFS) rmdir(p string) int32 {
	n, ok := fs.Nodes[p]
	if !ok {
		return -eNOENT
	}
	if !n.Dir {
		return -eNOTDIR
	}
	prefix := strings.TrimSuffix(p, "/") + "/"
	for q := range fs.Nodes {
		if strings.HasPrefix(q, prefix) {
			return -eNOTEMPTY
		}
	}
	delete(fs.Nodes, p)
	return 0
}

func (fs *memFS) rename(from, to string) int32 {
	n, ok := fs.Nodes[from]
	if !ok {
		return -eNOENT
	}
	if e := fs.parentOK(to); e != 0 {
		return -e
	}
	if n.Dir {
		// Move the subtree; sorted so the outcome does not depend on map order.
		prefix := from + "/"
		var kids []string
		for q := range fs.Nodes {
			if strings.HasPrefix(q, prefix) {
				kids = append(kids, q)
			}
		}
		sort.Strings(kids)
		for _, q := range kids {
			fs.Nodes[to+"/"+strings.TrimPrefix(q, prefix)] = fs.Nodes[q]
			delete(fs.Nodes, q)
		}
	}
	delete(fs.Nodes, from)
	fs.Nodes[to] = n
	return 0
}

func (fs *memFS) mkdirAt(p string, now uint64) int32 {
	if _, ok := fs.Nodes[p]; ok {
		return -eEXIST
	}
	if e := fs.parentOK(p); e != 0 {
		return -e
	}
	fs.mkdir(p)
	fs.Nodes[p].Time = now
	return 0
}
