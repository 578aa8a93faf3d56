package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"syscall"
	"time"
)

// benchTarget is one target of `aogo bench`: run gets the arguments after the target name and returns the exit
// code, like a command.
type benchTarget struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

// benches are the targets of `aogo bench TARGET`. Each lives in its own file (bench_TARGET.go) and adds itself in
// an init function with registerBench.
var benches = map[string]benchTarget{}

func registerBench(name, summary string, run func(ctx context.Context, args []string, stdout, stderr io.Writer) int) {
	if _, dup := benches[name]; dup {
		panic("aogo: bench target registered twice: " + name)
	}
	benches[name] = benchTarget{summary: summary, run: run}
}

func init() {
	register("bench", "measure throughput and latency of a unit (aogo bench TARGET -h)", runBench)
}

// runBench is `aogo bench TARGET [flags]`.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		benchUsage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	b, ok := benches[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "aogo bench: unknown target %q\n", args[0])
		benchUsage(stderr)
		return 2
	}
	return b.run(ctx, args[1:], stdout, stderr)
}

func benchUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: aogo bench TARGET [flags]\n\ntargets:")
	names := make([]string, 0, len(benches))
	for n := range benches {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, benches[n].summary)
	}
}

// loadAverage is the 1-minute load average, "?" where the system does not tell: benchmark figures on a shared
// machine mean little without it.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "?"
}

// processCPU is the CPU time (user and system) this process has used so far, 0 where the system does not tell.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
