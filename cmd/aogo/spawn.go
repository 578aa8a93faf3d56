package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/aogo/aogo/devnet"
)

func init() {
	register("spawn", "spawn a process on an ao network (default: the local dev network)", runSpawn)
}

const spawnUsage = `usage: aogo spawn [--module ID] [--scheduler ADDR] [--tag NAME=VALUE]... [--data STR | --data-file F] [--url URL] [--wallet FILE]`

// runSpawn signs a Process item and posts it to the network's MU; it prints the process id.
func runSpawn(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("spawn", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf devClientFlags
	cf.register(fs)
	module := fs.String("module", "", "module `ID`; empty: the network's default module")
	scheduler := fs.String("scheduler", "", "scheduler `ADDR`; empty: the network's SU")
	data := fs.String("data", "", "process data (e.g. Lua run at boot with On-Boot=Data)")
	dataFile := fs.String("data-file", "", "read the process data from `FILE` (- = stdin)")
	var tags tagFlags
	fs.Var(&tags, "tag", "process tag `NAME=VALUE`, repeatable (Name, Cron-Interval, Cron-Tag-Action, Authority, …)")
	_, code, ok := parseVerb(fs, args, 0, spawnUsage, stderr)
	if !ok {
		return code
	}
	body, err := readData(*data, *dataFile)
	if err != nil {
		return clientFail(stderr, "spawn", err)
	}
	c, err := cf.dial(ctx)
	if err != nil {
		return clientFail(stderr, "spawn", err)
	}
	pid, err := c.Spawn(ctx, devnet.Spawn{Module: *module, Scheduler: *scheduler, Tags: tags, Data: body})
	if err != nil {
		return clientFail(stderr, "spawn", err)
	}
	fmt.Fprintln(stdout, pid)
	return 0
}
