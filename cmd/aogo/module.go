package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/aogo/aogo/devnet"
)

func init() {
	register("module", "ao modules: module publish FILE --format F", runModule)
}

const moduleUsage = `usage: aogo module publish FILE --format FORMAT [--memory-limit 1-gb] [--compute-limit 9000000000000] [--tag NAME=VALUE]... [--url URL] [--wallet FILE]`

func runModule(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if code, ok := groupArgs(args, moduleUsage, stderr); !ok {
		return code
	}
	if args[0] != "publish" {
		fmt.Fprintf(stderr, "aogo module: unknown verb %q\n%s\n", args[0], moduleUsage)
		return 2
	}
	fs := flag.NewFlagSet("module publish", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf devClientFlags
	cf.register(fs)
	format := fs.String("format", "", "Module-Format, e.g. wasm64-unknown-emscripten-draft_2024_02_15 (required)")
	memLimit := fs.String("memory-limit", devnet.DefaultMemoryLimit, "Memory-Limit tag (e.g. 1-gb, 536870912-b); empty: none")
	compLimit := fs.String("compute-limit", devnet.DefaultComputeLimit, "Compute-Limit tag; empty: none")
	var tags tagFlags
	fs.Var(&tags, "tag", "extra tag `NAME=VALUE`, repeatable")
	pos, code, ok := parseVerb(fs, args[1:], 1, moduleUsage, stderr)
	if !ok {
		return code
	}
	if *format == "" {
		fmt.Fprintln(stderr, "aogo module publish: --format is required")
		printUsage(fs, moduleUsage, stderr)
		return 2
	}
	wasm, err := os.ReadFile(pos[0])
	if err != nil {
		return clientFail(stderr, "module publish", err)
	}
	c, err := cf.dial(ctx)
	if err != nil {
		return clientFail(stderr, "module publish", err)
	}
	id, err := c.Publish(ctx, devnet.Module{Wasm: wasm, Format: *format, MemoryLimit: *memLimit, ComputeLimit: *compLimit, Tags: tags})
	if err != nil {
		return clientFail(stderr, "module publish", err)
	}
	fmt.Fprintln(stdout, id)
	return 0
}
