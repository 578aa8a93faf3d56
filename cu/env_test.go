package cu_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/cu"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/gateway"
	"github.com/aogo/aogo/store/sqlite"
	"github.com/aogo/aogo/su"
	"github.com/aogo/aogo/vm"
	"github.com/aogo/aogo/wallet"
)

// fakeFormat is the Module-Format of the fake VM's modules.
const fakeFormat = "fake-counter"

// fakeMachines opens fakeMachine instances and counts evaluations, so tests can tell a replay from a restore.
type fakeMachines struct {
	applies atomic.Int64
	opens   atomic.Int64
	// gate, when set, holds every MemoryHash until release is closed; entered gets a value as one starts.
	gate atomic.Pointer[hashGate]
}

type hashGate struct{ entered, release chan struct{} }

func (f *fakeMachines) Open(format string, wasm []byte, opts vm.Options) (vm.Machine, error) {
	if format != fakeFormat {
		return nil, fmt.Errorf("%w %q", vm.ErrUnknownFormat, format)
	}
	f.opens.Add(1)
	seed := sha256.Sum256(wasm)
	return &fakeMachine{f: f, state: seed}, nil
}

func (f *fakeMachines) Restore(format string, wasm []byte, opts vm.Options, snap io.Reader) (vm.Machine, error) {
	m := &fakeMachine{f: f}
	b, err := io.ReadAll(snap)
	if err != nil {
		return nil, err
	}
	if len(b) != 40 {
		return nil, fmt.Errorf("fake snapshot of %d bytes", len(b))
	}
	m.count = binary.BigEndian.Uint64(b)
	copy(m.state[:], b[8:])
	return m, nil
}

// fakeMachine is a deterministic stand-in for a process: its memory is a counter and a running hash of every
// message it accepted. A message tagged Action=Fail ends with an Error and changes nothing.
type fakeMachine struct {
	f     *fakeMachines
	count uint64
	state [32]byte
}

func (m *fakeMachine) memory() []byte {
	b := binary.BigEndian.AppendUint64(nil, m.count)
	return append(b, m.state[:]...)
}

func (m *fakeMachine) Apply(ctx context.Context, msg, env []byte) (vm.Result, error) {
	m.f.applies.Add(1)
	var in struct {
		ID   string         `json:"Id"`
		Tags []dataitem.Tag `json:"Tags"`
		Cron bool           `json:"Cron"`
		TS   int64          `json:"Timestamp"`
		From string         `json:"From"`
		Data *string        `json:"Data"`
	}
	if err := json.Unmarshal(msg, &in); err != nil {
		return vm.Result{}, err
	}
	if a, _ := dataitem.Get(in.Tags, "Action"); a == "Fail" {
		return vm.Result{Error: "failed on purpose", Output: json.RawMessage(`null`)}, nil
	}
	h := sha256.New()
	h.Write(m.state[:])
	h.Write(msg)
	h.Write(env)
	copy(m.state[:], h.Sum(nil))
	m.count++
	data := ""
	if in.Data != nil {
		data = *in.Data
	}
	out, _ := json.Marshal(map[string]any{"data": fmt.Sprintf("n=%d id=%s cron=%v ts=%d data=%s", m.count, in.ID, in.Cron, in.TS, data)})
	res := vm.Result{Output: out, GasUsed: 7}
	if a, _ := dataitem.Get(in.Tags, "Action"); a == "Echo" {
		reply, _ := json.Marshal(map[string]any{"Target": in.From, "Tags": []dataitem.Tag{{Name: "Action", Value: "Echoed"}}, "Data": data})
		res.Messages = []json.RawMessage{reply}
	}
	return res, nil
}

func (m *fakeMachine) Snapshot(w io.Writer) ([32]byte, error) {
	_, err := w.Write(m.memory())
	return m.MemoryHash(), err
}
func (m *fakeMachine) MemoryHash() [32]byte {
	if g := m.f.gate.Load(); g != nil {
		select {
		case g.entered <- struct{}{}:
		default:
		}
		<-g.release
	}
	return vm.HashMemory(m.memory())
}
func (m *fakeMachine) MemorySize() uint64 { return 40 }
func (m *fakeMachine) Fork(vm.ForkOptions) (vm.Machine, error) {
	c := *m
	return &c, nil
}
func (m *fakeMachine) Close() error                  { return nil }
func (m *fakeMachine) WriteMemory(w io.Writer) error { _, err := w.Write(m.memory()); return err }

// network is an SU (the real su package), a fake gateway serving signed items, and a user wallet.
type network struct {
	t      testing.TB
	clock  *fakeClock
	su     *su.Unit
	suURL  string
	suHTTP *httptest.Server
	sc     *client.SU
	gw     *httptest.Server
	items  sync.Map // id → raw item
	user   *wallet.Wallet
	suW    *wallet.Wallet
}

func newNetwork(t testing.TB) *network {
	t.Helper()
	n := &network{t: t, clock: &fakeClock{t: time.UnixMilli(1_700_000_000_000)}}
	var err error
	if n.user, err = wallet.Generate(wallet.ED25519); err != nil {
		t.Fatal(err)
	}
	if n.suW, err = wallet.Generate(wallet.ED25519); err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.OpenSU(filepath.Join(t.TempDir(), "su.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	n.su, err = su.New(su.Config{Wallet: n.suW, Store: st, Logger: quietLogger(), Now: n.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); n.su.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	n.suHTTP = httptest.NewServer(n.su.Handler())
	t.Cleanup(n.suHTTP.Close)
	n.suURL = n.suHTTP.URL
	n.sc = client.NewSU(n.suURL, nil)
	n.gw = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := strings.CutPrefix(r.URL.Path, "/item/")
		if !ok {
			http.NotFound(w, r)
			return
		}
		raw, ok := n.items.Load(id)
		if !ok {
			http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
			return
		}
		w.Write(raw.([]byte))
	}))
	t.Cleanup(n.gw.Close)
	return n
}

func (n *network) sign(it *dataitem.Item, s dataitem.Signer) []byte {
	n.t.Helper()
	if err := it.Sign(s); err != nil {
		n.t.Fatal(err)
	}
	raw, err := it.Bytes()
	if err != nil {
		n.t.Fatal(err)
	}
	return raw
}

// publishModule stores a signed Module item on the gateway and returns its id.
func (n *network) publishModule(format string, wasm []byte, extra ...dataitem.Tag) string {
	tags := []dataitem.Tag{
		{Name: ao.TagDataProtocol, Value: ao.DataProtocol}, {Name: ao.TagVariant, Value: ao.Variant},
		{Name: ao.TagType, Value: ao.TypeModule}, {Name: ao.TagModuleFormat, Value: format},
		{Name: ao.TagInputEncoding, Value: "JSON-1"}, {Name: ao.TagOutputEncoding, Value: "JSON-1"},
		{Name: ao.TagMemoryLimit, Value: "1-gb"}, {Name: ao.TagComputeLimit, Value: "9000000000000"},
	}
	it := &dataitem.Item{Tags: append(tags, extra...), Data: wasm}
	raw := n.sign(it, n.user)
	n.items.Store(it.ID(), raw)
	return it.ID()
}

// spawn schedules a Process item on the SU and returns its id.
func (n *network) spawn(module string, extra ...dataitem.Tag) string {
	n.t.Helper()
	tags := []dataitem.Tag{
		{Name: ao.TagDataProtocol, Value: ao.DataProtocol}, {Name: ao.TagVariant, Value: ao.Variant},
		{Name: ao.TagType, Value: ao.TypeProcess}, {Name: ao.TagModule, Value: module},
		{Name: ao.TagScheduler, Value: n.su.Address()},
	}
	it := &dataitem.Item{Tags: append(tags, extra...), Data: []byte("process data")}
	raw := n.sign(it, n.user)
	if _, err := n.sc.Post(context.Background(), raw); err != nil {
		n.t.Fatal(err)
	}
	return it.ID()
}

// send schedules a Message to pid and returns its id.
func (n *network) send(pid, data string, extra ...dataitem.Tag) string {
	n.t.Helper()
	target, _ := dataitem.DecodeB64(pid)
	tags := []dataitem.Tag{
		{Name: ao.TagDataProtocol, Value: ao.DataProtocol}, {Name: ao.TagVariant, Value: ao.Variant},
		{Name: ao.TagType, Value: ao.TypeMessage},
	}
	it := &dataitem.Item{Target: target, Tags: append(tags, extra...), Data: []byte(data)}
	raw := n.sign(it, n.user)
	if _, err := n.sc.Post(context.Background(), raw); err != nil {
		n.t.Fatal(err)
	}
	return it.ID()
}

// unit is one CU under test.
type unit struct {
	cu       *cu.CU
	srv      *httptest.Server
	c        *client.CU
	machines *fakeMachines
	store    *sqlite.CUStore
	dir      string
	wallet   *wallet.Wallet
}

type unitOpts struct {
	dir       string // reuse a data directory (restart)
	wallet    *wallet.Wallet
	machines  cu.Machines
	suURL     string // SU to read from (default the network's)
	every     int
	maxMemory uint64
	// maxCompute and maxDryRun are the CU's MaxCompute and MaxDryRunCompute (0: the defaults).
	maxCompute, maxDryRun uint64
	real                  bool // the vm registry (real modules) instead of the fake VM
	memHash               cu.HashPolicy
	// archive, archiveEvery and trust are the CU's Checkpoint-item settings (archive.go).
	archive      cu.CheckpointArchive
	archiveEvery time.Duration
	trust        []string
}

func (n *network) newUnit(o unitOpts) *unit {
	n.t.Helper()
	u := &unit{dir: o.dir, wallet: o.wallet}
	if u.dir == "" {
		u.dir = n.t.TempDir()
	}
	if u.wallet == nil {
		var err error
		if u.wallet, err = wallet.Generate(wallet.ED25519); err != nil {
			n.t.Fatal(err)
		}
	}
	var err error
	if u.store, err = sqlite.OpenCU(filepath.Join(u.dir, "cu.db")); err != nil {
		n.t.Fatal(err)
	}
	machines := o.machines
	if machines == nil && !o.real {
		u.machines = &fakeMachines{}
		machines = u.machines
	}
	suURL := o.suURL
	if suURL == "" {
		suURL = n.suURL
	}
	u.cu, err = cu.New(cu.Config{
		Wallet: u.wallet, Scheduler: cu.FixedScheduler(client.NewSU(suURL, nil)),
		Modules: gateway.NewClient(n.gw.URL, nil), Store: u.store, Machines: machines, DataDir: u.dir,
		CheckpointEvery: o.every, MaxMemory: o.maxMemory, MaxCompute: o.maxCompute, MaxDryRunCompute: o.maxDryRun,
		MemoryHash: o.memHash, Logger: quietLogger(), OperatorToken: testOperatorToken,
		Archive: o.archive, ArchiveEvery: o.archiveEvery, TrustCheckpoints: o.trust,
	})
	if err != nil {
		n.t.Fatal(err)
	}
	u.srv = httptest.NewServer(u.cu.Handler())
	u.c = client.NewCU(u.srv.URL, nil)
	n.t.Cleanup(func() { u.stop() })
	return u
}

// stop closes the CU as a graceful shutdown does (idempotent).
func (u *unit) stop() {
	if u.srv == nil {
		return
	}
	u.srv.Close()
	u.cu.Close()
	u.store.Close()
	u.srv = nil
}

// testOperatorToken is the operator token of the test CUs; get sends it.
const testOperatorToken = "test-operator-token"

func (u *unit) get(t testing.TB, path string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+testOperatorToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func outputData(t testing.TB, r vm.Result) string {
	t.Helper()
	var o struct {
		Data string `json:"data"`
	}
	if err := json.Unmarshal(r.Output, &o); err != nil {
		t.Fatalf("output %s: %v", r.Output, err)
	}
	return o.Data
}

func errorBody(t testing.TB, b []byte) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(b, &e); err != nil || e.Error == "" {
		t.Fatalf("want {\"error\": …}, got %s", b)
	}
	return e.Error
}

// fakeClock is the SU's clock: it moves 1 ms per reading and jumps when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
