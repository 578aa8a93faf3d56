package weavedrive

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/gateway"
	"github.com/aogo/aogo/vm"
	"github.com/aogo/aogo/wallet"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) next()          { c.mu.Lock(); c.t = c.t.Add(blockTime); c.mu.Unlock() }

const blockTime = 10 * time.Second

// net is an embedded gateway with a settable clock, counting the requests the drive makes.
type net struct {
	t      testing.TB
	clock  *clock
	url    string
	gc     *gateway.Client
	heads  atomic.Int64
	ranges atomic.Int64
}

func newNet(t testing.TB) *net {
	t.Helper()
	n := &net{t: t, clock: &clock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}}
	s, err := gateway.Open(context.Background(), gateway.Config{Dir: t.TempDir(), BlockTime: blockTime, Now: n.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			n.heads.Add(1)
		}
		if r.Header.Get("Range") != "" {
			n.ranges.Add(1)
		}
		s.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { ts.Close(); s.Close() })
	n.url = ts.URL
	n.gc = gateway.NewClient(ts.URL, ts.Client())
	return n
}

func (n *net) height() int64 {
	h, err := n.gc.Height(context.Background())
	if err != nil {
		n.t.Fatal(err)
	}
	return int64(h)
}

func (n *net) post(w *wallet.Wallet, data []byte, tags ...dataitem.Tag) string {
	n.t.Helper()
	it := &dataitem.Item{Tags: tags, Data: data, Anchor: make([]byte, 32)}
	rand.Read(it.Anchor)
	if err := it.Sign(w); err != nil {
		n.t.Fatal(err)
	}
	raw, err := it.Bytes()
	if err != nil {
		n.t.Fatal(err)
	}
	if err := n.gc.Upload(context.Background(), raw); err != nil {
		n.t.Fatal(err)
	}
	return it.ID()
}

func (n *net) attest(w *wallet.Wallet, id string) string {
	return n.post(w, nil, dataitem.Tag{Name: "Data-Protocol", Value: "ao"}, dataitem.Tag{Name: "Type", Value: "Attestation"},
		dataitem.Tag{Name: "Message", Value: id})
}

func newWallet(t testing.TB) *wallet.Wallet {
	w, err := wallet.Generate(wallet.ED25519)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func call(h int64, process ...vm.Tag) context.Context {
	return vm.WithDriveCall(context.Background(), &vm.DriveCall{Process: "P", ProcessTags: process, BlockHeight: h})
}

func readAll(t testing.TB, f vm.DriveFile) []byte {
	t.Helper()
	b := make([]byte, f.Size())
	if _, err := f.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	return b
}

func newDrive(t *testing.T, n *net, cacheBytes int64) (*Drive, *Cache) {
	t.Helper()
	c, err := OpenCache(t.TempDir(), cacheBytes)
	if err != nil {
		t.Fatal(err)
	}
	g := NewGateway(n.url, nil)
	return New(g, Options{Index: g, Cache: c, SettleWait: -1}), c
}

// TestAdmission: data not attested is not readable (and, while the block may still get an attestation,
// not decided); once the Scheduler's attestation lands it is, from that height on; a not-available
// answer at an earlier height stays what it was, and never hides the data later.
func TestAdmission(t *testing.T) {
	n := newNet(t)
	su, user, attestor := newWallet(t), newWallet(t), newWallet(t)
	data := make([]byte, 3*BlockSize+12345)
	rand.Read(data)
	id := n.post(user, data)
	d, _ := newDrive(t, n, 64<<20)
	proc := []vm.Tag{{Name: "Extension", Value: "WeaveDrive"}, {Name: "Scheduler", Value: su.Address()}, {Name: "Attestor", Value: attestor.Address()}}
	path := "/data/" + id

	h0 := n.height()
	if _, err := d.Open(call(h0, proc...), path); !errors.Is(err, ErrNotSettled) {
		t.Fatalf("open at the open block: %v, want ErrNotSettled", err)
	}
	n.clock.next()
	if f, err := d.Open(call(h0, proc...), path); f != nil || !errors.Is(err, vm.ErrFileNotFound) {
		t.Fatalf("not attested: %v %v, want ErrFileNotFound", f, err)
	}
	// An attestation by someone else admits nothing.
	n.attest(user, id)
	h1 := n.height()
	n.clock.next()
	if f, err := d.Open(call(h1, proc...), path); f != nil || !errors.Is(err, vm.ErrFileNotFound) {
		t.Fatalf("attested by a stranger: %v %v", f, err)
	}
	n.attest(su, id)
	h2 := n.height()
	n.clock.next()
	// The earlier heights still say no (the attestation is above them) ...
	for _, h := range []int64{h0, h1} {
		if f, err := d.Open(call(h, proc...), path); f != nil || !errors.Is(err, vm.ErrFileNotFound) {
			t.Fatalf("height %d after the attestation at %d: %v %v", h, h2, f, err)
		}
	}
	// ... and from h2 on the data is readable, although h1's "no" was remembered.
	for _, h := range []int64{h2, h2 + 5} {
		f, err := d.Open(call(h, proc...), path)
		if err != nil || f == nil {
			t.Fatalf("height %d: %v %v", h, f, err)
		}
		if got := readAll(t, f); !bytes.Equal(got, data) {
			t.Fatalf("height %d: content differs", h)
		}
	}
	// An Attestor's attestation admits too; without the extension nothing is admitted.
	other := n.post(user, []byte("other data"))
	n.attest(attestor, other)
	h3 := n.height()
	n.clock.next()
	if f, err := d.Open(call(h3, proc...), "/data/"+other); err != nil || f == nil || string(readAll(t, f)) != "other data" {
		t.Fatalf("attestor: %v %v", f, err)
	}
	if f, err := d.Open(call(h3, proc[1:]...), "/data/"+other); f != nil || !errors.Is(err, vm.ErrFileNotFound) {
		t.Fatalf("no extension: %v %v", f, err)
	}
	// On-Boot data needs neither.
	boot := []vm.Tag{{Name: "Scheduler", Value: su.Address()}, {Name: "On-Boot", Value: other}}
	if f, err := d.Open(call(0, boot...), "/data/"+other); err != nil || f == nil {
		t.Fatalf("on-boot: %v %v", f, err)
	}
	// Paths that are no drive file are NULL, never an error.
	for _, p := range []string{"/etc/passwd", "/headers/" + id, "/block/-1", "/block/01", "data/" + id, "/tx/short"} {
		if f, err := d.Open(call(h3, proc...), p); f != nil || err != nil {
			t.Fatalf("%q: %v %v", p, f, err)
		}
	}
	// Bad ids under /data are the reference's HALT.
	for _, p := range []string{"/data/short", "/data/" + id + "/x", "/data/"} {
		if f, err := d.Open(call(h3, proc...), p); f != nil || !errors.Is(err, vm.ErrFileNotFound) {
			t.Fatalf("%q: %v %v", p, f, err)
		}
	}
}

func TestAvailabilityTypes(t *testing.T) {
	n := newNet(t)
	su, user := newWallet(t), newWallet(t)
	id := n.post(user, []byte("individual data"))
	n.post(su, nil, dataitem.Tag{Name: "Data-Protocol", Value: "WeaveDrive"}, dataitem.Tag{Name: "Type", Value: "Available"},
		dataitem.Tag{Name: "ID", Value: id})
	lib := n.post(user, []byte("library data"))
	h := n.height()
	n.clock.next()
	d, _ := newDrive(t, n, 64<<20)
	base := []vm.Tag{{Name: "Extension", Value: "WeaveDrive"}, {Name: "Scheduler", Value: su.Address()}}
	mode := func(m string) []vm.Tag {
		return append(append([]vm.Tag(nil), base...), vm.Tag{Name: "Availability-Type", Value: m})
	}

	// Individual: the Available item admits it; in Assignments mode it does not.
	if f, err := d.Open(call(h, mode("Individual")...), "/data/"+id); err != nil || f == nil || string(readAll(t, f)) != "individual data" {
		t.Fatalf("individual: %v %v", f, err)
	}
	if f, err := d.Open(call(h, base...), "/data/"+id); f != nil || !errors.Is(err, vm.ErrFileNotFound) {
		t.Fatalf("assignments with an Available item: %v %v", f, err)
	}
	// Library: data not attested stops the evaluation; attested, it reads.
	var ref *vm.DriveRefusal
	if _, err := d.Open(call(h, mode("Library")...), "/data/"+lib); !errors.Is(err, ErrNotAdmitted) || !errors.As(err, &ref) ||
		ref.Reason != "This WeaveDrive implementation does not support Library attestations yet!" {
		t.Fatalf("library, not attested: %v", err)
	}
	n.attest(su, lib)
	h2 := n.height()
	n.clock.next()
	if f, err := d.Open(call(h2, mode("Library")...), "/data/"+lib); err != nil || f == nil || string(readAll(t, f)) != "library data" {
		t.Fatalf("library, attested: %v %v", f, err)
	}
	if _, err := d.Open(call(h2, mode("Everything")...), "/data/"+lib); !errors.Is(err, ErrMode) || !errors.As(err, &ref) ||
		ref.Reason != "Unsupported WeaveDrive mode: Everything" {
		t.Fatalf("unknown mode: %v", err)
	}
}

// TestTxAndBlock: /tx/<id> is the gateway's transaction JSON plus ownerAddress, as the reference drive
// builds it; /block/<h> is the gateway's block, up to the message's height.
func TestTxAndBlock(t *testing.T) {
	n := newNet(t)
	user := newWallet(t)
	id := n.post(user, []byte("x"), dataitem.Tag{Name: "Name", Value: "<tag & value>"})
	h := n.height()
	d, _ := newDrive(t, n, 64<<20)
	f, err := d.Open(call(h), "/tx/"+id)
	if err != nil || f == nil {
		t.Fatalf("tx: %v %v", f, err)
	}
	got := readAll(t, f)
	resp, err := http.Get(n.url + "/tx/" + id)
	if err != nil {
		t.Fatal(err)
	}
	src, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// What the reference does: JSON.stringify({...JSON.parse(src), ownerAddress}).
	var want bytes.Buffer
	if err := json.Compact(&want, src); err != nil {
		t.Fatal(err)
	}
	want.Truncate(want.Len() - 1)
	want.WriteString(`,"ownerAddress":"` + user.Address() + `"}`)
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("tx JSON\n got %s\nwant %s", got, want.Bytes())
	}
	var fields map[string]any
	if err := json.Unmarshal(got, &fields); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"format", "id", "last_tx", "owner", "tags", "target", "quantity", "data_size", "reward", "signature", "ownerAddress"} {
		if _, ok := fields[k]; !ok {
			t.Errorf("tx JSON has no %q", k)
		}
	}
	if fields["id"] != id {
		t.Errorf("id %v", fields["id"])
	}

	f, err = d.Open(call(h), "/block/"+strconv.FormatInt(h, 10))
	if err != nil || f == nil {
		t.Fatalf("block: %v %v", f, err)
	}
	resp, err = http.Get(n.url + "/block/height/" + strconv.FormatInt(h, 10))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(readAll(t, f), blk) {
		t.Fatal("block body differs from the gateway's")
	}
	if f, err := d.Open(call(h-1), "/block/"+strconv.FormatInt(h, 10)); f != nil || err != nil {
		t.Fatalf("a block above the message's height: %v %v", f, err)
	}
}

// TestCacheReads: one HEAD and one Range request per read-ahead window; a second drive on the same cache
// reads without the gateway; a small cache stays within its bound and evicts.
func TestCacheReads(t *testing.T) {
	n := newNet(t)
	user := newWallet(t)
	data := make([]byte, 6*BlockSize+100)
	rand.Read(data)
	id := n.post(user, data)
	dir := t.TempDir()
	c, err := OpenCache(dir, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	g := NewGateway(n.url, nil)
	d := New(g, Options{Cache: c}) // no index: every id admitted (aogo run's mode)
	f, err := d.Open(call(0), "/data/"+id)
	if err != nil || f == nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readAll(t, f), data) {
		t.Fatal("content")
	}
	// 7 blocks, 4 per request: 2 Range requests, 1 HEAD.
	if h, r := n.heads.Load(), n.ranges.Load(); h != 1 || r != 2 {
		t.Fatalf("heads %d ranges %d, want 1 and 2", h, r)
	}
	// A tail read inside a block.
	buf := make([]byte, 50)
	if k, err := f.ReadAt(buf, int64(len(data))-50); k != 50 || err != nil || !bytes.Equal(buf, data[len(data)-50:]) {
		t.Fatalf("tail: %d %v", k, err)
	}
	d2 := New(g, Options{Cache: c})
	f2, _ := d2.Open(call(0), "/data/"+id)
	if !bytes.Equal(readAll(t, f2), data) || n.ranges.Load() != 2 {
		t.Fatalf("second drive: ranges %d, want still 2", n.ranges.Load())
	}

	// Bounded: 2.5 blocks of room for a 7-block file.
	small, err := OpenCache(t.TempDir(), 2*BlockSize+BlockSize/2)
	if err != nil {
		t.Fatal(err)
	}
	d3 := New(g, Options{Cache: small, ReadAhead: 1})
	f3, _ := d3.Open(call(0), "/data/"+id)
	before := n.ranges.Load()
	if !bytes.Equal(readAll(t, f3), data) {
		t.Fatal("content through the small cache")
	}
	if got := n.ranges.Load() - before; got != 7 {
		t.Fatalf("ranges %d, want 7", got)
	}
	if small.Size() > 2*BlockSize+BlockSize/2 {
		t.Fatalf("cache holds %d bytes, bound %d", small.Size(), 2*BlockSize+BlockSize/2)
	}
	// The first block was evicted: reading it again goes to the gateway; the last is still there.
	before = n.ranges.Load()
	f3.ReadAt(buf, int64(len(data))-50)
	if n.ranges.Load() != before {
		t.Fatal("last block should be cached")
	}
	f3.ReadAt(buf, 0)
	if n.ranges.Load() != before+1 {
		t.Fatal("first block should have been evicted")
	}
	// Reopened, the cache keeps what fits.
	re, err := OpenCache(dir, BlockSize)
	if err != nil {
		t.Fatal(err)
	}
	if re.Size() > BlockSize || re.Size() == 0 {
		t.Fatalf("reopened with a smaller bound: %d bytes", re.Size())
	}
}

// TestSettleWait: an open at the chain's current height waits for the next block, then answers.
func TestSettleWait(t *testing.T) {
	n := newNet(t)
	su, user := newWallet(t), newWallet(t)
	id := n.post(user, []byte("x"))
	g := NewGateway(n.url, nil)
	d := New(g, Options{Index: g, SettleWait: time.Minute})
	proc := []vm.Tag{{Name: "Extension", Value: "WeaveDrive"}, {Name: "Scheduler", Value: su.Address()}}
	h := n.height()
	go func() { time.Sleep(300 * time.Millisecond); n.clock.next() }()
	if f, err := d.Open(call(h, proc...), "/data/"+id); f != nil || !errors.Is(err, vm.ErrFileNotFound) {
		t.Fatalf("%v %v", f, err)
	}
	// A cancelled evaluation stops waiting.
	ctx, cancel := context.WithCancel(call(h+1, proc...))
	cancel()
	if _, err := d.Open(ctx, "/data/"+id); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

// lateIndex: the attestation is indexed at height 7 while block 7 is still open, after the first query.
type lateIndex struct{ queries, heights int }

func (x *lateIndex) Earliest(_ context.Context, q Query, max int64) (int64, bool, error) {
	x.queries++
	return 7, x.queries > 1 && max >= 7, nil
}

func (x *lateIndex) Height(context.Context) (int64, error) {
	x.heights++
	return int64(6 + x.heights), nil // 7, then 8
}

// TestLateAttestation: a "no" found while the message's block is open is asked again once the block is
// closed, so an attestation indexed in between is not missed (another CU, later, would see it).
func TestLateAttestation(t *testing.T) {
	dir := t.TempDir()
	const id = "DATA_ID_00000000000000000000000000000000001"
	if err := os.WriteFile(filepath.Join(dir, id), []byte("late"), 0o644); err != nil {
		t.Fatal(err)
	}
	x := &lateIndex{}
	d := New(Dir(dir), Options{Index: x, SettleWait: time.Minute})
	proc := []vm.Tag{{Name: "Extension", Value: "WeaveDrive"}, {Name: "Scheduler", Value: "SU"}}
	f, err := d.Open(call(7, proc...), "/data/"+id)
	if err != nil || f == nil || string(readAll(t, f)) != "late" {
		t.Fatalf("%v %v", f, err)
	}
	if x.queries != 2 {
		t.Fatalf("%d queries, want 2", x.queries)
	}
}
