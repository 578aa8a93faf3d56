package main

import (
	"context"
	"flag"
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
	pos, code, ok := parseVerb(fs, args, 2, resultUsage, stderr)
	if !ok {
		return code
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
