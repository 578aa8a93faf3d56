//go:build unix

package datadir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// LockFile is the name of the lock file inside a locked directory.
const LockFile = "aogo.lock"

// InUseError is the refusal when another process (or another Lock in this process) holds the directory.
type InUseError struct {
	Dir string
	PID int // the holder's pid as it wrote it; 0 when it has not written it yet
}

func (e *InUseError) Error() string {
	holder := "another aogo"
	if e.PID > 0 {
		holder = fmt.Sprintf("another aogo (pid %d)", e.PID)
	}
	return fmt.Sprintf("data dir %s is in use by %s; stop it or give another data dir", e.Dir, holder)
}

// Lock is a held directory lock. Close releases it.
type Lock struct {
	f *os.File
}

// Acquire creates dir if needed and takes its lock without waiting: an *InUseError when it is held.
func Acquire(dir string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data dir lock: %w", err)
	}
	// flock locks belong to the open file description: a second Acquire in this same process conflicts too,
	// which is what in-process tests of two units on one directory need.
	if err := flock(f); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &InUseError{Dir: dir, PID: readPID(f)}
		}
		return nil, fmt.Errorf("data dir lock %s: %w", path, err)
	}
	if err := writePID(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("data dir lock %s: %w", path, err)
	}
	return &Lock{f: f}, nil
}

func flock(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

func writePID(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return err
}

// readPID reads the holder's pid; 0 when the file does not hold one (yet).
func readPID(f *os.File) int {
	b := make([]byte, 32)
	n, _ := f.ReadAt(b, 0)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b[:n])))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// Close releases the lock. The file stays (removed, a process that had just opened it would lock a file no one
// else can see); its pid is cleared so it never names a process that no longer holds it.
func (l *Lock) Close() error {
	if l == nil || l.f == nil {
		return nil
	}
	l.f.Truncate(0)
	err := l.f.Close() // closing the only descriptor of the open file releases the flock
	l.f = nil
	return err
}
