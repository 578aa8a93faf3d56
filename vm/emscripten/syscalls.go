package emscripten

import (
	"io"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// The file-system imports, as the glue implements them over its MEMFS. __syscall_* return -errno;
// the WASI fd_* return errno.

var syscallFuncs = map[string]hostFn{
	"fd_write":             sysFdWrite,
	"fd_read":              sysFdRead,
	"fd_seek":              sysFdSeek,
	"fd_close":             sysFdClose,
	"fd_fdstat_get":        sysFdstatGet,
	"fd_sync":              func(*instance, *wasmtime.Caller, view, []uint64) uint64 { return 0 },
	"environ_sizes_get":    sysEnvironSizes,
	"environ_get":          sysEnvironGet,
	"__syscall_openat":     sysOpenat,
	"__syscall_fcntl64":    sysFcntl,
	"__syscall_ioctl":      sysIoctl,
	"__syscall_dup3":       sysDup3,
	"__syscall_unlinkat":   sysUnlinkat,
	"__syscall_rmdir":      sysRmdir,
	"__syscall_renameat":   sysRenameat,
	"__syscall_mkdirat":    sysMkdirat,
	"__syscall_stat64":     sysStat,
	"__syscall_lstat64":    sysStat,
	"__syscall_fstat64":    sysFstat,
	"__syscall_newfstatat": sysNewfstatat,
	"__syscall_getcwd":     sysGetcwd,
	"__syscall_readlinkat": func(in *instance, _ *wasmtime.Caller, v view, a []uint64) uint64 {
		if _, e := in.lookupAt(v, int32(a[0]), a[1]); e != 0 {
			return neg(e)
		}
		return neg(eINVAL) // nothing is a symlink
	},
	"__syscall_faccessat": func(in *instance, _ *wasmtime.Caller, v view, a []uint64) uint64 {
		if _, e := in.lookupAt(v, int32(a[0]), a[1]); e != 0 {
			return neg(e)
		}
		return 0
	},
	"__syscall_chmod": func(in *instance, _ *wasmtime.Caller, v view, a []uint64) uint64 {
		if _, e := in.lookupAt(v, atFDCWD, a[0]); e != 0 {
			return neg(e)
		}
		return 0
	},
	"__syscall_utimensat": func(in *instance, _ *wasmtime.Caller, v view, a []uint64) uint64 {
		if _, e := in.lookupAt(v, int32(a[0]), a[1]); e != 0 {
			return neg(e)
		}
		return 0
	},
	"__syscall_fchmod":      sysFdOnly,
	"__syscall_fchown32":    sysFdOnly,
	"__syscall_ftruncate64": sysFtruncate,
	"_munmap_js":            func(*instance, *wasmtime.Caller, view, []uint64) uint64 { return 0 },
	"_mmap_js":              func(*instance, *wasmtime.Caller, view, []uint64) uint64 { return neg(eNOSYS) },
}

func (in *instance) fd(fd uint64) *fdEntry { return in.host.FS.FDs[int32(uint32(fd))] }

func (in *instance) lookupAt(v view, dirfd int32, pathPtr uint64) (string, int32) {
	p, e := resolve(dirfd, v.cstring(pathPtr, 4096), in.host.FS)
	if e != 0 {
		return "", e
	}
	if _, ok := in.host.FS.Nodes[p]; !ok {
		return p, eNOENT
	}
	return p, 0
}

func sysFdOnly(in *instance, _ *wasmtime.Caller, _ view, a []uint64) uint64 {
	if in.fd(a[0]) == nil {
		return neg(eBADF)
	}
	return 0
}

// iovecs reads an iovec array: {ptr, len} pairs of pointer size.
func iovecs(v view, iov, cnt uint64) [][2]uint64 {
	ps := v.ptrSize()
	if cnt > 1<<20 {
		panic(fault{"iovec count too large"})
	}
	out := make([][2]uint64, cnt)
	for i := range out {
		base := iov + uint64(i)*2*ps
		out[i] = [2]uint64{v.ptr(base), v.ptr(base + ps)}
	}
	return out
}

func sysFdWrite(in *instance, _ *wasmtime.Caller, v view, a []uint64) uint64 {
	e := in.fd(a[0])
	if e == nil {
		return eBADF
	}
	var n uint64
	for _, iv := range iovecs(v, a[1], a[2]) {
		b := v.span(iv[0], iv[1])
		switch e.Kind {
		case kindTTY, kindTTY1:
			// The reference prints these to the console (muted during handle); never into results.
			in.debugWrite(b)
			if len(b) > 0 {
				in.host.Clock++ // the TTY stamps its node with Date.now() on every non-empty write
			}
		case kindNull:
		case kindFile:
			node := in.host.FS.Nodes[e.Path]
			if node == nil {
				return eBADF
			}
			if e.Flags&oAccMode == 0 {
				return eBADF
			}
			pos := e.Pos
			if e.Flags&oAppend != 0 {
				pos = int64(len(node.Data))
			}
			end := pos + int64(len(b))
			if end > int64(len(node.Data)) {
				grown := make([]byte, end)
				copy(grown, node.Data)
				node.Data = grown
			}
			copy(node.Data[pos:], b)
			e.Pos = end
			if len(b) > 0 {
				node.Time = in.host.Clock
				in.host.Clock++
			}
		default:
			return eBADF
		}
		n += iv[1]
	}
	v.putPtr(a[3], n)
	return 0
}

func sysFdRead(in *instance, c *wasmtime.Caller, v view, a []uint64) uint64 {
	e := in.fd(a[0])
	if e == nil {
		return eBADF
	}
	var n uint64
	for _, iv := range iovecs(v, a[1], a[2]) {
		dst := v.span(iv[0], iv[1])
		var got int
		switch e.Kind {
		case kindTTY, kindTTY1, kindNull:
			got = 0 // no stdin: end of file
		case kindDir:
			return eISDIR
		case kindFile:
			node := in.host.FS.Nodes[e.Path]
			if node == nil {
				return eBADF
			}
			if e.Pos < int64(len(node.Data)) {
				got = copy(dst, node.Data[e.Pos:])
			}
		case kindDrive:
			got = in.driveReadAt(e, dst)
		}
		e.Pos += int64(got)
		n += uint64(got)
		if uint64(got) < iv[1] {
			break
		}
	}
	v.putPtr(a[3], n)
	return 0
}

func sysFdSeek(in *instance, _ *wasmtime.Caller, v view, a []uint64) uint64 {
	if in.f.minified {
		return eSPIPE // the v1 glue has no seekable files
	}
	var off int64
	var whence, out uint64
	if len(a) == 5 { // wasm32: offset as (low, high)
		off = int64(uint64(uint32(a[1])) | a[2]<<32)
		whence, out = a[3], a[4]
	} else {
		off, whence, out = int64(a[1]), a[2], a[3]
	}
	e := in.fd(a[0])
	if e == nil {
		return eBADF
	}
	var size int64
	switch e.Kind {
	case kindTTY, kindTTY1:
		return eSPIPE
	case kindFile:
		if n := in.host.FS.Nodes[e.Path]; n != nil {
			size = int64(len(n.Data))
		}
	case kindDrive:
		size = e.Size
	}
	var pos int64
	switch whence {
	case io.SeekStart:
		pos = off
	case io.SeekCurrent:
		pos = e.Pos + off
	case io.SeekEnd:
		pos = size + off
	default:
		return eINVAL
	}
	if pos < 0 {
		return eINVAL
	}
	e.Pos = pos
	v.putI64(out, pos)
	return 0
}

func sysFdClose(in *instance, _ *wasmtime.Caller, _ view, a []uint64) uint64 {
	fd := int32(uint32(a[0]))
	if _, ok := in.host.FS.FDs[fd]; !ok {
		return eBADF
	}
	delete(in.host.FS.FDs, fd)
	delete(in.drives, fd)
	return 0
}

func sysFdstatGet(in *instance, _ *wasmtime.Caller, v view, a []uint64) uint64 {
	e := in.fd(a[0])
	if e == nil {
		return eBADF
	}
	typ := byte(4)
	switch e.Kind {
	case kindTTY, kindTTY1:
		typ = 2
	case kindDir:
		typ = 3
	}
	v.put8(a[1], typ)
	v.put16(a[1]+2, 0)
	v.put64(a[1]+8, 0)
	v.put64(a[1]+16, 0)
	return 0
}

func (in *instance) envStrings() []string {
	if !in.f.envStrings {
		return nil
	}
	return []string{"USER=web_user", "LOGNAME=web_user", "PATH=/", "PWD=/", "HOME=/home/web_user", "LANG=C.UTF-8", "_=thisProgram"}
}

func sysEnvironSizes(in *instance, _ *wasmtime.Caller, v view, a []uint64) uint64 {
	env := in.envStrings()
	size := 0
	for _, s := range env {
		size += len(s) + 1
	}
	v.putPtr(a[0], uint64(len(env)))
	v.putPtr(a[1], uint64(size))
	return 0
}

func sysEnvironGet(in *instance, _ *wasmtime.Caller, v view, a []uint64) uint64 {
	off := uint64(0)
	for i, s := range in.envStrings() {
		p := a[1] + off
		v.putPtr(a[0]+uint64(i)*v.ptrSize(), p)
		v.write(p, append([]byte(s), 0))
		off += uint64(len(s)) + 1
	}
	return 0
}

func sysOpenat(in *instance, _ *wasmtime.Caller, v view, a []uint64) uint64 {
	p, e := resolve(int32(a[0]), v.cstring(a[1], 4096), in.host.FS)
	if e != 0 {
		return neg(e)
	}
	flags := int32(a[2])
	if flags&oCreat != 0 {
		if _, exists := in.host.FS.Nodes[p]; !exists {
			in.host.Clock++ // MEMFS stamps a created node with Date.now()
		}
	}
	return uint64(int64(in.host.FS.open(p, flags, in.host.Clock)))
}

func sysFcntl(in *instance, _ *wasmtime.Caller, v view, a []uint64) uint64 {
	e := in.fd(a[0])
	if e == nil {
		return neg(eBADF)
	}
	switch a[1] {
	case 0: // F_DUPFD
		arg := v.i32(a[2])
		if arg < 0 {
			return neg(eINVAL)
		}
		fd := in.host.FS.lowestFD(arg)
		dup := *e
		in.host.FS.FDs[fd] = &dup
		return uint64(fd)
	case 1, 2: // F_GETFD, F_SETFD
		return 0
	case 3: // F_GETFL
		return uint64(uint32(e.Flags))
	case 4: // F_SETFL
		e.Flags |= v.i32(a[2])
		return 0
	case 5: // F_GETLK
		v.put16(v.ptr(a[2]), 2)
		return 0
	case 6, 7:
		return 0
	}
	return neg(eINVAL)
}

// termios the glue's default TTY reports (TCGETS).
var ttyCC = [32]byte{3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22}

func sysIoctl(in *instance, _ *wasmtime.Caller, v view, a []uint64) uint64 {
	e := in.fd(a[0])
	if e == nil {
		return neg(eBADF)
	}
	tty := e.Kind == kindTTY || e.Kind == kindTTY1
	withOps := e.Kind == kindTTY
	switch a[1] {
	case 21505: // TCGETS
		if !tty {
			return neg(eNOTTY)
		}
		if withOps {
			p := v.ptr(a[2])
			v.put32(p, 25856)
			v.put32(p+4, 5)
			v.put32(p+8, 191)
			v.put32(p+12, 35387)
			v.write(p+17, ttyCC[:])
		}
		return 0
	case 21506, 21507, 21508, 21509, 21510, 21511, 21512, 21515, 21524: // TCSETS*, TCSBRK, …
		if !tty {
			return neg(eNOTTY)
		}
		return 0
	case 21519: // TIOCGPGRP
		if !tty {
			return neg(eNOTTY)
		}
		v.put32(v.ptr(a[2]), 0)
		return 0
	case 21520: // TIOCSPGRP
		if !tty {
			return neg(eNOTTY)
		}
		return neg(eINVAL)
	case 21523: // TIOCGWINSZ
		if !tty {
			return neg(eNOTTY)
		}
		if withOps {
			p := v.ptr(a[2])
			v.put16(p, 24)
			v.put16(p+2, 80)
		}
		return 0
	case 21531: // FIONREAD: no device implements it
		return neg(eNOTTY)
	}
	return neg(eINVAL)
}

func sysDup3(in *instance, _ *wasmtime.Caller, _ view, a []uint64) uint64 {
	e := in.fd(a[0])
	if e == nil {
		return neg(eBADF)
	}
	newfd := int32(uint32(a[1]))
	if int32(uint32(a[0])) == newfd {
		return neg(eINVAL)
	}
	dup := *e
	in.host.FS.FDs[newfd] = &dup
	return uint64(newfd)
}

func sysUnlinkat(in *instance, _ *wasmtime.Caller, v view, a []uint64) uint64 {
	p, e := resolve(int32(a[0]), v.cstring(a[1], 4096), in.host.FS)
	if e != 0 {
		return neg(e)
	}
	if a[2]&0x200 != 0 { // AT_REMOVEDIR
		return uint64(int64(in.host.FS.rmdir(p)))
	}
	return uint64(int64(in.host.FS.unlink(p)))
}

func sysRmdir(in *instance, _ *wasmtime.Caller, v view, a []uint64) uint64 {
	p, _ := resolve(atFDCWD, v.cstring(a[0], 4096), in.host.FS)
	return uint64(int64(in.host.FS.rmdir(p)))
}

func sysRenameat(in *instance, _ *wasmtime.Caller, v view, a []uint64) uint64 {
	from, e := resolve(int32(a[0]), v.cstring(a[1], 4096), in.host.FS)
	if e != 0 {
		return neg(e)
	}
	to, e := resolve(int32(a[2]), v.cstring(a[3], 4096), in.host.FS)
	if e != 0 {
		return neg(e)
	}
	return uint64(int64(in.host.FS.rename(from, to)))
}

func sysMkdirat(in *instance, _ *wasmtime.Caller, v view, a []uint64) uint64 {
	p, e := resolve(int32(a[0]), v.cstring(a[1], 4096), in.host.FS)
	if e != 0 {
		return neg(e)
	}
	r := in.host.FS.mkdirAt(p, in.host.Clock)
	if r == 0 {
		in.host.Clock++
	}
	return uint64(int64(r))
}

func sysGetcwd(_ *instance, _ *wasmtime.Caller, v view, a []uint64) uint64 {
	if a[1] == 0 {
		return neg(eINVAL)
	}
	if a[1] < 2 {
		return neg(eRANGE)
	}
	v.write(a[0], []byte{'/', 0})
	return 2
}

func sysFtruncate(in *instance, _ *wasmtime.Caller, _ view, a []uint64) uint64 {
	size := int64(a[1])
	if len(a) == 3 {
		size = int64(uint64(uint32(a[1])) | a[2]<<32)
	}
	e := in.fd(a[0])
	if e == nil {
		return neg(eBADF)
	}
	n := in.host.FS.Nodes[e.Path]
	if e.Kind != kindFile || n == nil || size < 0 {
		return neg(eINVAL)
	}
	d := make([]byte, size)
	copy(d, n.Data)
	n.Data = d
	return 0
}

func sysStat(in *instance, _ *wasmtime.Caller, v view, a []uint64) uint64 {
	p, e := in.lookupAt(v, atFDCWD, a[0])
	if e != 0 {
		return neg(e)
	}
	in.writeStat(v, a[1], in.host.FS.Nodes[p])
	return 0
}

func sysNewfstatat(in *instance, _ *wasmtime.Caller, v view, a []uint64) uint64 {
	p, e := in.lookupAt(v, int32(a[0]), a[1])
	if e != 0 {
		return neg(e)
	}
	in.writeStat(v, a[2], in.host.FS.Nodes[p])
	return 0
}

func sysFstat(in *instance, _ *wasmtime.Caller, v view, a []uint64) uint64 {
	e := in.fd(a[0])
	if e == nil {
		return neg(eBADF)
	}
	n := in.host.FS.Nodes[e.Path]
	if e.Kind == kindDrive {
		n = &memNode{Ino: 0, Data: nil}
		in.writeStatSize(v, a[1], n, e.Size)
		return 0
	}
	if n == nil {
		return neg(eBADF)
	}
	in.writeStat(v, a[1], n)
	return 0
}

func (in *instance) writeStat(v view, buf uint64, n *memNode) {
	in.writeStatSize(v, buf, n, int64(len(n.Data)))
}

// writeStatSize fills struct stat as the glue's SYSCALLS.doStat does (its wasm32 and wasm64 layouts).
func (in *instance) writeStatSize(v view, buf uint64, n *memNode, size int64) {
	mode := uint32(0o100000 | 0o666)
	switch {
	case n.Dir:
		mode = 0o40000 | 0o777
		size = 4096
	case n.Dev != "":
		mode = 0o20000 | 0o666
		size = 0
	}
	blocks := uint32((size + 4095) / 4096)
	sec, nsec := int64(n.Time/1000), uint64(n.Time%1000)*1000
	if in.f.mem64 {
		v.put32(buf, 1)
		v.put32(buf+4, mode)
		v.put64(buf+8, 1)
		v.put32(buf+16, 0)
		v.put32(buf+20, 0)
		v.put32(buf+24, 0)
		v.putI64(buf+32, size)
		v.put32(buf+40, 4096)
		v.put32(buf+44, blocks)
		for i := uint64(0); i < 3; i++ {
			v.putI64(buf+48+16*i, sec)
			v.put64(buf+56+16*i, nsec)
		}
		v.put64(buf+96, n.Ino)
		return
	}
	v.put32(buf, 1)
	v.put32(buf+4, mode)
	v.put32(buf+8, 1)
	v.put32(buf+12, 0)
	v.put32(buf+16, 0)
	v.put32(buf+20, 0)
	v.putI64(buf+24, size)
	v.put32(buf+32, 4096)
	v.put32(buf+36, blocks)
	for i := uint64(0); i < 3; i++ {
		v.putI64(buf+40+16*i, sec)
		v.put32(buf+48+16*i, uint32(nsec))
	}
	v.put64(buf+88, n.Ino)
}
