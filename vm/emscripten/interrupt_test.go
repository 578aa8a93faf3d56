package emscripten

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aogo/aogo/vm"
)

// TestApplyInterrupted: an endless loop with no Compute-Limit stops as soon as its context ends. Apply
// returns ErrInterrupted (a host error, no result), the state is as before the message, and the machine
// keeps working; the same message under a Compute-Limit then ends in its deterministic Error.
func TestApplyInterrupted(t *testing.T) {
	for _, mod := range realModules[:2] {
		t.Run(mod.name, func(t *testing.T) {
			m := openBooted(t, mod.name, mod.format, vm.Options{})
			mustApply(t, m, evalMsg(`Counter = 1`))
			before := m.MemoryHash()
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(300*time.Millisecond, cancel)
			done := make(chan error, 1)
			start := time.Now()
			go func() {
				_, err := m.Apply(ctx, evalMsg(`Counter = 99; while true do end`), testEnv())
				done <- err
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(time.Minute): // without interruption the loop runs for hours
				t.Fatal("the loop was not interrupted")
			}
			t.Logf("interrupted after %v", time.Since(start))
			if !errors.Is(err, vm.ErrInterrupted) || !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want ErrInterrupted wrapping context.Canceled", err)
			}
			if m.MemoryHash() != before {
				t.Fatal("memory changed by an interrupted message")
			}
			if got := outputData(t, mustApply(t, m, evalMsg(`return Counter`))); got != "1" {
				t.Fatalf("counter = %s, want 1", got)
			}
		})
	}
}

// TestInterruptSparesOthers: an interrupt aimed at one machine (each one moves the engine's shared epoch)
// never fails another machine's evaluation running at the same time, nor changes its result.
func TestInterruptSparesOthers(t *testing.T) {
	mod := realModules[1]
	work := evalMsg(`local s = 0; for i = 1, 3000000 do s = s + i % 7 end; return s`)
	base := openBooted(t, mod.name, mod.format, vm.Options{})
	// Each evaluation runs on a fresh fork of base: the same state and message, so the same output and fuel.
	eval := func() (vm.Result, error) {
		f, err := base.Fork(vm.ForkOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		return f.Apply(context.Background(), work, testEnv())
	}
	want, err := eval()
	if err != nil || want.Error != "" {
		t.Fatal(err, want.Error)
	}
	victim := openBooted(t, mod.name, mod.format, vm.Options{})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	interrupts := 0
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
			_, err := victim.Apply(ctx, evalMsg(`while true do end`), testEnv())
			cancel()
			if !errors.Is(err, vm.ErrInterrupted) {
				t.Errorf("victim: %v", err)
				return
			}
			interrupts++
		}
	})
	var got []vm.Result
	var errs []error
	for range 3 {
		r, err := eval()
		got, errs = append(got, r), append(errs, err)
	}
	close(stop)
	wg.Wait()
	for i, r := range got {
		// The fuel a message uses is the Compute-Limit's measure: it must not depend on others' epochs.
		if errs[i] != nil || r.Error != "" || string(r.Output) != string(want.Output) || r.FuelUsed != want.FuelUsed {
			t.Fatalf("run %d: err %v, Error %q, output %s fuel %d; want %s fuel %d", i, errs[i], r.Error, r.Output, r.FuelUsed, want.Output, want.FuelUsed)
		}
	}
	if interrupts < 3 {
		t.Fatalf("only %d interrupts happened meanwhile", interrupts)
	}
	t.Logf("%d interrupts of another machine during 3 evaluations", interrupts)
}

// TestForkComputeLimit: a fork may run under a lower Compute-Limit (a CU's dry-run maximum) with its own
// error text; its rollback replays the parent's journal under the parent's limit, which the journal's
// messages may exceed the fork's, and the parent is untouched.
func TestForkComputeLimit(t *testing.T) {
	mod := realModules[1]
	m := openBooted(t, mod.name, mod.format, vm.Options{ComputeLimit: 1e9})
	// A journal message heavier than the fork's limit.
	heavy := mustApply(t, m, evalMsg(`local s = 0; for i = 1, 1000000 do s = s + i end; Counter = 1; return s`))
	if heavy.Error != "" {
		t.Fatal(heavy.Error)
	}
	before := m.MemoryHash()
	const forkLimit, text = 50_000_000, "dry-run limit"
	if heavy.FuelUsed <= forkLimit {
		t.Fatalf("the journal message used %d units, not more than the fork's limit", heavy.FuelUsed)
	}
	f, err := m.Fork(vm.ForkOptions{ComputeLimit: forkLimit, ComputeLimitError: text})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := f.Apply(context.Background(), evalMsg(`Counter = 5; while true do end`), testEnv())
	if err != nil || r.Error != text || r.FuelUsed != forkLimit {
		t.Fatalf("fork loop: err %v, Error %q, fuel %d", err, r.Error, r.FuelUsed)
	}
	r, err = f.Apply(context.Background(), evalMsg(`Counter = Counter + 1; return Counter`), testEnv())
	if err != nil || outputData(t, r) != "2" {
		t.Fatalf("fork after its rollback: err %v, %s %q", err, r.Output, r.Error)
	}
	if m.MemoryHash() != before {
		t.Fatal("the fork changed its parent")
	}
	// A fork cannot raise the limit.
	g, err := m.Fork(vm.ForkOptions{ComputeLimit: 1e12})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if r := mustApply(t, g, evalMsg(`while true do end`)); r.FuelUsed != 1e9 || r.Error != "out of gas!" {
		t.Fatalf("fork with a higher limit: fuel %d, Error %q", r.FuelUsed, r.Error)
	}
}
