package emscripten

import (
	"bytes"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aogo/aogo/gguf"
	"github.com/aogo/aogo/vm"
)

// llamaModel27 is BenchmarkLlamaNext's model: 27 MB in F16.
var llamaModel27 = gguf.Config{Embd: 384, Layers: 6, Heads: 6, FF: 1024, Vocab: 4096, Context: 512, Seed: 1, Type: gguf.F16}

// openPromptedLlama opens the llama module with model served as /data/M, boots it, loads the model and sets a
// prompt (4 tokens run): the state every llama benchmark and checkpoint test starts from.
func openPromptedLlama(t testing.TB, model []byte) vm.Machine {
	t.Helper()
	m, err := vm.Open(llamaFormat, realWasm(t, "llama"), vm.Options{WeaveDrive: &fakeDrive{files: map[string]string{"/data/M": string(model)}}, CacheDir: llamaCache(), MemoryLimit: lowerMaxBytes})
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{"", `Llama = require('.Llama'); Llama.load('/data/M'); return 'ok'`, `Llama.setPrompt('Hello world'); return Llama.run(4)`} {
		msg := bootMsg()
		if code != "" {
			msg = evalMsg(code)
		}
		if r := mustApply(t, m, msg); r.Error != "" {
			m.Close()
			t.Fatalf("%s: %s", code, r.Error)
		}
	}
	return m
}

// rssMiB is the process's proportional resident set (Pss: a page mapped twice, as a backing's pages are in its
// view and under the memory, counts once).
func rssMiB(t testing.TB) float64 {
	runtime.GC()
	debug.FreeOSMemory()
	b, err := os.ReadFile("/proc/self/smaps_rollup")
	if err != nil {
		t.Skip("no /proc/self/smaps_rollup")
	}
	for l := range strings.Lines(string(b)) {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "Pss:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	t.Skip("no Pss")
	return 0
}

// BenchmarkLlamaCapture: a llama process (wasm64, 1.2 GB memory) holding a 27 MB F16 model, one generated token
// per message; per message, the capture a rollback base needs (rebase) and the memory hash, with the base in a
// memfd under the memory and as private copies (the comparison), in CPU time. pss-MiB is the resident set
// (Pss) after the model loaded and the first capture: run each mode in a process of its own
// (-bench 'BenchmarkLlamaCapture/memfd', then /copies) for that figure to be the mode's alone.
func BenchmarkLlamaCapture(b *testing.B) {
	var model bytes.Buffer
	if err := gguf.Llama(&model, llamaModel27); err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{"memfd", "copies"} {
		b.Run(mode, func(b *testing.B) {
			defer func(off bool) { backingsOff = off }(backingsOff)
			backingsOff = mode == "copies"
			m := openPromptedLlama(b, model.Bytes())
			defer m.Close()
			mm := m.(*machine)
			begin := time.Now()
			mm.rebase()
			first := time.Since(begin)
			var start time.Duration
			rss := rssMiB(b)
			_, nonzero := written(mm)
			var apply, capture, hash time.Duration
			pages := 0
			for b.Loop() {
				mm.captureCost = time.Hour // no rebase inside Apply: the one below is the one measured
				start = cpuNow()
				if r := mustApply(b, m, evalMsg(`return Llama.next()`)); r.Error != "" {
					b.Fatal(r.Error)
				}
				apply += cpuNow() - start
				n, _ := written(mm)
				pages += n
				start = cpuNow()
				mm.rebase()
				capture += cpuNow() - start
				start = cpuNow()
				m.MemoryHash()
				hash += cpuNow() - start
			}
			// A fork (a dry-run's) after a token: memfd maps the base and copies what the token wrote.
			b.StopTimer()
			if r := mustApply(b, m, evalMsg(`return Llama.next()`)); r.Error != "" {
				b.Fatal(r.Error)
			}
			start = cpuNow()
			f, err := m.Fork(vm.ForkOptions{})
			if err != nil {
				b.Fatal(err)
			}
			if f.MemoryHash() != m.MemoryHash() {
				b.Fatal("fork differs")
			}
			f.Close()
			b.ReportMetric(float64((cpuNow() - start).Microseconds()), "fork+hash-cpu-µs")
			// A message that fails right after a capture: the cost is the rollback (a fresh instance holding the
			// base), the journal being empty.
			mm.rebase()
			start = cpuNow()
			if r := mustApply(b, m, evalMsg(`Llama.next(); error("roll back")`)); r.Error == "" {
				b.Fatal("want an error")
			}
			b.ReportMetric(float64((cpuNow() - start).Microseconds()), "failed-msg-cpu-µs")
			perOp := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(b.N) }
			b.ReportMetric(perOp(apply), "apply-cpu-µs/op")
			b.ReportMetric(perOp(capture), "capture-cpu-µs/op")
			b.ReportMetric(perOp(hash), "hash-cpu-µs/op")
			b.ReportMetric(float64(pages)/float64(b.N), "pages/op")
			b.ReportMetric(rss, "pss-MiB")
			b.Logf("%s: memory %d MiB, %d non-zero pages (%d MiB), first capture %v, Pss %.0f MiB", mode,
				m.MemorySize()>>20, nonzero, nonzero*pageSize>>20, first.Round(time.Millisecond), rss)
		})
	}
}

// TestLlamaPagedCheckpoints: a llama process holding a 27 MB F16 model. The first paged snapshot stores the
// model's pages; the second, after a generated token, stores only the pages the token changed (the KV cache and
// scratch buffers), a fraction of the first; it restores to the same memory. A whole snapshot is written too,
// for comparison.
func TestLlamaPagedCheckpoints(t *testing.T) {
	var model bytes.Buffer
	if err := gguf.Llama(&model, llamaModel27); err != nil {
		t.Fatal(err)
	}
	m := openPromptedLlama(t, model.Bytes())
	defer m.Close()
	// The restore below opens the module as openPromptedLlama does.
	wasm := realWasm(t, "llama")
	opts := vm.Options{WeaveDrive: &fakeDrive{files: map[string]string{"/data/M": model.String()}}, CacheDir: llamaCache()}
	ps := &memPages{}
	var whole, first, second bytes.Buffer
	if _, err := m.Snapshot(&whole); err != nil {
		t.Fatal(err)
	}
	h1, err := m.(*machine).SnapshotPaged(&first, ps)
	if err != nil {
		t.Fatal(err)
	}
	puts1, bytes1, z1 := ps.puts, ps.putB, ps.flated
	if r := mustApply(t, m, evalMsg(`return Llama.next()`)); r.Error != "" {
		t.Fatal(r.Error)
	}
	h2, err := m.(*machine).SnapshotPaged(&second, ps)
	if err != nil {
		t.Fatal(err)
	}
	puts2, bytes2, z2 := ps.puts-puts1, ps.putB-bytes1, ps.flated-z1
	t.Logf("model %d bytes; whole snapshot %d bytes (gzip); paged: first %d pages (%d bytes, %d flated) + table %d bytes, second %d pages (%d bytes, %d flated) + table %d bytes",
		model.Len(), whole.Len(), puts1, bytes1, z1, first.Len(), puts2, bytes2, z2, second.Len())
	if bytes1 < model.Len() || puts2*3 > puts1 {
		t.Fatalf("first snapshot stored %d bytes for a %d-byte model; second %d pages of the first's %d", bytes1, model.Len(), puts2, puts1)
	}
	if h1 == h2 {
		t.Fatal("a token changed nothing")
	}
	r, err := vm.RestorePaged(llamaFormat, wasm, opts, bytes.NewReader(second.Bytes()), ps)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.MemoryHash() != h2 {
		t.Fatal("the second paged snapshot restores another memory")
	}
	// Both go on identically: the same message (evalMsg numbers its messages, so it is made once) gives the same
	// output and the same memory.
	next := evalMsg(`return Llama.next()`)
	a, b := mustApply(t, r, next), mustApply(t, m, next)
	if a.Error != "" || string(a.Output) != string(b.Output) {
		t.Fatalf("restored machine generates %s %q, the original %s", a.Output, a.Error, b.Output)
	}
	if r.MemoryHash() != m.MemoryHash() {
		t.Fatal("after the next token the restored machine's memory differs from the original's")
	}
}
