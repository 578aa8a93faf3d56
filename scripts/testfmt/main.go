// Command testfmt turns `go test -json` into go test's ordinary output plus a progress line as each package's
// tests start, for scripts/test.sh: a run of many minutes is otherwise silent until packages finish.
//
// What it prints on stdout is what plain `go test` prints (package ok/FAIL/? lines, the output of failed
// tests, build errors), so whatever reads go test's closing lines still can; the progress lines go to stderr.
// It exits 1 when any package or test failed, and go test's own exit status still stands (pipefail).
//
//	go test -json ./... | go run ./scripts/testfmt
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json), with the build events of go ≥ 1.24.
type event struct {
	Action     string
	Package    string
	Test       string
	Output     string
	ImportPath string // build-output, build-fail
}

func main() {
	failed, err := format(os.Stdin, os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testfmt:", err)
		os.Exit(2)
	}
	if failed {
		os.Exit(1)
	}
}

// format copies go test's events from in as plain go test output to out and progress to progress. It reports
// whether anything failed.
func format(in io.Reader, out, progress io.Writer) (failed bool, err error) {
	// Output of each top-level test (its subtests' included, in the order -v shows them), printed only if it
	// fails: package + "\x00" + top-level test name → lines.
	held := map[string][]string{}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			fmt.Fprintf(out, "%s\n", line) // not an event: pass it through
			continue
		}
		top, _, sub := strings.Cut(e.Test, "/")
		key := e.Package + "\x00" + top
		switch {
		case e.Action == "build-output":
			fmt.Fprint(out, e.Output)
		case e.Action == "build-fail":
			failed = true
		case e.Action == "start" && e.Test == "":
			fmt.Fprintf(progress, "testing %s …\n", e.Package)
		case e.Action == "output" && e.Test == "":
			// Package-level output: the ok/FAIL/PASS lines, and what ran outside any test. The -json run is
			// verbose underneath; drop the lines plain go test would not show.
			if !verboseOnly(e.Output) {
				fmt.Fprint(out, e.Output)
			}
		case e.Action == "output":
			if !verboseOnly(e.Output) {
				held[key] = append(held[key], e.Output)
			}
		case e.Action == "fail":
			failed = true
			if e.Test == "" { // a package that failed (a panic, a timeout) shows what its tests had printed
				for k, lines := range held {
					if strings.HasPrefix(k, e.Package+"\x00") {
						fmt.Fprint(out, strings.Join(lines, ""))
						delete(held, k)
					}
				}
				continue
			}
			if !sub {
				fmt.Fprint(out, strings.Join(held[key], ""))
				delete(held, key)
			}
		case (e.Action == "pass" || e.Action == "skip") && !sub:
			delete(held, key)
		}
	}
	if failed {
		fmt.Fprintln(out, "FAIL") // what the go command adds after the packages when any failed
	}
	return failed, sc.Err()
}

// verboseOnly reports whether a line is one only `go test -v` prints.
func verboseOnly(s string) bool {
	t := strings.TrimLeft(s, " ")
	for _, p := range []string{"=== RUN", "=== PAUSE", "=== CONT", "=== NAME", "--- PASS", "--- SKIP", "PASS\n"} {
		if strings.HasPrefix(t, p) {
			return true
		}
	}
	return false
}
