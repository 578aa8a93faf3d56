package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"io"

	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/dataitem"
)

func init() {
	register("monitor", "have the MU run a process's cron: monitor PID", func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
		return runMonitor(ctx, "monitor", args, stdout, stderr)
	})
	register("unmonitor", "stop the MU running a process's cron (its owner only): unmonitor PID", func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
		return runMonitor(ctx, "unmonitor", args, stdout, stderr)
	})
}

// runMonitor is `aogo monitor PID` and `aogo unmonitor PID`: a process's Cron-Interval ticks are evaluated
// by the CU whoever asks, but what a cron message sends reaches its targets only when the MU cranks it, and
// the MU does that for the processes it monitors. monitor POSTs /monitor/PID with a signed item (any wallet,
// as aoconnect's monitor() does); unmonitor DELETEs it with an item that our MU takes only from the process's
// owner. Both sign an empty item with Target=PID and a random anchor, and print the MU's answer.
func runMonitor(ctx context.Context, verb string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf devClientFlags
	cf.register(fs)
	pos, code, ok := parseVerb(fs, args, 1, "usage: aogo "+verb+" PID [--url URL] [--wallet FILE]", stderr)
	if !ok {
		return code
	}
	pid := pos[0]
	target, err := base64.RawURLEncoding.DecodeString(pid)
	if err != nil || len(target) != 32 {
		return clientFail(stderr, verb, fmt.Errorf("%q is not a process id (43 base64url characters)", pid))
	}
	c, err := cf.dial(ctx)
	if err != nil {
		return clientFail(stderr, verb, err)
	}
	it := &dataitem.Item{Target: target, Anchor: make([]byte, 32)}
	rand.Read(it.Anchor)
	if err := it.Sign(c.Wallet); err != nil {
		return clientFail(stderr, verb, err)
	}
	raw, err := it.Bytes()
	if err != nil {
		return clientFail(stderr, verb, err)
	}
	mu := client.NewMU(c.Info.MU, c.HTTP)
	var ans string
	if verb == "monitor" {
		ans, err = mu.Monitor(ctx, pid, raw)
	} else {
		ans, err = mu.Unmonitor(ctx, pid, raw)
	}
	if err != nil {
		return clientFail(stderr, verb, err)
	}
	fmt.Fprintln(stdout, ans)
	return 0
}
