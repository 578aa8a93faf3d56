package main

import (
	"context"
	"errors"
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
	fs.Usage = func() { fmt.Fprintln(stderr, evalUsage); fs.PrintDefaults() }
	pos, err := parseVerbFlags(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if len(pos) != 2 {
		fmt.Fprintln(stderr, evalUsage)
		return 2
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
		fmt.Fprintln(stderr, strings.TrimRight(r.Error, "\n"))
		return 1
	}
	if out := devnet.OutputText(r.Result); out != "" {
		fmt.Fprintln(stdout, strings.TrimRight(out, "\n"))
	}
	return 0
}
