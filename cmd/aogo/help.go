package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
)

// One help style for every command: `aogo help CMD [VERB]` is `aogo CMD [VERB] --help`; -h, -help and --help
// print a command's usage and flag defaults on stderr and exit 0; a usage error names what was wrong, prints
// the usage and exits 2; a command that ran and failed exits 1.

// isHelp reports whether a is a request for help.
func isHelp(a string) bool { return a == "-h" || a == "-help" || a == "--help" }

// groupArgs handles the first argument of a command made of verbs (wallet, item, bundle, module): none prints
// the usage and exits 2, help prints it and exits 0. ok means args[0] is a verb to dispatch.
func groupArgs(args []string, usage string, stderr io.Writer) (code int, ok bool) {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2, false
	}
	if isHelp(args[0]) || args[0] == "help" {
		fmt.Fprintln(stderr, usage)
		return 0, false
	}
	return 0, true
}

// parseFileArgs parses a verb whose positional arguments are file names (flags may come anywhere; "--" ends
// them) and wants exactly n of them (n < 0: at least one). When ok is false the verb returns code: 0 after
// help, 2 after a usage error, which is named and followed by the usage.
func parseFileArgs(fs *flag.FlagSet, args []string, n int, usage string, stderr io.Writer) (pos []string, code int, ok bool) {
	fs.SetOutput(stderr)
	fs.Usage = func() { printUsage(fs, usage, stderr) }
	pos, err := parseFlagsAnywhere(fs, args)
	if err != nil { // the flag package has named the flag and printed the usage
		if errors.Is(err, flag.ErrHelp) {
			return nil, 0, false
		}
		return nil, 2, false
	}
	if (n >= 0 && len(pos) != n) || (n < 0 && len(pos) == 0) {
		want := fmt.Sprintf("%d argument(s)", n)
		if n < 0 {
			want = "at least one argument"
		}
		fmt.Fprintf(stderr, "aogo %s: want %s, got %d\n", fs.Name(), want, len(pos))
		printUsage(fs, usage, stderr)
		return nil, 2, false
	}
	return pos, 0, true
}

// printUsage prints usage, then the flags and their defaults when there are any.
func printUsage(fs *flag.FlagSet, usage string, w io.Writer) {
	fmt.Fprintln(w, usage)
	any := false
	fs.VisitAll(func(*flag.Flag) { any = true })
	if any {
		fmt.Fprintln(w, "\nflags:")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
}

// flagLike matches what can only be meant as a flag: -name or --name[=value]. An ao id (43 base64url
// characters) may look the same and is not one; Lua code that begins with "-- " does not match.
var flagLike = regexp.MustCompile(`^--?[A-Za-z][A-Za-z0-9-]*(=.*)?$`)

// looksLikeFlag reports whether a client verb's argument a is a flag it does not know rather than an argument.
func looksLikeFlag(a string) bool { return len(a) != 43 && flagLike.MatchString(a) }

func init() {
	register("version", "print aogo's module version and VCS revision (also aogo --version)", runVersion)
}

// runVersion prints what runtime/debug knows of this binary: module version, VCS revision and time (when
// built in a checkout), and the Go version.
func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	if _, code, ok := parseFileArgs(fs, args, 0, "usage: aogo version", stderr); !ok {
		return code
	}
	fmt.Fprintln(stdout, versionLine())
	return 0
}

func versionLine() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "aogo (unknown version) " + runtime.Version()
	}
	return versionOf(bi)
}

// versionOf is "aogo VERSION [rev REVISION[+modified] TIME] GOVERSION". The VCS fields are there when the
// binary was built in a git checkout with -buildvcs (go build's default, unless GOFLAGS turns it off).
func versionOf(bi *debug.BuildInfo) string {
	parts := []string{"aogo", bi.Main.Version}
	var rev, at, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev != "" {
		parts = append(parts, "rev "+rev)
		if modified == "true" {
			parts[len(parts)-1] += "+modified"
		}
		if at != "" {
			parts = append(parts, at)
		}
	}
	return strings.Join(append(parts, bi.GoVersion), " ")
}
