// Command aogo is the ao computer in one binary: the units (su, cu, mu), the whole network for development
// (dev), and the client verbs (wallet, item, bundle, run, …).
//
// Every subcommand lives in its own file and registers itself in commands; each is a testable
// func(ctx, args, stdout, stderr) int.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand. run gets the arguments after the subcommand name and returns the exit code.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

// commands is filled by the init functions of the subcommand files.
var commands = map[string]command{}

func register(name, summary string, run func(ctx context.Context, args []string, stdout, stderr io.Writer) int) {
	if _, dup := commands[name]; dup {
		panic("aogo: command registered twice: " + name)
	}
	commands[name] = command{summary: summary, run: run}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 0:
		usage(stderr)
		return 2
	case isHelp(args[0]) || (args[0] == "help" && len(args) == 1):
		usage(stderr)
		return 0
	case args[0] == "help": // aogo help CMD [VERB]: that command's own help
		if _, ok := commands[args[1]]; !ok {
			fmt.Fprintf(stderr, "aogo help: unknown command %q\n", args[1])
			usage(stderr)
			return 2
		}
		return run(ctx, append(append([]string{}, args[1:]...), "--help"), stdout, stderr)
	case args[0] == "--version" || args[0] == "-version":
		args = []string{"version"}
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "aogo: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
	return c.run(ctx, args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: aogo COMMAND [flags]    (aogo help COMMAND, or aogo COMMAND --help, for its flags)\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
}
