package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aogo/aogo/devnet"
	"github.com/aogo/aogo/wallet"
)

// startDev runs `aogo dev` in-process on a free port and returns the Info it printed. It stops with the test.
func startDev(t *testing.T, dir string, flags ...string) devnet.Info {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"dev", "--data", dir, "--listen", "127.0.0.1:0"}, flags...), pw, io.Discard)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("aogo dev exited %d after cancel", code)
			}
		case <-time.After(30 * time.Second):
			t.Error("aogo dev did not stop within 30 s of cancel")
		}
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		io.Copy(io.Discard, pr)
	}()
	var info devnet.Info
	select {
	case line, ok := <-lines:
		if !ok {
			t.Fatal("aogo dev printed nothing")
		}
		if err := json.Unmarshal([]byte(line), &info); err != nil {
			t.Fatalf("aogo dev printed %q: %v", line, err)
		}
	case <-time.After(time.Minute):
		t.Fatal("aogo dev not ready in a minute")
	}
	return info
}

// devRun runs one client verb against url with the data dir dir; it fails the test on a non-zero exit.
func devRun(t *testing.T, url, dir string, args ...string) string {
	t.Helper()
	out, errOut, code := devRunCode(url, dir, args...)
	if code != 0 {
		t.Fatalf("aogo %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	return out
}

func devRunCode(url, dir string, args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	full := append(append([]string{}, args...), "--url", url, "--data-dir", dir)
	code := run(context.Background(), full, &out, &errb)
	return out.String(), errb.String(), code
}

func TestDevClientVerbs(t *testing.T) {
	dir := t.TempDir()
	info := startDev(t, dir)
	url := strings.TrimSuffix(info.MU, "/mu")
	if info.SU != url+"/su" || info.CU != url+"/cu" || info.Gateway != url+"/gateway" || len(info.Module) != 43 || len(info.Scheduler) != 43 {
		t.Fatalf("info %+v", info)
	}

	pid := strings.TrimSpace(devRun(t, url, dir, "spawn", "--tag", "Name=cli"))
	if len(pid) != 43 {
		t.Fatalf("spawn printed %q", pid)
	}
	// The user wallet was made under the data dir on first use, and is reused.
	if _, err := wallet.Load(filepath.Join(dir, "wallets", "user.json")); err != nil {
		t.Fatal(err)
	}

	if got := strings.TrimSpace(devRun(t, url, dir, "eval", pid, "return Name")); got != "cli" {
		t.Fatalf("eval Name = %q", got)
	}
	if got := strings.TrimSpace(devRun(t, url, dir, "eval", pid,
		`Handlers.add("ping", "Ping", function(m) Pings = (Pings or 0) + 1; m.reply({ Data = "pong " .. Pings }) end); return "added"`)); got != "added" {
		t.Fatalf("eval handler = %q", got)
	}

	// send prints the id, then the result, whose outbox holds the reply.
	out := devRun(t, url, dir, "send", pid, "--action", "Ping", "--tag", "X=1")
	mid, rest, _ := strings.Cut(out, "\n")
	if len(mid) != 43 {
		t.Fatalf("send printed %q", out)
	}
	var res struct {
		Messages []struct {
			Target string
			Data   string
		}
		Error string
	}
	if err := json.Unmarshal([]byte(rest), &res); err != nil {
		t.Fatalf("send result %q: %v", rest, err)
	}
	if len(res.Messages) != 1 || res.Messages[0].Data != "pong 1" || res.Error != "" {
		t.Fatalf("send result %+v", res)
	}
	// result of the same message is the same body.
	if again := devRun(t, url, dir, "result", pid, mid); again != rest {
		t.Fatalf("result = %q, send printed %q", again, rest)
	}
	// --no-wait prints the id only.
	if out := devRun(t, url, dir, "send", pid, "--action", "Ping", "--no-wait"); len(strings.TrimSpace(out)) != 43 {
		t.Fatalf("send --no-wait printed %q", out)
	}
	if got := strings.TrimSpace(devRun(t, url, dir, "eval", pid, "return Pings")); got != "2" {
		t.Fatalf("Pings = %q", got)
	}

	// A Lua error is reported on stderr with exit 1.
	if _, errOut, code := devRunCode(url, dir, "eval", pid, `error("boom")`); code != 1 || !strings.Contains(errOut, "boom") {
		t.Fatalf("eval error: exit %d, %q", code, errOut)
	}

	// module publish: the module is on the gateway, and a process of it runs.
	wasmFile := filepath.Join(t.TempDir(), "m.wasm")
	if err := os.WriteFile(wasmFile, devnet.AosModule().Wasm, 0o600); err != nil {
		t.Fatal(err)
	}
	mod := strings.TrimSpace(devRun(t, url, dir, "module", "publish", wasmFile, "--format", devnet.AosModule().Format, "--memory-limit", "512-mb"))
	if len(mod) != 43 || mod == info.Module {
		t.Fatalf("module publish printed %q (default %s)", mod, info.Module)
	}
	pid2 := strings.TrimSpace(devRun(t, url, dir, "spawn", "--module", mod))
	if got := strings.TrimSpace(devRun(t, url, dir, "eval", pid2, "return 6 * 7")); got != "42" {
		t.Fatalf("eval on published module = %q", got)
	}

	// repl: two lines (one continued), the second sends a message to the process itself, which lands in the
	// Inbox and is shown.
	replInput = strings.NewReader("y = 20 + \\\n1\nreturn y * 2\nSend({ Target = ao.id, Data = \"hello inbox\" })\n.exit\n")
	defer func() { replInput = os.Stdin }()
	var rout, rerr bytes.Buffer
	if code := run(context.Background(), []string{"repl", pid, "--url", url, "--data-dir", dir, "--poll", "0"}, &rout, &rerr); code != 0 {
		t.Fatalf("repl exit %d: %s", code, rerr.String())
	}
	if !strings.Contains(rout.String(), "42") {
		t.Errorf("repl output lacks 42: %q", rout.String())
	}
	hist, err := os.ReadFile(filepath.Join(dir, "repl_history"))
	if err != nil || !strings.Contains(string(hist), "return y * 2") {
		t.Errorf("history %q %v", hist, err)
	}
	// The self-message arrives after the Eval's result (the MU pushes it), so poll the inbox through eval.
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := strings.TrimSpace(devRun(t, url, dir, "eval", pid, "return Inbox[#Inbox] and Inbox[#Inbox].Data or ''"))
		if got == "hello inbox" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("self message not in Inbox: last %q; repl printed %q", got, rout.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestDevFlagsAndErrors(t *testing.T) {
	if _, _, code := devRunCode("http://127.0.0.1:1", t.TempDir(), "send"); code != 2 {
		t.Fatalf("send without PID: exit %d", code)
	}
	if _, errOut, code := devRunCode("http://127.0.0.1:1", t.TempDir(), "eval", "x", "return 1"); code != 1 || errOut == "" {
		t.Fatalf("eval with no network: exit %d %q", code, errOut)
	}
	if _, _, code := devRunCode("http://127.0.0.1:1", t.TempDir(), "module", "publish", "f.wasm"); code != 2 {
		t.Fatalf("module publish without --format: exit %d", code)
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"dev", "extra"}, &out, &errb); code != 2 {
		t.Fatalf("dev extra: exit %d", code)
	}
	errb.Reset()
	if code := run(context.Background(), []string{"dev", "--memory-hash", "sometimes", "--data", t.TempDir()}, &out, &errb); code != 2 ||
		!strings.Contains(errb.String(), "want run, every or checkpoint") {
		t.Fatalf("dev --memory-hash sometimes: exit %d, %s", code, errb.String())
	}
}

// TestDevRestart: a restarted network on the same data dir is the same network (same ids, same processes).
func TestDevRestart(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	pr, pw := io.Pipe()
	go func() {
		done <- run(ctx, []string{"dev", "--data", dir, "--listen", "127.0.0.1:0"}, pw, io.Discard)
		pw.Close()
	}()
	var first devnet.Info
	sc := bufio.NewScanner(pr)
	if !sc.Scan() {
		t.Fatal("aogo dev printed nothing")
	}
	if err := json.Unmarshal(sc.Bytes(), &first); err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	url := strings.TrimSuffix(first.MU, "/mu")
	pid := strings.TrimSpace(devRun(t, url, dir, "spawn"))
	devRun(t, url, dir, "eval", pid, "Kept = 'yes'")
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("aogo dev exited %d", code)
	}

	second := startDev(t, dir)
	if second.Module != first.Module || second.Scheduler != first.Scheduler {
		t.Fatalf("restart changed ids: %+v then %+v", first, second)
	}
	url = strings.TrimSuffix(second.MU, "/mu")
	if got := strings.TrimSpace(devRun(t, url, dir, "eval", pid, "return Kept")); got != "yes" {
		t.Fatalf("after restart Kept = %q", got)
	}
}

// TestBenchDev runs a short `aogo bench dev` on its own network and checks the report.
func TestBenchDev(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"bench", "dev", "-n", "5", "--processes", "2"}, &out, &errb); code != 0 {
		t.Fatalf("bench dev: exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "10 messages on 2 process(es): p50 ") || !strings.Contains(out.String(), "msgs/s") {
		t.Fatalf("bench dev printed %q", out.String())
	}
	if code := run(context.Background(), []string{"bench", "nope"}, &out, &errb); code != 2 {
		t.Fatalf("bench nope: exit %d", code)
	}
}

func TestParseVerbFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		pos  []string
		tags int
		wait bool
	}{
		{[]string{"-BCpwNmReLMnIhodPvmUqr8x-2OZgfKKjOMrwJWsVsM", "--no-wait"}, []string{"-BCpwNmReLMnIhodPvmUqr8x-2OZgfKKjOMrwJWsVsM"}, 0, true},
		{[]string{"--tag", "A=-1", "pid", "-- comment\nreturn 1", "--tag=B=2"}, []string{"pid", "-- comment\nreturn 1"}, 2, false},
		{[]string{"a", "--", "--tag", "b"}, []string{"a", "--tag", "b"}, 0, false},
	} {
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		var tags tagFlags
		fs.Var(&tags, "tag", "")
		wait := fs.Bool("no-wait", false, "")
		pos, err := parseVerbFlags(fs, tc.args)
		if err != nil || !slices.Equal(pos, tc.pos) || len(tags) != tc.tags || *wait != tc.wait {
			t.Errorf("%q: pos %q tags %v wait %v err %v", tc.args, pos, tags, *wait, err)
		}
	}
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if _, err := parseVerbFlags(fs, []string{"-h"}); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}

// TestDevCUs: `aogo dev --cus 3 --quorum 2-of-3` runs three CUs and an MU that cranks every result on their
// agreement: a process's message arrives and the MU's status counts the agreed results; bad values are refused.
func TestDevCUs(t *testing.T) {
	for _, bad := range [][]string{{"--cus", "0"}, {"--cus", "17"}, {"--quorum", "2-of-3"}, {"--cus", "3", "--quorum", "1-of-3"}} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), append([]string{"dev", "--data", t.TempDir()}, bad...), &out, &errb); code != 2 {
			t.Fatalf("dev %v: exit %d %s", bad, code, errb.String())
		}
	}
	dir := t.TempDir()
	info := startDev(t, dir, "--cus", "3", "--quorum", "2-of-3")
	url := strings.TrimSuffix(info.MU, "/mu")
	if len(info.CUs) != 3 || info.CUs[2] != url+"/cu3" {
		t.Fatalf("info.CUs = %v", info.CUs)
	}
	a := strings.TrimSpace(devRun(t, url, dir, "spawn"))
	b := strings.TrimSpace(devRun(t, url, dir, "spawn"))
	devRun(t, url, dir, "eval", b, `Handlers.add("ping", "Ping", function(m) Got = m.Data end)`)
	devRun(t, url, dir, "eval", a, `ao.send({Target = "`+b+`", Action = "Ping", Data = "agreed"})`)
	deadline := time.Now().Add(time.Minute)
	for strings.TrimSpace(devRun(t, url, dir, "eval", b, "return Got")) != "agreed" {
		if time.Now().After(deadline) {
			t.Fatal("the ping cranked under 2-of-3 never arrived")
		}
		time.Sleep(50 * time.Millisecond)
	}
	token, err := os.ReadFile(filepath.Join(dir, "operator-token"))
	if err != nil {
		t.Fatal(err)
	}
	type quorumStatus struct {
		Default string
		CUs     int
		Agreed  int
	}
	status := func() quorumStatus {
		req, _ := http.NewRequest(http.MethodGet, info.MU+"/", nil)
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var st struct{ Quorum quorumStatus }
		json.NewDecoder(resp.Body).Decode(&st)
		return st.Quorum
	}
	// The MU pulls results on its own after each message is scheduled (the verbs read theirs from the CU), so
	// its count of agreed results catches up with the five messages a moment later.
	for st := status(); st.Default != "2-of-3" || st.CUs != 3 || st.Agreed < 5; st = status() {
		if time.Now().After(deadline) {
			t.Fatalf("MU quorum status %+v", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
