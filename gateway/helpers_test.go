package gateway

import (
	"context"
	"crypto/rand"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/wallet"
)

// fakeClock is a settable clock for the simulated chain.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

const testBlockTime = 10 * time.Second

type testGateway struct {
	*Server
	clock  *fakeClock
	url    string
	client *Client
}

func newTestGateway(t testing.TB, mod ...func(*Config)) *testGateway {
	t.Helper()
	clock := newFakeClock()
	cfg := Config{Dir: t.TempDir(), BlockTime: testBlockTime, Now: clock.Now}
	for _, m := range mod {
		m(&cfg)
	}
	s, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(func() {
		ts.Close()
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return &testGateway{Server: s, clock: clock, url: ts.URL, client: NewClient(ts.URL, ts.Client())}
}

var (
	walletsOnce sync.Once
	edWallets   []*wallet.Wallet
)

// testWallet returns one of a few ed25519 wallets shared by the tests (fast to sign with).
func testWallet(t testing.TB, i int) *wallet.Wallet {
	t.Helper()
	walletsOnce.Do(func() {
		for range 4 {
			w, err := wallet.Generate(wallet.ED25519)
			if err != nil {
				panic(err)
			}
			edWallets = append(edWallets, w)
		}
	})
	return edWallets[i]
}

// signedItem builds and signs an item; target "" means none.
func signedItem(t testing.TB, w *wallet.Wallet, target string, data []byte, tags ...dataitem.Tag) *dataitem.Item {
	t.Helper()
	it := &dataitem.Item{Tags: tags, Data: data}
	if target != "" {
		b, err := dataitem.DecodeB64(target)
		if err != nil {
			t.Fatalf("target: %v", err)
		}
		it.Target = b
	}
	it.Anchor = make([]byte, 32)
	rand.Read(it.Anchor)
	if err := it.Sign(w); err != nil {
		t.Fatalf("sign: %v", err)
	}
	return it
}

func rawOf(t testing.TB, it *dataitem.Item) []byte {
	t.Helper()
	b, err := it.Bytes()
	if err != nil {
		t.Fatalf("Bytes: %v", err)
	}
	return b
}

func tag(name, value string) dataitem.Tag { return dataitem.Tag{Name: name, Value: value} }

// post uploads an item through the client and fails the test on error.
func (g *testGateway) post(t testing.TB, it *dataitem.Item) UploadResult {
	t.Helper()
	res, err := g.client.UploadResult(context.Background(), rawOf(t, it))
	if err != nil {
		t.Fatalf("upload %s: %v", it.ID(), err)
	}
	if res.ID != it.ID() {
		t.Fatalf("upload answered id %s, want %s", res.ID, it.ID())
	}
	return res
}

// bundleItem wraps items in a signed bundle item.
func bundleItem(t testing.TB, w *wallet.Wallet, items ...*dataitem.Item) *dataitem.Item {
	t.Helper()
	b, err := dataitem.EncodeBundle(items)
	if err != nil {
		t.Fatalf("EncodeBundle: %v", err)
	}
	return signedItem(t, w, "", b, tag("Bundle-Format", "binary"), tag("Bundle-Version", "2.0.0"))
}
