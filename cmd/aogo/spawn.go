package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/devnet"
	"github.com/aogo/aogo/gateway"
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
	mod := *module
	if mod == "" {
		mod = c.Info.Module
	}
	if err := checkModule(ctx, c, mod); err != nil {
		return clientFail(stderr, "spawn", err)
	}
	pid, err := c.Spawn(ctx, devnet.Spawn{Module: *module, Scheduler: *scheduler, Tags: tags, Data: body})
	if err != nil {
		return clientFail(stderr, "spawn", err)
	}
	fmt.Fprintln(stdout, pid)
	return 0
}

// checkModule refuses a spawn whose module the network's gateway does not have, or has as something other
// than a Module: such a process would fail on its first message. A gateway that cannot answer leaves the
// decision to the MU.
func checkModule(ctx context.Context, c *devnet.Client, id string) error {
	tags, _, err := c.Gateway.Tags(ctx, id)
	switch {
	case errors.Is(err, gateway.ErrNotFound):
		return fmt.Errorf("module %s is not on the gateway %s (publish one with `aogo module publish`)", id, c.Info.Gateway)
	case err != nil:
		return nil
	}
	if typ, _ := dataitem.Get(tags, "Type"); typ != "Module" {
		return fmt.Errorf("%s is not a module (its Type is %q)", id, typ)
	}
	return nil
}
