package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/aogo/aogo/dataitem"
)

func init() {
	register("send", "send a message to a process and print its result", runSend)
}

const sendUsage = `usage: aogo send PID [--action A] [--tag NAME=VALUE]... [--data STR | --data-file F] [--no-wait] [--url URL] [--wallet FILE]`

// runSend signs a Message to PID and posts it to the MU; it prints the message id, then the result JSON.
func runSend(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf devClientFlags
	cf.register(fs)
	action := fs.String("action", "", "Action tag")
	data := fs.String("data", "", "message data")
	dataFile := fs.String("data-file", "", "read the message data from `FILE` (- = stdin)")
	noWait := fs.Bool("no-wait", false, "print the message id only; do not wait for the result")
	var tags tagFlags
	fs.Var(&tags, "tag", "message tag `NAME=VALUE`, repeatable")
	pos, code, ok := parseVerb(fs, args, 1, sendUsage, stderr)
	if !ok {
		return code
	}
	pid := pos[0]
	body, err := readData(*data, *dataFile)
	if err != nil {
		return clientFail(stderr, "send", err)
	}
	all := []dataitem.Tag(tags)
	if *action != "" {
		all = append([]dataitem.Tag{{Name: "Action", Value: *action}}, all...)
	}
	c, err := cf.dial(ctx)
	if err != nil {
		return clientFail(stderr, "send", err)
	}
	mid, err := c.Send(ctx, pid, all, body)
	if err != nil {
		return clientFail(stderr, "send", err)
	}
	fmt.Fprintln(stdout, mid)
	if *noWait {
		return 0
	}
	r, err := c.Result(ctx, pid, mid)
	if err != nil {
		return clientFail(stderr, "send", fmt.Errorf("result of %s: %w", mid, err))
	}
	if err := printJSON(stdout, r.Body); err != nil {
		return clientFail(stderr, "send", err)
	}
	if r.Error != "" { // the process failed on the message, as eval reports it
		fmt.Fprintln(plainFor(stderr), strings.TrimRight(r.Error, "\n"))
		return 1
	}
	return 0
}
