package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
)

func init() {
	register("result", "print the result of a message: result PID MSG", runResult)
}

const resultUsage = `usage: aogo result PID MSG [--url URL]`

// runResult prints the CU's result of message MSG of process PID (evaluating up to it if needed).
func runResult(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("result", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf devClientFlags
	cf.register(fs)
	fs.Usage = func() { fmt.Fprintln(stderr, resultUsage); fs.PrintDefaults() }
	pos, err := parseVerbFlags(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if len(pos) != 2 {
		fmt.Fprintln(stderr, resultUsage)
		return 2
	}
	c, err := cf.dial(ctx)
	if err != nil {
		return clientFail(stderr, "result", err)
	}
	r, err := c.Result(ctx, pos[0], pos[1])
	if err != nil {
		return clientFail(stderr, "result", err)
	}
	if err := printJSON(stdout, r.Body); err != nil {
		return clientFail(stderr, "result", err)
	}
	return 0
}
