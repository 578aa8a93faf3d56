package devnet_test

import (
	"context"
	"os"
	"testing"

	"github.com/aogo/aogo/devnet"
	"github.com/aogo/aogo/internal/testenv"
)

// BenchmarkDevMessage times one message end to end as aoconnect sends it — POST the signed item to /mu over
// loopback TCP, then GET /cu/result — on aogo's aos and on the real aos 2.0.6 (wasm64). Reports p50/p99 in
// ms and msgs/s besides ns/op.
func BenchmarkDevMessage(b *testing.B) {
	b.Run("aos", func(b *testing.B) { benchDev(b, "") })
	b.Run("aos2_0_6", func(b *testing.B) {
		wasm, err := os.ReadFile(testenv.WaoModule(b, "aos2_0_6"))
		if err != nil {
			b.Fatal(err)
		}
		benchDev(b, "", devnet.Module{Wasm: wasm, Format: "wasm64-unknown-emscripten-draft_2024_02_15",
			MemoryLimit: devnet.DefaultMemoryLimit, ComputeLimit: devnet.DefaultComputeLimit})
	})
}

func benchDev(b *testing.B, _ string, mod ...devnet.Module) {
	n := startNet(b, b.TempDir(), mod...)
	c := userClient(b, n)
	ctx := context.Background()
	pid, err := devnet.BenchProcess(ctx, c, "")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	r, err := devnet.Bench(ctx, c, []string{pid}, b.N)
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(r.P50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(r.P99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(r.PerSecond, "msgs/s")
}
