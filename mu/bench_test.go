package mu_test

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/aogo/aogo/internal/testenv"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/aogo/aogo/mu"
	"github.com/aogo/aogo/mu/mutest"
	"github.com/aogo/aogo/store/postgres"
	"github.com/aogo/aogo/vm"
)

// BenchmarkPingPong measures message → final result through the MU over HTTP with the fake SU and CU (which
// answer at once, so the figure is the MU's own cost: durable queue commits, signing, locating, HTTP). Each
// operation is a user message to A, which sends Ping to B, which answers Pong to A: three SU writes and three
// result pulls, two of them pushed hops. It reports p50/p99 of the whole chain and per pushed hop.
func BenchmarkPingPong(b *testing.B) { benchPingPong(b, newHarness(b, nil)) }

// BenchmarkPingPongPostgres is BenchmarkPingPong with the MU's store in PostgreSQL (one replica).
func BenchmarkPingPongPostgres(b *testing.B) { benchPingPong(b, newHarnessStore(b, pgOpener(b), nil)) }

// pgOpener opens a PostgreSQL MU store in a private schema of the test PostgreSQL.
func pgOpener(b *testing.B) func() (mu.Store, error) {
	dsn := testenv.PostgresSchemaDSN(b)
	return func() (mu.Store, error) { return postgres.OpenMU(context.Background(), dsn, postgres.MUOptions{}) }
}

func benchPingPong(b *testing.B, h *harness) {
	done := make(chan struct{}, 1)
	h.net.Module("a", func(p *mutest.Process, m mutest.Msg) vm.Result {
		switch m.Tag("Action") {
		case "Go":
			return vm.Result{Messages: []json.RawMessage{p.Send(m.Data, "", "Action", "Ping")}}
		case "Pong":
			done <- struct{}{}
		}
		return vm.Result{}
	})
	h.net.Module("b", func(p *mutest.Process, m mutest.Msg) vm.Result {
		if m.Tag("Action") == "Ping" {
			return vm.Result{Messages: []json.RawMessage{p.Send(m.From, "", "Action", "Pong")}}
		}
		return vm.Result{}
	})
	a, bb := h.spawn("a"), h.spawn("b")
	h.waitIdle()
	raws := make([][]byte, b.N)
	for i := range raws {
		_, raws[i] = h.signed(a, bb, aoTags("Message", tag("Action", "Go"))...)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if code, body := h.post(raws[i]); code != 202 {
			b.Fatalf("post: %d %v", code, body)
		}
		<-done
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(p50.Microseconds())/1000/2, "p50-ms/hop")
	h.waitIdle()
}

// BenchmarkCrankThroughput measures pushed messages per second: each operation is one user message whose
// result holds 50 outbox messages to a sink; the benchmark ends when every one has been written and its
// result cranked.
func BenchmarkCrankThroughput(b *testing.B) { benchCrank(b, newHarness(b, nil)) }

// BenchmarkCrankThroughputPostgres is BenchmarkCrankThroughput with the MU's store in PostgreSQL (one replica).
func BenchmarkCrankThroughputPostgres(b *testing.B) {
	benchCrank(b, newHarnessStore(b, pgOpener(b), nil))
}

// BenchmarkCrankThroughputTwoReplicas is BenchmarkCrankThroughputPostgres with two MU replicas on the one
// database (in one process, on the same cores), the user messages posted to each in turn.
func BenchmarkCrankThroughputTwoReplicas(b *testing.B) {
	dsn := testenv.PostgresSchemaDSN(b)
	open := func() (mu.Store, error) { return postgres.OpenMU(context.Background(), dsn, postgres.MUOptions{}) }
	h := newHarnessStore(b, open, nil)
	other := startReplica(b, dsn, h.net, h.gateway, h.muKey, 10*time.Second)
	benchCrank(b, h, other.srv)
}

// benchCrank posts the user messages to h's MU and the others in turn.
func benchCrank(b *testing.B, h *harness, others ...*httptest.Server) {
	const fan = 50
	h.net.Module("fan", func(p *mutest.Process, m mutest.Msg) vm.Result {
		if m.Tag("Action") != "Go" {
			return vm.Result{}
		}
		out := make([]json.RawMessage, fan)
		for i := range out {
			out[i] = p.Send(m.Data, fmt.Sprint(i))
		}
		return vm.Result{Messages: out}
	})
	h.net.Module("sink", func(p *mutest.Process, m mutest.Msg) vm.Result { return vm.Result{} })
	src, sink := h.spawn("fan"), h.spawn("sink")
	h.waitIdle()
	raws := make([][]byte, b.N)
	for i := range raws {
		_, raws[i] = h.signed(src, sink, aoTags("Message", tag("Action", "Go"))...)
	}
	b.ResetTimer()
	start := time.Now()
	own := h.srv
	srvs := append([]*httptest.Server{own}, others...)
	for i := 0; i < b.N; i++ {
		h.srv = srvs[i%len(srvs)]
		if code, body := h.post(raws[i]); code != 202 {
			b.Fatalf("post: %d %v", code, body)
		}
	}
	h.srv = own
	h.waitIdle()
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N*fan)/el.Seconds(), "msgs/s")
	if got := len(h.net.Process(sink).Log) - 1; got != b.N*fan {
		b.Fatalf("sink got %d messages, want %d", got, b.N*fan)
	}
}
