package emscripten

import (
	"syscall"
	"testing"
	"time"
)

// cpuNow is the CPU time (user + system, all threads) this process has used. Benchmarks report it per
// operation next to wall time because the machines they run on are shared: under load, wall time
// mostly measures the scheduler, CPU time still measures the work.
func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU time per operation since start (taken after b.ResetTimer or with it).
func reportCPU(b *testing.B, start time.Duration, ops int) {
	if ops > 0 {
		b.ReportMetric(float64(cpuNow()-start)/float64(ops)/1e6, "cpu-ms/op")
	}
}
