package quorum_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/quorum"
	"github.com/aogo/aogo/wallet"
)

func TestParse(t *testing.T) {
	good := map[string]quorum.Policy{"1-of-1": {1, 1}, "2-of-3": {2, 3}, "2-of-2": {2, 2}, "3-of-5": {3, 5}, "9-of-16": {9, 16}, "16-of-16": {16, 16}}
	for s, want := range good {
		p, err := quorum.Parse(s)
		if err != nil || p != want || p.String() != s {
			t.Errorf("Parse(%q) = %v, %v; want %v", s, p, err, want)
		}
	}
	for _, s := range []string{"", "2", "2of3", "2-of-", "-of-3", "0-of-1", "1-of-0", "02-of-3", "2-of-03", " 2-of-3", "2-of-3 ",
		"1-of-2", "2-of-4", "4-of-3", "1-of-17", "17-of-17", "2-of-3-of-4", "+2-of-3", "2-of-３", "999999999999999999999-of-3"} {
		if p, err := quorum.Parse(s); err == nil {
			t.Errorf("Parse(%q) = %v, want an error", s, p)
		}
	}
	if !(quorum.Policy{}).IsSingle() || (quorum.Policy{}).String() != "1-of-1" || (quorum.Policy{}).Validate() != nil {
		t.Error("the zero Policy is not 1-of-1")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"2-of-3", "1-of-1", "16-of-16", "x", "1-of-2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := quorum.Parse(s)
		if err != nil {
			return
		}
		if p.Validate() != nil || p.String() != s || 2*p.K <= p.N || p.N > quorum.MaxUnits {
			t.Fatalf("Parse(%q) = %v, which is not a valid policy written as given", s, p)
		}
	})
}

func TestPick(t *testing.T) {
	units := []string{"http://a", "http://b", "http://c", "http://d", "http://e"}
	for _, key := range []string{"p1", "p2", "p3"} {
		got := quorum.Pick(key, units, 3)
		if len(got) != 3 {
			t.Fatalf("Pick(%s) = %v", key, got)
		}
		// Deterministic, independent of the order units are configured in, and without duplicates.
		rev := append([]string{"http://a"}, units...) // a duplicate, too
		for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
			rev[i], rev[j] = rev[j], rev[i]
		}
		if again := quorum.Pick(key, rev, 3); !reflect.DeepEqual(got, again) {
			t.Fatalf("Pick(%s) depends on the order of units: %v vs %v", key, got, again)
		}
		// Removing a unit that was not picked changes nothing (rendezvous hashing).
		var without []string
		for _, u := range units {
			if u != quorum.Pick(key, units, 5)[4] {
				without = append(without, u)
			}
		}
		if again := quorum.Pick(key, without, 3); !reflect.DeepEqual(got, again) {
			t.Fatalf("Pick(%s) moved when an unpicked unit left: %v vs %v", key, got, again)
		}
	}
	if got := quorum.Pick("p", units[:2], 3); len(got) != 2 {
		t.Fatalf("Pick with too few units = %v, want both", got)
	}
	// Keys spread over the units.
	first := map[string]int{}
	for i := range 1000 {
		first[quorum.Pick(fmt.Sprint(i), units, 1)[0]]++
	}
	for _, u := range units {
		if first[u] < 120 {
			t.Fatalf("unit %s is first for %d of 1000 keys: %v", u, first[u], first)
		}
	}
}

func vote(unit, signer, hash string) quorum.Vote {
	return quorum.Vote{Unit: unit, Signer: signer, ResultHash: hash}
}

func TestDecide(t *testing.T) {
	invalid := quorum.Vote{Unit: "x", Err: fmt.Errorf("%w: bad signature", quorum.ErrInvalid)}
	failed := quorum.Vote{Unit: "y", Err: errors.New("connection refused")}
	two3, two2 := quorum.Policy{K: 2, N: 3}, quorum.Policy{K: 2, N: 2}
	for _, c := range []struct {
		name     string
		p        quorum.Policy
		votes    []quorum.Vote
		pending  int
		agreed   bool
		hash     string
		winner   int
		settled  bool
		verdicts []quorum.Verdict
		reason   string
	}{
		{"1-of-1", quorum.Single, []quorum.Vote{vote("a", "A", "h")}, 0, true, "h", 0, true, []quorum.Verdict{quorum.For}, ""},
		{"2-of-3 one liar", two3, []quorum.Vote{vote("a", "A", "h"), vote("l", "L", "x"), vote("b", "B", "h")}, 0, true, "h", 0, true,
			[]quorum.Verdict{quorum.For, quorum.Against, quorum.For}, ""},
		{"2-of-3 liar first", two3, []quorum.Vote{vote("l", "L", "x"), vote("a", "A", "h"), vote("b", "B", "h")}, 0, true, "h", 1, true,
			[]quorum.Verdict{quorum.Against, quorum.For, quorum.For}, ""},
		{"2-of-3 agreed before the third", two3, []quorum.Vote{vote("a", "A", "h"), vote("b", "B", "h")}, 1, true, "h", 0, true, nil, ""},
		{"2-of-3 split, one to come", two3, []quorum.Vote{vote("a", "A", "h"), vote("l", "L", "x")}, 1, false, "", -1, false,
			[]quorum.Verdict{quorum.Split, quorum.Split}, "CUs disagree (1 for h, 1 for x); 1 still to answer"},
		{"2-of-2 one liar", two2, []quorum.Vote{vote("a", "A", "h"), vote("l", "L", "x")}, 0, false, "", -1, true,
			[]quorum.Verdict{quorum.Split, quorum.Split}, "quorum 2-of-2 not met: CUs disagree (1 for h, 1 for x)"},
		{"invalid signatures never count", two3, []quorum.Vote{vote("a", "A", "h"), vote("l", "L", "x"), {Unit: "m", Err: fmt.Errorf("%w: Result-Hash is not the hash of the body", quorum.ErrInvalid)}}, 0, false, "", -1, true,
			[]quorum.Verdict{quorum.Split, quorum.Split, quorum.Invalid}, "1 invalid, 0 failed"},
		{"one signer counts once", two3, []quorum.Vote{vote("a", "A", "h"), vote("a2", "A", "h"), vote("l", "L", "x")}, 0, false, "", -1, true,
			[]quorum.Verdict{quorum.Split, quorum.Duplicate, quorum.Split}, "1 invalid"},
		{"no signer no vote", two2, []quorum.Vote{vote("a", "A", "h"), vote("b", "", "h")}, 0, false, "", -1, true, nil, "only 1 for h"},
		{"a failed CU, one to come", two3, []quorum.Vote{vote("a", "A", "h"), failed}, 1, false, "", -1, false,
			[]quorum.Verdict{quorum.Split, quorum.Failed}, "1 failed to answer; 1 still to answer"},
		{"a failed CU, agreed", two3, []quorum.Vote{failed, vote("a", "A", "h"), invalid, vote("b", "B", "h")}, 0, true, "h", 1, true,
			[]quorum.Verdict{quorum.Failed, quorum.For, quorum.Invalid, quorum.For}, ""},
		{"nothing valid", two3, []quorum.Vote{failed, invalid}, 1, false, "", -1, true, nil, "no valid answer"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := quorum.Decide(c.p, c.votes, c.pending)
			if o.Agreed != c.agreed || o.ResultHash != c.hash || o.Winner != c.winner || o.Settled != c.settled {
				t.Fatalf("Decide = %+v", o)
			}
			if c.verdicts != nil && !reflect.DeepEqual(o.Verdicts, c.verdicts) {
				t.Fatalf("verdicts %v, want %v", o.Verdicts, c.verdicts)
			}
			if (o.Reason == "") != c.agreed || !strings.Contains(o.Reason, c.reason) {
				t.Fatalf("reason %q, want it to contain %q", o.Reason, c.reason)
			}
		})
	}
}

// attest makes a CU-style attestation of body for message mid of process pid, signed by w.
func attest(t *testing.T, w dataitem.Signer, pid, mid string, body []byte) []byte {
	t.Helper()
	it := &dataitem.Item{Tags: []dataitem.Tag{
		{Name: "Data-Protocol", Value: "ao"}, {Name: "Variant", Value: "ao.TN.1"}, {Name: "Type", Value: "Attestation"},
		{Name: "Attestation-Format", Value: "3"}, {Name: "Process", Value: pid}, {Name: "Message", Value: mid},
		{Name: "Slot", Value: "1"}, {Name: "Timestamp", Value: "1"}, {Name: "Block-Height", Value: "1"},
		{Name: "Result-Hash", Value: ao.ResultHash(body)},
	}}
	if err := it.Sign(w); err != nil {
		t.Fatal(err)
	}
	raw, err := it.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestCheck(t *testing.T) {
	w, _ := wallet.Generate(wallet.ED25519)
	body := []byte(`{"Output":"hello"}`)
	att := attest(t, w, "P", "M", body)
	signer, hash, err := quorum.Check(att, body, "P", "M")
	if err != nil || signer != w.Address() || hash != ao.ResultHash(body) {
		t.Fatalf("Check = %q %q %v", signer, hash, err)
	}
	flipped := []byte(`{"Output":"hellp"}`)
	// The signature no longer matches once the tags are edited: re-signing is the only way to vouch for a
	// different body, and then the signer is named.
	tampered := retag(t, att, ao.ResultHash(flipped))
	for name, c := range map[string]struct {
		att, body []byte
		pid, mid  string
	}{
		"no attestation":      {nil, body, "P", "M"},
		"flipped body":        {att, flipped, "P", "M"},
		"edited tags":         {tampered, flipped, "P", "M"},
		"another message":     {att, body, "P", "N"},
		"another process":     {att, body, "Q", "M"},
		"not an item":         {[]byte("junk"), body, "P", "M"},
		"signature bytes cut": {att[:len(att)-1], body, "P", "M"},
	} {
		if _, _, err := quorum.Check(c.att, c.body, c.pid, c.mid); !errors.Is(err, quorum.ErrInvalid) {
			t.Errorf("%s: Check = %v, want ErrInvalid", name, err)
		}
	}
}

// retag is att with its Result-Hash replaced and its signature kept: what a liar that cannot sign for the CU
// would send.
func retag(t *testing.T, att []byte, hash string) []byte {
	t.Helper()
	it, err := dataitem.Decode(att)
	if err != nil {
		t.Fatal(err)
	}
	tags := make([]dataitem.Tag, len(it.Tags))
	for i, tg := range it.Tags {
		if tg.Name == "Result-Hash" {
			tg.Value = hash
		}
		tags[i] = tg
	}
	it.Tags = tags
	raw, err := it.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
