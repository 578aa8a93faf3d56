package gateway

import (
	"context"
	"strconv"
	"testing"

	"github.com/aogo/aogo/dataitem"
)

// BenchmarkUpload posts signed items over HTTP (POST /tx, signature verified, one commit each); items/s.
func BenchmarkUpload(b *testing.B) {
	g := newTestGateway(b)
	w := testWallet(b, 0)
	raws := make([][]byte, 0, 4096)
	for i := range cap(raws) {
		raws = append(raws, rawOf(b, signedItem(b, w, "", []byte("bench "+strconv.Itoa(i)), tag("Data-Protocol", "ao"), tag("Type", "Message"))))
	}
	ctx := context.Background()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if i == len(raws) {
			b.StopTimer()
			raws = raws[:0]
			for j := range cap(raws) {
				raws = append(raws, rawOf(b, signedItem(b, w, "", []byte("bench "+strconv.Itoa(j)), tag("Type", "Message"))))
			}
			i = 0
			b.StartTimer()
		}
		if err := g.client.Upload(ctx, raws[i]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "items/s")
}

// BenchmarkUploadBundle posts bundles of 100 items (what the SU's batched upload sends); items/s.
func BenchmarkUploadBundle(b *testing.B) {
	g := newTestGateway(b)
	w := testWallet(b, 0)
	ctx := context.Background()
	n := 0
	for b.Loop() {
		b.StopTimer()
		items := make([]*dataitem.Item, 100)
		for j := range items {
			items[j] = signedItem(b, w, "", []byte("bench "+strconv.Itoa(n)), tag("Type", "Message"))
			n++
		}
		raw, err := dataitem.EncodeBundle(items)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := g.client.Upload(ctx, raw); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "items/s")
}

// benchGateway holds 5000 items from 4 owners over 50 blocks, 20 of them Scheduler-Locations.
func benchGateway(b *testing.B) (*testGateway, string) {
	g := newTestGateway(b)
	ctx := context.Background()
	owner := ""
	var batch []*dataitem.Item
	for i := range 5000 {
		w := testWallet(b, i%4)
		typ := "Message"
		if i%250 == 0 {
			typ = "Scheduler-Location"
			owner = w.Address()
		}
		batch = append(batch, signedItem(b, w, "", []byte(strconv.Itoa(i)), tag("Data-Protocol", "ao"), tag("Type", typ),
			tag("Url", "http://su"), tag("Time-To-Live", "1000"), tag("Index", strconv.Itoa(i))))
		if len(batch) == 100 {
			raw, err := dataitem.EncodeBundle(batch)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := g.Put(ctx, raw); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
			g.clock.Advance(testBlockTime)
		}
	}
	return g, owner
}

// BenchmarkGraphQLSchedulerLocation is scheduler-utils' lookup: owner + two tags, HEIGHT_DESC, first 1.
func BenchmarkGraphQLSchedulerLocation(b *testing.B) {
	g, owner := benchGateway(b)
	ctx := context.Background()
	for b.Loop() {
		if _, _, err := g.client.SchedulerLocation(ctx, owner); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGraphQLByID is the CU's process/module lookup: transactions(ids: [id]) with the full node.
func BenchmarkGraphQLByID(b *testing.B) {
	g, _ := benchGateway(b)
	ctx := context.Background()
	page, err := g.client.Transactions(ctx, TxQuery{First: 1})
	if err != nil || len(page.Edges) != 1 {
		b.Fatal(err)
	}
	id := page.Edges[0].Node.ID
	for b.Loop() {
		if _, err := g.client.Transaction(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGraphQLTagPage is a 100-edge page filtered by tag.
func BenchmarkGraphQLTagPage(b *testing.B) {
	g, _ := benchGateway(b)
	ctx := context.Background()
	for b.Loop() {
		page, err := g.client.Transactions(ctx, TxQuery{Tags: []TagFilter{{Name: "Type", Values: []string{"Message"}}}, First: 100})
		if err != nil || len(page.Edges) != 100 {
			b.Fatal(err)
		}
	}
}
