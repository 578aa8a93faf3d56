package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/aogo/aogo/cu"
	"github.com/aogo/aogo/store/sqlite"
	"github.com/aogo/aogo/store/storetest"
)

func TestCUStore(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "cu.db")
	s, err := sqlite.OpenCU(path)
	if err != nil {
		t.Fatal(err)
	}
	var evals []cu.Eval
	for i := range 10 {
		e := cu.Eval{Process: "P", Seq: int64(i), Nonce: int64(i), Timestamp: int64(100 + i), Result: []byte(`{}`)}
		switch {
		case i%3 == 2:
			e.Cron = "0-1-block"
		default:
			e.Message = string(rune('a' + i))
		}
		e.IsError = i == 4
		evals = append(evals, e)
	}
	if err := s.SaveEvals(ctx, evals); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAttestation(ctx, "P", 1, []byte("att")); err != nil {
		t.Fatal(err)
	}
	// Saving the same evaluations again (a replay after a restart) keeps the stored rows.
	if err := s.SaveEvals(ctx, evals[:3]); err != nil {
		t.Fatal(err)
	}
	e, err := s.EvalByMessage(ctx, "P", "b")
	if err != nil || e.Seq != 1 || string(e.Attestation) != "att" {
		t.Fatalf("by message: %+v %v", e, err)
	}
	if _, err := s.EvalByMessage(ctx, "P", "zz"); !errors.Is(err, cu.ErrNotFound) {
		t.Fatalf("unknown message: %v", err)
	}
	seqs := func(q cu.EvalQuery) ([]int64, bool) {
		t.Helper()
		es, more, err := s.Evals(ctx, "P", q)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, e := range es {
			out = append(out, e.Seq)
		}
		return out, more
	}
	i64 := func(v int64) *int64 { return &v }
	for _, tc := range []struct {
		q    cu.EvalQuery
		want string
		more bool
	}{
		{cu.EvalQuery{Limit: 3}, "[0 1 2]", true},
		{cu.EvalQuery{FromSeq: i64(2), Limit: 3}, "[3 4 5]", true},
		{cu.EvalQuery{FromSeq: i64(2), ToSeq: i64(5), Limit: 10}, "[3 4 5]", false},
		{cu.EvalQuery{FromTimestamp: i64(104), ToTimestamp: i64(106)}, "[5 6]", false},
		{cu.EvalQuery{CronOnly: true}, "[2 5 8]", false},
		{cu.EvalQuery{SkipErrors: true, ToSeq: i64(5)}, "[0 1 2 3 5]", false},
		{cu.EvalQuery{Desc: true, Limit: 2}, "[9 8]", true},
	} {
		got, more := seqs(tc.q)
		if fmt.Sprint(got) != tc.want || more != tc.more {
			t.Errorf("%+v: %v more=%v, want %s more=%v", tc.q, got, more, tc.want, tc.more)
		}
	}
	if _, err := s.LatestCheckpoint(ctx, "P"); !errors.Is(err, cu.ErrNotFound) {
		t.Fatalf("no checkpoint: %v", err)
	}
	for _, seq := range []int64{4, 9, 2} {
		if err := s.SaveCheckpoint(ctx, cu.Checkpoint{Process: "P", Seq: seq, ModuleID: "M", MemoryHash: []byte{1}, File: "f"}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s, err = sqlite.OpenCU(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cp, err := s.LatestCheckpoint(ctx, "P")
	if err != nil || cp.Seq != 9 || cp.ModuleID != "M" {
		t.Fatalf("latest checkpoint %+v %v", cp, err)
	}
}

func TestCUPages(t *testing.T) {
	storetest.CUPages(t, func(t *testing.T) func() (storetest.CUPageStore, error) {
		path := filepath.Join(t.TempDir(), "cu.db")
		return func() (storetest.CUPageStore, error) { return sqlite.OpenCU(path) }
	})
}
