package su_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/su"
)

// The hostile-client suite: each test is an attack, driven the way an attacker would drive it.

// TestHostileForgedPushFirst: an attacker who knows a process's next outbox message (a dry-run shows it, anchor
// included) signs the same content with their own key, adds From-Process, and posts it first. The MU's genuine
// push must still get a slot of its own, under its own id: a copy by another signer never stands in for it.
func TestHostileForgedPushFirst(t *testing.T) {
	e := start(t, "", su.Config{})
	ctx := ctxT(t)
	pid := e.spawn(t)
	muWallet, attacker := mustWallet(), mustWallet()
	from, module := randID(), randID()
	anchor := []byte("00000000000000000000000000000003")
	push := func(w dataitem.Signer, pushedFor string) []byte {
		tags := []dataitem.Tag{tag("Action", "Credit-Notice"), tag("Quantity", "1"), tag("Data-Protocol", "ao"),
			tag("Type", "Message"), tag("From-Process", from), tag("From-Module", module)}
		if pushedFor != "" {
			tags = append(tags, tag("Pushed-For", pushedFor))
		}
		return signed(t, w, pid, anchor, "", tags...)
	}
	forged, genuine := push(attacker, ""), push(muWallet, randID())
	if _, err := e.c.Post(ctx, forged); err != nil {
		t.Fatalf("post the forgery: %v", err)
	}
	got, err := e.c.Post(ctx, genuine)
	if err != nil {
		t.Fatalf("post the genuine push: %v", err)
	}
	if want := idOf(t, genuine); got.ID != want {
		t.Fatalf("the genuine push was answered with %s (the forgery's slot), want its own %s", got.ID, want)
	}
	// The genuine item is in the log, signed by the MU.
	m, err := e.c.Message(ctx, idOf(t, genuine), pid)
	if err != nil {
		t.Fatalf("genuine push not in the log: %v", err)
	}
	if m.Message == nil || m.Message.Owner.Address != dataitem.Address(muWallet.Owner()) {
		t.Fatalf("slot of the genuine push holds %+v, want the MU's item", m.Message)
	}
	// The MU re-sending its own push (a retry re-signed with another Pushed-For) is still one slot.
	again, err := e.c.Post(ctx, push(muWallet, randID()))
	if err != nil || again.ID != got.ID {
		t.Fatalf("the MU's re-send: %+v, %v; want the slot of %s", again, err, got.ID)
	}
	if log := readLog(t, e.c, pid, 100); len(log) != 3 {
		t.Fatalf("log has %d slots, want 3 (process, forgery, genuine)", len(log))
	}
}

// TestHostileInvalidUTF8Tag: an item whose tag bytes are not UTF-8 used to be accepted and shown lossily
// (U+FFFD) in the SU's JSON, so the process saw other tags than the signed ones. It is refused with a JSON 400,
// as the reference SU refuses it, and nothing enters the log; valid UTF-8 round-trips byte for byte.
func TestHostileInvalidUTF8Tag(t *testing.T) {
	e := start(t, "", su.Config{})
	ctx := ctxT(t)
	pid := e.spawn(t)
	for name, tg := range map[string]dataitem.Tag{
		"value": tag("Action", "Credit\xff\xfe"),
		"name":  tag("Qu\xc3antity", "1"),
	} {
		_, err := e.c.Post(ctx, messageItem(t, e.user, pid, "x", tg))
		var se *client.SUError
		if !errors.As(err, &se) || se.Status != 400 || !strings.Contains(se.Message, "UTF-8") {
			t.Fatalf("invalid UTF-8 in a tag %s: %v, want a 400 JSON error naming UTF-8", name, err)
		}
	}
	if log := readLog(t, e.c, pid, 100); len(log) != 1 {
		t.Fatalf("log has %d slots, want only the process", len(log))
	}
	odd := "ünï\u2028cødé \U0001F600 \x00 \"q\""
	raw := messageItem(t, e.user, pid, "x", tag("Note", odd))
	if _, err := e.c.Post(ctx, raw); err != nil {
		t.Fatal(err)
	}
	m, err := e.c.Message(ctx, idOf(t, raw), pid)
	if err != nil || m.Message == nil || m.Message.Tag("Note") != odd {
		t.Fatalf("valid UTF-8 tag came back as %+v, %v", m, err)
	}
}
