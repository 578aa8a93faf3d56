package devnet

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// aoconnectBenchScript drives the real @permaweb/aoconnect against a network (see the script's header). It is
// embedded so `aogo bench dev --client aoconnect` runs from the binary alone; the npm packages come from the
// user's node_modules.
//
//go:embed aoconnect-bench.cjs
var aoconnectBenchScript []byte

// AoconnectBench says how to run the aoconnect benchmark.
type AoconnectBench struct {
	Node        string // node binary; "" looks up "node" on PATH
	NodeModules string // the node_modules directory holding @permaweb/aoconnect
	JWK         string // path of the RSA JWK aoconnect signs with
	Module      string // module id of the benchmarked process; "" is the network's
	Messages    int    // measured messages
	Warmup      int    // messages sent before measuring (connections opened, code warmed)
}

// Quantiles are a p50/p99/mean of one measure, as the script reports them.
type Quantiles struct {
	P50  float64 `json:"p50"`
	P99  float64 `json:"p99"`
	Mean float64 `json:"mean"`
}

func (q Quantiles) p50() time.Duration { return msDuration(q.P50) }
func (q Quantiles) p99() time.Duration { return msDuration(q.P99) }

func msDuration(ms float64) time.Duration {
	return time.Duration(ms * float64(time.Millisecond)).Round(time.Microsecond)
}

// AoconnectResult is what the aoconnect benchmark measured, in milliseconds as node's clock saw them.
type AoconnectResult struct {
	PID      string `json:"pid"`
	Messages int    `json:"messages"`
	// Total is one message end to end: ao.message (build, sign, POST /mu) then ao.result (GET /cu/result).
	Total Quantiles `json:"total"`
	// HTTP is the share of Total spent in the two HTTP exchanges, each timed around fetch from the call to the
	// last byte of the body; Post and Result are the two alone.
	HTTP   Quantiles `json:"http"`
	Post   Quantiles `json:"post"`
	Result Quantiles `json:"result"`
	// Client is Total minus HTTP: aoconnect's own work (tags, item encoding, RSA signing, its JS).
	Client Quantiles `json:"client"`
	// WirePost and WireResult are undici's view of each exchange: from its request headers going out to the
	// response's last byte, without fetch's JS around it.
	WirePost   Quantiles `json:"wirePost"`
	WireResult Quantiles `json:"wireResult"`
	// NullPost is fetch's floor: a POST of the item's size that the MU refuses at once (400, not an item),
	// timed as Post is, after each message.
	NullPost Quantiles `json:"nullPost"`
	// Connections is how many TCP connections undici opened during the measured messages (0 when the
	// connections of the warm-up were kept alive).
	Connections int `json:"connections"`
}

func (r AoconnectResult) String() string {
	return fmt.Sprintf("%d messages: p50 %s, p99 %s; HTTP p50 %s, p99 %s (POST %s + result %s; wire %s + %s; a refused POST %s); client work p50 %s, p99 %s; %d new connections",
		r.Messages, r.Total.p50(), r.Total.p99(), r.HTTP.p50(), r.HTTP.p99(), r.Post.p50(), r.Result.p50(),
		r.WirePost.p50(), r.WireResult.p50(), r.NullPost.p50(), r.Client.p50(), r.Client.p99(), r.Connections)
}

// RunAoconnectBench runs the aoconnect benchmark against the network at baseURL: node spawns a process with an
// Inc handler that replies and sends it b.Messages messages, checking each reply. stderr gets node's errors.
func RunAoconnectBench(ctx context.Context, baseURL string, b AoconnectBench) (AoconnectResult, error) {
	node := b.Node
	if node == "" {
		p, err := exec.LookPath("node")
		if err != nil {
			return AoconnectResult{}, fmt.Errorf("aoconnect bench needs node: %w", err)
		}
		node = p
	}
	if _, err := os.Stat(filepath.Join(b.NodeModules, "@permaweb", "aoconnect", "package.json")); err != nil {
		return AoconnectResult{}, fmt.Errorf("aoconnect bench: @permaweb/aoconnect is not installed in %q (scripts/setup-node.sh installs it)", b.NodeModules)
	}
	dir, err := os.MkdirTemp("", "aogo-aoconnect-bench-")
	if err != nil {
		return AoconnectResult{}, err
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "aoconnect-bench.cjs")
	if err := os.WriteFile(script, aoconnectBenchScript, 0o600); err != nil {
		return AoconnectResult{}, err
	}
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Env = append(os.Environ(), "NODE_PATH="+b.NodeModules, "AOGO_NET="+baseURL, "AOGO_JWK="+b.JWK,
		"AOGO_MODULE="+b.Module, "AOGO_N="+strconv.Itoa(b.Messages), "AOGO_WARMUP="+strconv.Itoa(b.Warmup))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return AoconnectResult{}, fmt.Errorf("aoconnect bench: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	out := strings.TrimSpace(stdout.String())
	var r AoconnectResult
	if err := json.Unmarshal([]byte(out[strings.LastIndexByte(out, '\n')+1:]), &r); err != nil {
		return AoconnectResult{}, fmt.Errorf("aoconnect bench printed %q: %w", out, err)
	}
	if r.Messages != b.Messages {
		return r, fmt.Errorf("aoconnect bench measured %d messages, want %d", r.Messages, b.Messages)
	}
	return r, nil
}
