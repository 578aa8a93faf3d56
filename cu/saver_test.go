package cu_test

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/cu"
	"github.com/aogo/aogo/gateway"
	"github.com/aogo/aogo/store/sqlite"
	"github.com/aogo/aogo/wallet"
)

// flakyStore fails SaveEvals while fail is set, as a full disk would.
type flakyStore struct {
	*sqlite.CUStore
	fail  atomic.Bool
	saves atomic.Int64
}

func (s *flakyStore) SaveEvals(ctx context.Context, evals []cu.Eval) error {
	if s.fail.Load() {
		return errors.New("disk full")
	}
	s.saves.Add(1)
	return s.CUStore.SaveEvals(ctx, evals)
}

// lazyUnit is a CU whose Run is running (evaluations saved in the background) on a flakyStore in dir.
func lazyUnit(t *testing.T, n *network, dir string, w *wallet.Wallet, every int) (*cu.CU, *client.CU, *flakyStore, *fakeMachines, context.CancelFunc) {
	t.Helper()
	st, err := sqlite.OpenCU(filepath.Join(dir, "cu.db"))
	if err != nil {
		t.Fatal(err)
	}
	fs := &flakyStore{CUStore: st}
	fm := &fakeMachines{}
	c, err := cu.New(cu.Config{Wallet: w, Scheduler: cu.FixedScheduler(client.NewSU(n.suURL, nil)),
		Modules: gateway.NewClient(n.gw.URL, nil), Store: fs, Machines: fm, DataDir: dir, CheckpointEvery: every,
		Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx) }()
	srv := httptest.NewServer(c.Handler())
	stop := func() { cancel(); <-done; srv.Close() }
	t.Cleanup(func() { stop(); st.Close() })
	return c, client.NewCU(srv.URL, nil), fs, fm, stop
}

// A result is served before it is saved; a crash that loses it costs a re-evaluation after the restart, with
// the same result and memory hash.
func TestUnsavedResultsRecomputedAfterCrash(t *testing.T) {
	n := newNetwork(t)
	pid := fakeProcess(t, n)
	var mids []string
	for _, d := range []string{"a", "b", "c"} {
		mids = append(mids, n.send(pid, d))
	}
	dir := t.TempDir()
	w, _ := wallet.Generate(wallet.ED25519)
	_, c1, fs, _, stop := lazyUnit(t, n, dir, w, 1000)
	fs.fail.Store(true)
	ctx := context.Background()
	var bodies [][]byte
	var hashes []string
	for _, mid := range mids {
		r, err := c1.Result(ctx, pid, mid)
		if err != nil {
			t.Fatalf("result served from memory while the store fails: %v", err)
		}
		a, err := cu.VerifyAttestation(r.Attestation, r.Body)
		if err != nil {
			t.Fatal(err)
		}
		bodies, hashes = append(bodies, r.Body), append(hashes, a.MemoryHash)
	}
	// Served twice: the second answer comes from memory, the same attestation.
	again, err := c1.Result(ctx, pid, mids[2])
	if err != nil || !bytes.Equal(again.Body, bodies[2]) {
		t.Fatalf("second read: %v", err)
	}
	if _, err := fs.EvalByMessage(ctx, pid, mids[0]); !errors.Is(err, cu.ErrNotFound) {
		t.Fatalf("store holds an evaluation it could not save: %v", err)
	}
	// Crash: the loop stops without having saved anything, and no Close.
	stop()
	if _, err := fs.LatestCheckpoint(ctx, pid); !errors.Is(err, cu.ErrNotFound) {
		t.Fatalf("checkpoint without its evaluations: %v", err)
	}

	_, c2, fs2, fm2, _ := lazyUnit(t, n, dir, w, 1000)
	for i, mid := range mids {
		r, err := c2.Result(ctx, pid, mid)
		if err != nil {
			t.Fatal(err)
		}
		a, err := cu.VerifyAttestation(r.Attestation, r.Body)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(r.Body, bodies[i]) {
			t.Fatalf("message %d: after restart %s, before %s", i, r.Body, bodies[i])
		}
		if i == 2 && a.MemoryHash != hashes[i] {
			t.Fatalf("memory hash after restart %s, before %s", a.MemoryHash, hashes[i])
		}
	}
	if got := fm2.applies.Load(); got != 4 {
		t.Fatalf("restart evaluated %d messages, want 4 (the process and 3 messages again)", got)
	}
	// GET /results saves what is pending first, so it lists every evaluation served.
	if rs, err := c2.Results(ctx, pid, client.CUQuery{}); err != nil || len(rs.Edges) != 4 {
		t.Fatalf("results after restart: %v, %+v", err, rs)
	}
	if fs2.saves.Load() == 0 {
		t.Fatal("nothing saved")
	}
}

// A checkpoint is never recorded ahead of the evaluations it follows: with the store failing, it fails too,
// and once the store works again every evaluation up to the checkpoint is stored.
func TestCheckpointNotAheadOfSavedResults(t *testing.T) {
	n := newNetwork(t)
	pid := fakeProcess(t, n)
	var last string
	for _, d := range []string{"a", "b", "c", "d"} {
		last = n.send(pid, d)
	}
	dir := t.TempDir()
	w, _ := wallet.Generate(wallet.ED25519)
	_, c, fs, _, _ := lazyUnit(t, n, dir, w, 2)
	fs.fail.Store(true)
	ctx := context.Background()
	if _, err := c.Result(ctx, pid, last); err == nil {
		t.Fatal("a checkpoint was due and the store fails: want an error")
	}
	if _, err := fs.LatestCheckpoint(ctx, pid); !errors.Is(err, cu.ErrNotFound) {
		t.Fatalf("checkpoint recorded while its evaluations are unsaved: %v", err)
	}
	fs.fail.Store(false)
	if _, err := c.Result(ctx, pid, last); err != nil {
		t.Fatal(err)
	}
	cp, err := fs.LatestCheckpoint(ctx, pid)
	if err != nil {
		t.Fatal(err)
	}
	evs, _, err := fs.Evals(ctx, pid, cu.EvalQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for seq := int64(0); seq <= cp.Seq; seq++ {
		if seq >= int64(len(evs)) || evs[seq].Seq != seq {
			t.Fatalf("checkpoint at seq %d but evaluation %d is not stored (%d stored)", cp.Seq, seq, len(evs))
		}
	}
}
