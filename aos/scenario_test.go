package aos

// The scenario suite: aos/testdata/scenarios/*.json (format in aos/README.md). Each scenario is turned
// into a "calls" file (env + every msg built as the CU builds it, reference-ao.md section 3), run by a
// runner, and each step's result is checked against the scenario's expectations. The same scenarios run
// against our module and the real aos modules, and the observable results are compared with each other.
// Runner here: aos/testdata/run-scenarios.cjs through @permaweb/ao-loader (node).

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aogo/aogo/internal/testenv"
)

// runNode runs the ao-loader runner for one module over the given calls files.
// It may run on a goroutine other than the test's: it reports failures with t.Errorf and returns nil.
func runNode(t *testing.T, m module, files []string, extra ...string) map[string]*scenarioResult {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Errorf("node: %v", err)
		return nil
	}
	nm := os.Getenv("AOGO_NODE_MODULES")
	if nm == "" {
		nm = filepath.Join(testenv.RepoRoot(), ".cache", "node", "node_modules")
	}
	args := append([]string{}, m.nodeFlags...)
	args = append(args, filepath.Join("testdata", "run-scenarios.cjs"),
		"--loader", filepath.Join(nm, "@permaweb", "ao-loader"), "--wasm", m.path, "--format", m.format)
	args = append(args, extra...)
	args = append(args, files...)
	cmd := exec.Command(node, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Errorf("%s: runner: %v\n%s", m.name, err, tail(stderr.Bytes(), 4000))
		return nil
	}
	res := map[string]*scenarioResult{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.HasPrefix(line, []byte("{")) {
			continue
		}
		var r scenarioResult
		if err := json.Unmarshal(line, &r); err != nil {
			t.Errorf("%s: runner output: %v", m.name, err)
			return nil
		}
		res[r.Scenario] = &r
	}
	return res
}

func TestScenariosAoLoader(t *testing.T) {
	testenv.Node(t)
	testenv.NodeModules(t, filepath.Join("@permaweb", "ao-loader"))
	ours, refs := modules(t)
	if os.Getenv("AOGO_AOS_ONLY_OURS") == "1" {
		refs = nil // quick iteration on our module alone
	}
	scs, paths := writeCalls(t, t.TempDir())

	all := append([]module{ours}, refs...)
	results := make([]map[string]*scenarioResult, len(all))
	var wg sync.WaitGroup
	for i, m := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = runNode(t, m, paths)
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	checkSuite(t, scs, all, results, false)
}

// TestTokenTransferTiming reports ms per token Transfer message under ao-loader for our module and the
// real aos2_0_4_32, with state kept in the instance and with the memory copied in and out on every call
// as the reference CU does (AOGO_AOS_BENCH=N messages, default off).
func TestTokenTransferTiming(t *testing.T) {
	n := os.Getenv("AOGO_AOS_BENCH")
	if n == "" {
		t.Skip("set AOGO_AOS_BENCH=N to time N token transfers per module")
	}
	ours, refs := modules(t)
	dir := t.TempDir()
	sc, err := loadScenario(filepath.Join("testdata", "scenarios", "token.json"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := buildCalls(sc, filepath.Join("testdata", "scenarios"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(c)
	p := filepath.Join(dir, "token.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, m := range []module{ours, refs[0]} {
		for _, mode := range [][]string{{"--bench", n}, {"--bench", n, "--copy-memory"}} {
			res := runNode(t, m, []string{p}, mode...)
			if res == nil {
				t.FailNow()
			}
			r := res[sc.Name]
			if r == nil || r.Bench == nil {
				t.Fatalf("%s: no bench result", m.name)
			}
			t.Logf("%-12s %-22s transfer: median %.3f ms, min %.3f ms over %d messages", m.name, strings.Join(mode[2:], " "), r.Bench.MedianMs, r.Bench.MinMs, r.Bench.N)
		}
	}
}
