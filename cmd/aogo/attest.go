package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/weavedrive"
)

func init() {
	register("attest", "admit data to WeaveDrive processes: attest DATA-ID [--process PID]", runAttest)
}

const attestUsage = `usage: aogo attest DATA-ID [--process PID] [--no-wait] [--url URL] [--wallet FILE]`

// runAttest signs and uploads the Attestation item (Data-Protocol=ao, Type=Attestation, Message=DATA-ID)
// that admits DATA-ID to the WeaveDrive processes whose Scheduler or Attestor is the signing wallet, from
// the block it lands in on. With --process it first checks that the wallet can attest for that process.
// It prints the attestation's id, then waits until the SU stamps new messages with that block or a later
// one, so the next message sent reads the data.
func runAttest(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("attest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf devClientFlags
	cf.register(fs)
	pid := fs.String("process", "", "check that the wallet is the Scheduler or an Attestor of process `PID` before attesting")
	noWait := fs.Bool("no-wait", false, "do not wait until the SU's Block-Height reaches the attestation's block")
	wait := fs.Duration("wait", 2*time.Minute, "how long to wait for the SU's Block-Height to reach the attestation's block")
	pos, code, ok := parseVerb(fs, args, 1, attestUsage, stderr)
	if !ok {
		return code
	}
	id := pos[0]
	if b, err := base64.RawURLEncoding.DecodeString(id); err != nil || len(b) != 32 {
		return clientFail(stderr, "attest", fmt.Errorf("%q is not an Arweave id (43 base64url characters)", id))
	}
	c, err := cf.dial(ctx)
	if err != nil {
		return clientFail(stderr, "attest", err)
	}
	addr := dataitem.Address(c.Wallet.Owner())
	if *pid != "" {
		// The process's tags from the network's SU: the gateway has the process only once the SU's upload
		// queue got to it, which a script that spawns then attests would race.
		sp, err := client.NewSU(c.Info.SU, c.HTTP).Process(ctx, *pid)
		if err != nil {
			return clientFail(stderr, "attest", fmt.Errorf("process %s: %w", *pid, err))
		}
		tags := sp.Tags
		pt := make([]weavedrive.Tag, len(tags))
		for i, t := range tags {
			pt[i] = weavedrive.Tag{Name: t.Name, Value: t.Value}
		}
		if pol := weavedrive.PolicyOf(pt, nil); !slices.Contains(pol.Attestors, addr) {
			return clientFail(stderr, "attest", fmt.Errorf("wallet %s is neither the Scheduler nor an Attestor of process %s (attestors %v): spawn it with --tag Attestor=%s", addr, *pid, pol.Attestors, addr))
		}
	}
	it := &dataitem.Item{Anchor: make([]byte, 32)}
	rand.Read(it.Anchor)
	for _, t := range weavedrive.AttestationTags(id) {
		it.Tags = append(it.Tags, dataitem.Tag{Name: t.Name, Value: t.Value})
	}
	if err := it.Sign(c.Wallet); err != nil {
		return clientFail(stderr, "attest", err)
	}
	raw, err := it.Bytes()
	if err != nil {
		return clientFail(stderr, "attest", err)
	}
	res, err := c.Gateway.UploadResult(ctx, raw)
	if err != nil {
		return clientFail(stderr, "attest", fmt.Errorf("upload: %w", err))
	}
	fmt.Fprintln(stdout, it.ID())
	// Data is admitted to messages whose Block-Height is at or above the attestation's block; the SU
	// stamps messages with the height it last read. Waiting for it makes "attest, then send" read the data.
	if *noWait || res.BlockHeight == 0 { // 0: an Arweave node's pending transaction, height unknown yet
		return 0
	}
	su := client.NewSU(c.Info.SU, c.HTTP)
	wctx, cancel := context.WithTimeout(ctx, *wait)
	defer cancel()
	for {
		ts, err := su.Timestamp(wctx)
		if err == nil && ts.BlockHeight >= res.BlockHeight {
			return 0
		}
		select {
		case <-wctx.Done():
			return clientFail(stderr, "attest", fmt.Errorf("attestation %s is at block %d; the SU's Block-Height did not reach it within %s", it.ID(), res.BlockHeight, *wait))
		case <-time.After(250 * time.Millisecond):
		}
	}
}
