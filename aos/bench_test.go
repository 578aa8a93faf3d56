package aos

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkTokenTransferVM: one token Transfer message (the token scenario's "transfer" step: balance
// update, Debit-Notice and Credit-Notice in the outbox) through our VM on a hot instance, for our module
// and the real aos modules. The instance is booted and the blueprint loaded before the timer starts;
// every iteration is a new message (Id, Nonce, Timestamp) moving 1 unit.
//
//	go test ./aos -run '^$' -bench TokenTransferVM -count 5
func BenchmarkTokenTransferVM(b *testing.B) {
	sc, err := loadScenario(filepath.Join("testdata", "scenarios", "token.json"))
	if err != nil {
		b.Fatal(err)
	}
	c, err := buildCalls(sc, filepath.Join("testdata", "scenarios"))
	if err != nil {
		b.Fatal(err)
	}
	bench := -1
	for i, cl := range c.Calls {
		if cl.Name == sc.Bench {
			bench = i
		}
	}
	if bench < 0 {
		b.Fatalf("token scenario has no bench step %q", sc.Bench)
	}
	env, err := json.Marshal(c.Env)
	if err != nil {
		b.Fatal(err)
	}
	ours, refs := modules(b)
	for _, m := range append([]module{ours}, refs...) {
		b.Run(m.name, func(b *testing.B) {
			mach, err := openVM(m)
			if err != nil {
				b.Fatal(err)
			}
			defer mach.Close()
			ctx := context.Background()
			for _, cl := range c.Calls[:bench] {
				raw, _ := json.Marshal(cl.Msg)
				if r, err := mach.Apply(ctx, raw, env); err != nil || r.Error != "" {
					b.Fatalf("%s: %v %s", cl.Name, err, r.Error)
				}
			}
			tmpl := c.Calls[bench].Msg
			msgs := func(i int) []byte {
				msg := make(map[string]any, len(tmpl))
				for k, v := range tmpl {
					msg[k] = v
				}
				id := fmt.Sprintf("BENCH%038d", i)
				msg["Id"], msg["Hash-Chain"] = id, id
				msg["Nonce"] = bench + i
				msg["Timestamp"] = tmpl["Timestamp"].(int64) + int64(i) + 1
				tags := append([]tag{}, tmpl["Tags"].([]tag)...)
				for j, t := range tags {
					if t.Name == "Quantity" {
						tags[j].Value = "1"
					}
				}
				msg["Tags"] = tags
				raw, _ := json.Marshal(msg)
				return raw
			}
			i := 0
			b.ResetTimer()
			for b.Loop() {
				raw := msgs(i)
				i++
				r, err := mach.Apply(ctx, raw, env)
				if err != nil || r.Error != "" || len(r.Messages) != 2 {
					b.Fatalf("transfer %d: %v %q, %d messages", i, err, r.Error, len(r.Messages))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e6/float64(b.N), "ms/transfer")
		})
	}
}
