package devnet_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aogo/aogo/devnet"
	"github.com/aogo/aogo/gateway"
)

// runUntilReady runs a network on dir and listen until ready (failing the test after 20 s: the restart bug
// this guards against waited a minute and gave up), calls check, then stops it.
func runUntilReady(t *testing.T, dir, listen string, check func(n *devnet.Network)) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n, err := devnet.New(ctx, devnet.Config{Dir: dir, Listen: listen, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	select {
	case <-n.Ready():
		check(n)
	case err := <-done:
		done <- err
		t.Errorf("network on %s stopped before ready: %v", listen, err)
	case <-time.After(20 * time.Second):
		t.Errorf("network on %s not ready in 20 s", listen)
	}
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("Run: %v", err)
	}
	if err := n.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if t.Failed() {
		t.FailNow()
	}
	return n.Addr()
}

// TestRestartOnAnyPort: a data dir is not tied to the ports it ran on. Port A, then B, then A again: each run
// becomes ready and the gateway's newest Scheduler-Location is that run's URL. (The SU's location items were
// byte-identical per URL under its deterministic ed25519 key, so A's second publication was A's first item,
// older than B's, and the network waited a minute for a location that never came.)
func TestRestartOnAnyPort(t *testing.T) {
	dir := t.TempDir()
	checkLocation := func(n *devnet.Network) {
		gw := gateway.NewClient(n.Info().Gateway, n.HTTPClient())
		u, _, err := gw.SchedulerLocation(context.Background(), n.Info().Scheduler)
		if err != nil || u != n.URL()+"/su" {
			t.Errorf("Scheduler-Location = %q, %v; want %s/su", u, err, n.URL())
		}
	}
	a := runUntilReady(t, dir, "127.0.0.1:0", checkLocation)
	b := runUntilReady(t, dir, "127.0.0.1:0", checkLocation)
	if a == b {
		t.Fatalf("port 0 gave the same address twice: %s", a)
	}
	runUntilReady(t, dir, a, checkLocation)
}
