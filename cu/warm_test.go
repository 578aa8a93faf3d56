package cu_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/dataitem"
)

// TestNotifyEvaluatesAhead: a notification makes a hot process evaluate its new message with no request
// for it; a cold process is not loaded by one; the result request afterwards answers from that evaluation.
func TestNotifyEvaluatesAhead(t *testing.T) {
	n := newNetwork(t)
	mod := n.publishModule(fakeFormat, []byte("w"))
	hot, cold := n.spawn(mod), n.spawn(mod, dataitem.Tag{Name: "Name", Value: "cold"})
	u := n.newUnit(unitOpts{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); u.cu.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	if _, err := u.c.Result(ctx, hot, hot); err != nil {
		t.Fatal(err)
	}
	before, err := u.c.Results(ctx, hot, client.CUQuery{})
	if err != nil {
		t.Fatal(err)
	}
	applies := u.machines.applies.Load()
	signed := metric(t, u, "ao_cu_attestations_total")
	mid := n.send(hot, "ahead")
	n.send(cold, "never asked for")
	u.cu.Notify(cold) // first in the queue: done before the hot one
	u.cu.Notify(hot)
	u.cu.Notify(hot) // coalesces (or finds nothing new)
	deadline := time.Now().Add(10 * time.Second)
	for {
		page, err := u.c.Results(ctx, hot, client.CUQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Edges) == len(before.Edges)+1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %s was not evaluated ahead (results: %+v)", mid, page.Edges)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := u.machines.applies.Load() - applies; got != 1 {
		t.Fatalf("%d applies for one notified message, want 1", got)
	}
	if got := u.machines.opens.Load(); got != 1 {
		t.Fatalf("%d machines opened: the cold process was loaded by a notification", got)
	}
	// The run's last message was attested with it: the requests that follow (an MU's pull and a client's)
	// sign nothing more, and get the same attestation.
	if got := metric(t, u, "ao_cu_attestations_total") - signed; got != 1 {
		t.Fatalf("%d attestations signed by the run ahead, want 1", got)
	}
	var atts [][]byte
	for range 2 {
		r, err := u.c.Result(ctx, hot, mid)
		if err != nil {
			t.Fatal(err)
		}
		atts = append(atts, r.Attestation)
	}
	if got := u.machines.applies.Load() - applies; got != 1 {
		t.Fatalf("the result request evaluated again (%d applies)", got)
	}
	if got := metric(t, u, "ao_cu_attestations_total") - signed; got != 1 || !bytes.Equal(atts[0], atts[1]) {
		t.Fatalf("%d attestations after two result requests (equal: %v), want the one signed ahead", got, bytes.Equal(atts[0], atts[1]))
	}
}
