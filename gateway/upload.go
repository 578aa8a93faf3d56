package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// How an upload reaches the store. A body of known length up to memBodyMax is read into memory (from the
// body budget, Config.MaxBodyMemory); any other body, up to Config.MaxBodySize (default 2 GiB), is spooled
// to a file under Dir/tmp, then verified and stored from that file: the memory an upload costs is a copy
// buffer and one item header at a time, whatever its size (TestUploadMemoryBounded).
const (
	// memBodyMax is the largest body held in memory: ao messages and small bundles.
	memBodyMax = 4 << 20
	// spoolStep is how much of the disk budget a spooled body of unknown length (chunked) takes at a time.
	spoolStep = 64 << 20
	// copyBuf is the buffer of every streamed copy (spool, blob).
	copyBuf = 1 << 20
)

// The pace a spooled upload must keep. The servers' ReadTimeout (internal/httpd: 2 min for a whole request)
// would cut a 2 GiB upload on any link under 17 MB/s, so the upload route sets its own read deadline as bytes
// arrive: an upload may take 2 minutes (grace) plus one second per 256 KiB received (rate), and no read may
// wait more than a minute (stall). A client at 256 KiB/s (2 Mbit/s) or better is never cut (a 2 GiB upload may take
// 2 h 18 min); one that trickles or stops is cut after the grace plus what it sent at that rate, and its
// spool file is removed at once. The answer's write deadline moves with it.
var defaultPace = pace{grace: 2 * time.Minute, rate: 256 << 10, stall: time.Minute}

// pace is the rule of an upload's deadlines: grace, then one second per rate bytes, no read waiting over stall.
type pace struct {
	grace time.Duration
	rate  float64 // bytes per second
	stall time.Duration
}

// deadline is when the read after n bytes received since start must be done by.
func (p pace) deadline(start, now time.Time, n int64) time.Time {
	end := start.Add(p.grace + time.Duration(float64(n)/p.rate*float64(time.Second)))
	if stall := now.Add(p.stall); end.After(stall) {
		end = stall
	}
	if end.Before(now) {
		end = now // the deadline has passed: the read fails at once
	}
	return end
}

// errNoSpace refuses an upload the disk budget has no room for now (503): the client may retry.
var errNoSpace = errors.New("gateway: busy: too many uploads being received; retry later")

// spool copies r's body (at most limit bytes) into a new file under Dir/tmp, taking its size from the disk
// budget (Config.MaxSpoolBytes) first. done closes and removes the file and returns the budget; call it
// once the file is no longer used, also after an error.
func (s *Server) spool(w http.ResponseWriter, r *http.Request, limit int64) (f *os.File, size int64, done func(), err error) {
	held := int64(0)
	var file *os.File // not f: an error return sets f to nil before done runs
	done = func() {
		if file != nil {
			file.Close()
			os.Remove(file.Name())
			file = nil
		}
		if held > 0 {
			s.limits.spool.Release(held)
			held = 0
		}
	}
	take := func(n int64) error {
		ctx, cancel := context.WithTimeout(r.Context(), bodyWait)
		defer cancel()
		if err := s.limits.spool.Acquire(ctx, n); err != nil {
			if r.Context().Err() != nil {
				return r.Context().Err()
			}
			return errNoSpace
		}
		held += n
		return nil
	}
	if r.ContentLength > limit {
		return nil, 0, done, &http.MaxBytesError{Limit: limit}
	}
	if r.ContentLength >= 0 {
		if err := take(r.ContentLength); err != nil {
			return nil, 0, done, err
		}
	}
	file, err = os.CreateTemp(s.tmpDir(), "upload-*")
	if err != nil {
		return nil, 0, done, fmt.Errorf("gateway: spool: %w", err)
	}
	pr := &pacedReader{r: http.MaxBytesReader(w, r.Body, limit), rc: http.NewResponseController(w), pace: s.pace, start: time.Now()}
	buf := make([]byte, copyBuf)
	for {
		n, rerr := pr.Read(buf)
		if n > 0 {
			if r.ContentLength < 0 && size+int64(n) > held {
				if err := take(min(spoolStep, limit+1-held)); err != nil {
					return nil, 0, done, err
				}
			}
			if _, err := file.Write(buf[:n]); err != nil {
				return nil, 0, done, fmt.Errorf("gateway: spool: %w", err)
			}
			size += int64(n)
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			var mbe *http.MaxBytesError
			if errors.As(rerr, &mbe) {
				return nil, 0, done, rerr
			}
			return nil, 0, done, invalid("read body after %d bytes: %w", size, rerr)
		}
	}
	if r.ContentLength >= 0 && size != r.ContentLength {
		return nil, 0, done, invalid("body is %d bytes, Content-Length said %d", size, r.ContentLength)
	}
	return file, size, done, nil
}

// pacedReader moves the connection's read and write deadlines as the body arrives (see pace).
// Where the writer has no deadlines (an in-process transport) it reads as is.
type pacedReader struct {
	r     io.Reader
	rc    *http.ResponseController
	pace  pace
	start time.Time
	n     int64
}

func (p *pacedReader) Read(b []byte) (int, error) {
	end := p.pace.deadline(p.start, time.Now(), p.n)
	_ = p.rc.SetReadDeadline(end)
	// Verifying and storing a spooled upload takes about a disk read of it: the answer gets as long again.
	_ = p.rc.SetWriteDeadline(end.Add(end.Sub(p.start)))
	n, err := p.r.Read(b)
	p.n += int64(n)
	return n, err
}

func (s *Server) tmpDir() string { return filepath.Join(s.cfg.Dir, "tmp") }

// cleanTmp removes what uploads cut by a crash left in Dir/tmp.
func cleanTmp(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("gateway: clean %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	return nil
}
