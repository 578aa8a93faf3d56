package mu

import (
	"encoding/json"
	"testing"

	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/wallet"
)

// FuzzOutbox feeds arbitrary JSON to the outbox decoders: they must never panic, and every message they accept
// and the builder signs must decode back, verify, and carry the MU's tags.
func FuzzOutbox(f *testing.F) {
	f.Add([]byte(`{"Target":"` + dataitem.B64(make([]byte, 32)) + `","Anchor":"00000000000000000000000000000001","Tags":[{"name":"Action","value":"Ping"}],"Data":"x"}`))
	f.Add([]byte(`{"Target":"x","Tags":[{"name":"Quantity","value":5}]}`))
	f.Add([]byte(`{"Tags":{},"Data":{"a":1}}`))
	f.Add([]byte(`{"Processes":["` + dataitem.B64(make([]byte, 32)) + `"],"Message":"` + dataitem.B64(make([]byte, 32)) + `","Exclude":["Data"]}`))
	f.Add([]byte(`[1,2,3]`))
	// A non-canonical id: its last character's unused bits are set, so it names the bytes of another id.
	f.Add([]byte(`{"Target":"0000000000000000000000000000000000000000001"}`))
	w, err := wallet.Generate(wallet.ED25519)
	if err != nil {
		f.Fatal(err)
	}
	b := &builder{signer: w, maxSize: 1 << 20}
	from := &procInfo{ID: dataitem.B64(make([]byte, 32)), Module: "mod", Scheduler: "sched"}
	f.Fuzz(func(t *testing.T, raw []byte) {
		decodeAssign(json.RawMessage(raw))
		if s, err := decodeSpawn(json.RawMessage(raw)); err == nil {
			b.buildSpawn(s, from, "origin")
		}
		m, err := decodeMessage(json.RawMessage(raw))
		if err != nil {
			return
		}
		p, err := b.buildMessage(m, from, "origin")
		if err != nil {
			return
		}
		back, err := dataitem.Decode(p.raw)
		if err != nil {
			t.Fatalf("built item does not decode: %v", err)
		}
		if err := back.Verify(); err != nil {
			t.Fatalf("built item does not verify: %v", err)
		}
		if v, _ := back.Tag("From-Process"); v != from.ID {
			t.Fatalf("From-Process = %q", v)
		}
		if back.TargetID() != m.Target {
			t.Fatalf("target %q, want %q", back.TargetID(), m.Target)
		}
	})
}
