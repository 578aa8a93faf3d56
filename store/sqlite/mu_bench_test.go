package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/aogo/aogo/mu"
	"github.com/aogo/aogo/store/sqlite"
)

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
