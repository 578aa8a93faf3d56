package mu_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aogo/aogo/internal/testenv"
	"github.com/aogo/aogo/mu"
	"github.com/aogo/aogo/mu/mutest"
	"github.com/aogo/aogo/store/postgres"
	"github.com/aogo/aogo/vm"
	"github.com/aogo/aogo/wallet"
)

// replica is one MU of a replicated set: its own PostgreSQL store (its lease owner) and HTTP server.
type replica struct {
	store  *postgres.MUStore
	mu     *mu.MU
	srv    *httptest.Server
	cancel context.CancelFunc
	done   chan struct{}
}

func startReplica(t testing.TB, dsn string, net *mutest.Network, gw mu.Gateway, key *wallet.Wallet, lease time.Duration) *replica {
	t.Helper()
	st, err := postgres.OpenMU(context.Background(), dsn, postgres.MUOptions{Lease: lease})
	if err != nil {
		t.Fatal(err)
	}
	m, err := mu.New(mu.Config{
		Wallet: key, Store: st, CUs: []string{net.CU.URL}, Gateway: gw,
		SchedulerHints: map[string]string{net.SchedulerAddress: net.SU.URL},
		RetryBase:      2 * time.Millisecond, RetryMax: 20 * time.Millisecond, MaxAttempts: 6,
		CronInterval: 20 * time.Millisecond, Workers: 8, ClaimInterval: 20 * time.Millisecond,
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		OperatorToken: testOperatorToken,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &replica{store: st, mu: m, srv: httptest.NewServer(m.Handler()), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		if err := m.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	t.Cleanup(r.stop)
	return r
}

// crash stops the replica as a crash would, for its lease: it stops working and renewing without handing
// anything over, so the others wait for its lease to run out (the store is closed at cleanup).
func (r *replica) crash() {
	if r.srv == nil {
		return
	}
	r.srv.Close()
	r.cancel()
	<-r.done
	r.srv = nil
}

func (r *replica) stop() {
	r.crash()
	r.store.Close()
}

// TestReplicasExactlyOnce: two MUs over one PostgreSQL. User messages posted to either replica fan out to two
// sinks; a cron monitor created on one replica ticks into a sink. Midway the replica holding the monitor and
// half the work stops without handing anything over; the other takes its tasks and monitor over once the
// leases run out. Every outbox message and every cron tick reaches its sink exactly once.
func TestReplicasExactlyOnce(t *testing.T) {
	dsn := testenv.PostgresSchemaDSN(t)
	net := mutest.New()
	t.Cleanup(net.Close)
	h := &harness{t: t, net: net, gateway: &memGateway{net: net}}
	var err error
	if h.user, err = wallet.Generate(wallet.ED25519); err != nil {
		t.Fatal(err)
	}
	if h.muKey, err = wallet.Generate(wallet.ED25519); err != nil {
		t.Fatal(err)
	}
	const lease = 400 * time.Millisecond
	a := startReplica(t, dsn, net, h.gateway, h.muKey, lease)
	b := startReplica(t, dsn, net, h.gateway, h.muKey, lease)
	h.srv = a.srv

	const fan = 10
	net.Module("fan", func(p *mutest.Process, m mutest.Msg) vm.Result {
		if m.Tag("Action") != "Go" {
			return vm.Result{}
		}
		sinks := strings.Split(m.Data, ",")
		var out []json.RawMessage
		for i := range fan {
			out = append(out, p.Send(sinks[i%2], fmt.Sprintf("%s/%d", m.Tag("N"), i)))
		}
		return vm.Result{Messages: out}
	})
	net.Module("sink", func(p *mutest.Process, m mutest.Msg) vm.Result { return vm.Result{} })
	net.Module("ticker", func(p *mutest.Process, m mutest.Msg) vm.Result { return vm.Result{} })
	src, s0, s1, tk := h.spawn("fan"), h.spawn("sink"), h.spawn("sink"), h.spawn("ticker")
	idle := func() {
		t.Helper()
		waitFor(t, func() bool {
			c, err := b.store.Counts(context.Background())
			return err == nil && c[mu.StageWrite]+c[mu.StagePull] == 0
		})
	}
	idle()
	_, sub := h.signed(tk, "", aoTags("Message")...)
	if code, body := h.do(http.MethodPost, a.srv.URL+"/monitor/"+tk, sub); code != 200 {
		t.Fatalf("monitor: %d %v", code, body)
	}
	ticks := 0
	tick := func() {
		ticks++
		n := ticks
		net.AddCron(tk, func(p *mutest.Process) vm.Result {
			return vm.Result{Messages: []json.RawMessage{p.Send(s0, fmt.Sprint("tick", n))}}
		})
	}
	const rounds = 30
	net.ResultDelay.Store(int64(2 * time.Millisecond)) // so that work is in flight when a replica stops
	for i := range rounds {
		if i == rounds/2 {
			// a holds the monitor and the tasks of the messages posted to it; with slow results, some of them
			// are surely still in flight.
			net.ResultDelay.Store(int64(50 * time.Millisecond))
			h.srv = a.srv
			h.send(src, s0+","+s1, tag("Action", "Go"), tag("N", "last-of-a"))
			a.crash()
			net.ResultDelay.Store(int64(2 * time.Millisecond))
		}
		h.srv = b.srv
		if i < rounds/2 && i%2 == 0 {
			h.srv = a.srv
		}
		h.send(src, s0+","+s1, tag("Action", "Go"), tag("N", fmt.Sprint(i)))
		tick()
	}
	idle()
	waitFor(t, func() bool { return len(h.messages(s0))+len(h.messages(s1)) == (rounds+1)*fan+ticks })

	var got, want []string
	for i := range rounds {
		for j := range fan {
			want = append(want, fmt.Sprintf("%d/%d", i, j))
		}
	}
	for j := range fan {
		want = append(want, fmt.Sprintf("last-of-a/%d", j))
	}
	for n := 1; n <= ticks; n++ {
		want = append(want, fmt.Sprint("tick", n))
	}
	time.Sleep(2 * lease) // anything pushed twice would arrive by now
	for _, s := range []string{s0, s1} {
		for _, e := range h.messages(s) {
			got = append(got, string(e.Item.Data))
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("sinks got %d messages, want %d exactly once each:\n got %v\nwant %v", len(got), len(want), got, want)
	}
	if p, _ := b.store.Parked(context.Background(), 10); len(p) != 0 {
		t.Fatalf("parked: %+v", p)
	}
	_, met := h.do(http.MethodGet, b.srv.URL+"/metrics", nil)
	if text, _ := met["text"].(string); !regexp.MustCompile(`(?m)^aogo_mu_claimed_total [1-9]`).MatchString(text) {
		t.Fatalf("b claimed none of a's tasks:\n%s", text)
	}
}
