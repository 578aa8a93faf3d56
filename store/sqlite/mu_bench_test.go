package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/aogo/aogo/mu"
	"github.com/aogo/aogo/store/sqlite"
)

// BenchmarkMUInsert is one durable task insert at a time: the cost of one commit (an fsync).
func BenchmarkMUInsert(b *testing.B) {
	st, err := sqlite.OpenMU(filepath.Join(b.TempDir(), "mu.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	for i := 0; i < b.N; i++ {
		if _, _, err := st.Insert(context.Background(), mu.Task{Key: fmt.Sprint(i), Kind: mu.KindPush}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMUInsertParallel is many concurrent inserts, as the MU's workers make them: group commit lets
// them share fsyncs.
func BenchmarkMUInsertParallel(b *testing.B) {
	st, err := sqlite.OpenMU(filepath.Join(b.TempDir(), "mu.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	var n atomic.Int64
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := st.Insert(context.Background(), mu.Task{Key: fmt.Sprint(n.Add(1)), Kind: mu.KindPush}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
