package su_test

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/store/sqlite"
	"github.com/aogo/aogo/su"
	"github.com/aogo/aogo/wallet"
)

// env is one running SU behind httptest with a client and a user wallet.
type env struct {
	unit   *su.Unit
	srv    *httptest.Server
	c      *client.SU
	store  su.Store
	user   *wallet.Wallet
	cancel context.CancelFunc
	done   chan error
}

var suWallet, userWallet = mustWallet(), mustWallet()

func mustWallet() *wallet.Wallet {
	w, err := wallet.Generate(wallet.ED25519)
	if err != nil {
		panic(err)
	}
	return w
}

// start runs an SU on a fresh SQLite store in dir (t.TempDir() when ""), with cfg's optional parts.
// testOperatorToken is the operator token of the units the tests start; get sends it.
const testOperatorToken = "test-operator-token"

func start(t testing.TB, dir string, cfg su.Config) *env {
	t.Helper()
	return startWrapped(t, dir, cfg, nil)
}

// startWrapped is start with the unit's store wrapped by wrap (nil: none), to inject faults.
func startWrapped(t testing.TB, dir string, cfg su.Config, wrap func(su.Store) su.Store) *env {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	store, err := sqlite.OpenSU(filepath.Join(dir, "su.db"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Wallet == nil {
		cfg.Wallet = suWallet
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.OperatorToken == "" {
		cfg.OperatorToken = testOperatorToken
	}
	cfg.Store = store
	if wrap != nil {
		cfg.Store = wrap(store)
	}
	u, err := su.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &env{unit: u, store: store, user: userWallet, cancel: cancel, done: make(chan error, 1)}
	go func() { e.done <- u.Run(ctx) }()
	e.srv = httptest.NewServer(u.Handler())
	e.c = client.NewSU(e.srv.URL, nil)
	t.Cleanup(e.stop)
	return e
}

func (e *env) stop() {
	if e.cancel == nil {
		return
	}
	e.srv.Close()
	e.cancel()
	<-e.done
	e.store.Close()
	e.cancel = nil
}

func signed(t testing.TB, w dataitem.Signer, target string, anchor []byte, data string, tags ...dataitem.Tag) []byte {
	t.Helper()
	it := &dataitem.Item{Tags: tags, Data: []byte(data), Anchor: anchor}
	if target != "" {
		b, err := dataitem.DecodeB64(target)
		if err != nil {
			t.Fatal(err)
		}
		it.Target = b
	}
	if err := it.Sign(w); err != nil {
		t.Fatal(err)
	}
	raw, err := it.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func tag(n, v string) dataitem.Tag { return dataitem.Tag{Name: n, Value: v} }

func processItem(t testing.TB, w dataitem.Signer, scheduler string, extra ...dataitem.Tag) []byte {
	tags := append([]dataitem.Tag{tag("Data-Protocol", "ao"), tag("Variant", "ao.TN.1"), tag("Type", "Process"),
		tag("Module", randID()), tag("Scheduler", scheduler)}, extra...)
	return signed(t, w, "", nil, "process data", tags...)
}

func messageItem(t testing.TB, w dataitem.Signer, pid, data string, extra ...dataitem.Tag) []byte {
	tags := append([]dataitem.Tag{tag("Data-Protocol", "ao"), tag("Variant", "ao.TN.1"), tag("Type", "Message"),
		tag("Action", "Eval")}, extra...)
	return signed(t, w, pid, nil, data, tags...)
}

func randID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return dataitem.B64(b)
}

func idOf(t testing.TB, raw []byte) string {
	it, err := dataitem.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	return it.ID()
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// spawn posts a new process and returns its id.
func (e *env) spawn(t *testing.T, extra ...dataitem.Tag) string {
	t.Helper()
	raw := processItem(t, e.user, e.unit.Address(), extra...)
	res, err := e.c.Post(ctxT(t), raw)
	if err != nil {
		t.Fatalf("spawn: %v", err)
	}
	if res.ID != idOf(t, raw) {
		t.Fatalf("spawn answered id %s, want %s", res.ID, idOf(t, raw))
	}
	return res.ID
}
