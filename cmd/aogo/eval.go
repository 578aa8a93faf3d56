package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/aogo/aogo/devnet"
)

func init() {
	register("eval", "run Lua in an aos process (Action=Eval) and print its output: eval PID 'lua'", runEval)
}

const evalUsage = `usage: aogo eval PID 'LUA' [--url URL] [--wallet FILE]`

// runEval sends LUA to PID as an Eval message and prints the Output data, or the Error (exit 1).
func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf devClientFlags
	cf.register(fs)
	pos, code, ok := parseVerb(fs, args, 2, evalUsage, stderr)
	if !ok {
		return code
	}
	c, err := cf.dial(ctx)
	if err != nil {
		return clientFail(stderr, "eval", err)
	}
	r, err := c.Eval(ctx, pos[0], pos[1])
	if err != nil {
		return clientFail(stderr, "eval", err)
	}
	if r.Error != "" {
		fmt.Fprintln(plainFor(stderr), strings.TrimRight(r.Error, "\n"))
		return 1
	}
	if out := devnet.OutputText(r.Result); out != "" {
		fmt.Fprintln(plainFor(stdout), strings.TrimRight(out, "\n"))
	}
	return 0
}
