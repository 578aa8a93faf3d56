package cu

import (
	"encoding/json"
	"testing"
)

// FuzzParseBound: any from/to value is a bound or a 400, never a panic; our cursors round-trip.
func FuzzParseBound(f *testing.F) {
	f.Add(encodeCursor(&Eval{Seq: 5, Timestamp: 9, Nonce: 3, Cron: "0-1-block"}, "ASC"))
	f.Add("1700000000000")
	f.Add("eyJ0aW1lc3RhbXAiOjF9")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		b, err := parseBound(s)
		if err != nil {
			if statusOf(err) != 400 {
				t.Fatalf("status %d for %v", statusOf(err), err)
			}
			return
		}
		if b.seq != nil {
			again, err := parseBound(encodeCursor(&Eval{Seq: *b.seq}, "ASC"))
			if err != nil || again.seq == nil || *again.seq != *b.seq {
				t.Fatalf("cursor for seq %d does not round-trip", *b.seq)
			}
		}
	})
}

// FuzzDryRunMsg: any body is a message object with the CU's fields set, or a 400.
func FuzzDryRunMsg(f *testing.F) {
	f.Add([]byte(`{"Id":"1234","Owner":"1234","Tags":[{"name":"Action","value":"Info"},{"name":"From","value":"x"}],"Data":"1234"}`))
	f.Add([]byte(`{"Tags":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		out, err := dryRunMsg(body, "P", 7, 8)
		if err != nil {
			if statusOf(err) != 400 {
				t.Fatalf("status %d for %v", statusOf(err), err)
			}
			return
		}
		var m struct {
			Target   string
			ReadOnly bool `json:"Read-Only"`
			Tags     []struct{ Name string }
			Ts       int64 `json:"Timestamp"`
		}
		if err := json.Unmarshal(out, &m); err != nil || m.Target != "P" || !m.ReadOnly || m.Ts != 7 {
			t.Fatalf("dry-run msg %s (%v)", out, err)
		}
		for _, tag := range m.Tags {
			if tag.Name == "From" || tag.Name == "Owner" {
				t.Fatalf("kept a %s tag: %s", tag.Name, out)
			}
		}
	})
}
