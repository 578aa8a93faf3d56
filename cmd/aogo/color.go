package main

import (
	"io"
	"os"
	"regexp"
)

// aos colours its output (stringify, errors, prompts) with ANSI escape sequences. They are kept for a terminal
// and removed everywhere else (a file, a pipe, a test), and everywhere when NO_COLOR is set and not empty (no-color.org).

// ansiSeq matches an ANSI CSI escape sequence (ESC [ params final), e.g. the SGR colours "\x1b[31m".
var ansiSeq = regexp.MustCompile("\x1b\\[[0-9;?]*[@-~]")

// colorOK reports whether w may receive colours: a terminal, with NO_COLOR unset.
func colorOK(w io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// plainFor returns w, or when w may not receive colours a writer that strips them.
func plainFor(w io.Writer) io.Writer {
	if colorOK(w) {
		return w
	}
	return stripANSI{w}
}

// stripANSI writes through with escape sequences removed. Each Write is whole text (a line or a result), so a
// sequence is never split across writes.
type stripANSI struct{ w io.Writer }

func (s stripANSI) Write(p []byte) (int, error) {
	if _, err := s.w.Write(ansiSeq.ReplaceAll(p, nil)); err != nil {
		return 0, err
	}
	return len(p), nil
}
