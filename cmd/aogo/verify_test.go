package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aogo/aogo/gateway"
	"github.com/aogo/aogo/verify"
	"github.com/aogo/aogo/wallet"
)

// TestVerifyVerb drives `aogo verify` as a user would against `aogo dev`: a process's log read from the
// network's gateway, compared with its CU, a statement that `aogo verify-result --statement` accepts (and
// refuses once tampered with), and a run that resumes from an earlier run's checkpoint and ends in the same
// statement as a fresh run.
func TestVerifyVerb(t *testing.T) {
	dir := t.TempDir()
	info := startDev(t, dir)
	url := strings.TrimSuffix(info.MU, "/mu")
	pid := strings.TrimSpace(devRun(t, url, dir, "spawn"))
	for i := range 8 {
		devRun(t, url, dir, "eval", pid, "X = (X or 0) + "+strconv.Itoa(i)+"; return X")
	}
	const slots = 9 // the spawn and 8 Evals
	// The SU uploads its log to the gateway in the background: wait for the last slot to be there.
	gw := gateway.NewClient(info.Gateway, nil)
	eventually(t, "the log on the gateway", func() error {
		page, err := gw.Transactions(context.Background(), gateway.TxQuery{Tags: []gateway.TagFilter{
			{Name: "Process", Values: []string{pid}}, {Name: "Nonce", Values: []string{strconv.Itoa(slots - 1)}}}})
		if err == nil && len(page.Edges) == 0 {
			err = fmt.Errorf("slot %d not uploaded yet", slots-1)
		}
		return err
	})

	out, errOut, code := devRunCode(url, dir, "verify", pid, "--cu", info.CU, "--progress", "lines")
	if code != 0 || !strings.Contains(out, "slots checked and replayed: 9 ") || !strings.Contains(out, "9 slots compared, 9 agree") ||
		!strings.Contains(out, "OK: every check passed") {
		t.Fatalf("aogo verify: exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "verified 9/9 slots") {
		t.Fatalf("no progress lines: %s", errOut)
	}
	stFile := filepath.Join(dir, "verify", pid, "statement.item")
	uw, err := wallet.Load(filepath.Join(dir, "wallets", "user.json"))
	if err != nil {
		t.Fatal(err)
	}
	user := uw.Address()
	if o, e, c := verifyResult("--statement", stFile, "--process", pid, "--unit", user); c != 0 || !strings.Contains(o, `"slot": 8`) {
		t.Fatalf("verify-result --statement: exit %d\n%s\n%s", c, o, e)
	}
	if _, e, c := verifyResult("--statement", stFile, "--unit", info.Scheduler); c != 1 || !strings.Contains(e, "not a trusted verifier") {
		t.Fatalf("untrusted verifier: exit %d %s", c, e)
	}
	raw, _ := os.ReadFile(stFile)
	raw[len(raw)-3] ^= 1 // a tag value
	bad := filepath.Join(t.TempDir(), "bad.item")
	os.WriteFile(bad, raw, 0o600)
	if _, e, c := verifyResult("--statement", bad); c != 1 || !strings.Contains(e, "INVALID") {
		t.Fatalf("tampered statement: exit %d %s", c, e)
	}

	// Up to slot 3, then the rest from the checkpoint: the same end as one run.
	cp := t.TempDir()
	if o, e, c := devRunCode(url, dir, "verify", pid, "--to", "3", "--checkpoint", cp, "--progress", "none"); c != 0 || !strings.Contains(o, "slots checked and replayed: 4 ") {
		t.Fatalf("verify --to 3: exit %d\n%s\n%s", c, o, e)
	}
	o, e, c := devRunCode(url, dir, "verify", pid, "--cu", info.CU, "--checkpoint", cp, "--json", "--progress", "none")
	var rep struct {
		OK    bool  `json:"ok"`
		From  int64 `json:"from"`
		Slots int64 `json:"slots"`
		Last  struct {
			ResultHash string `json:"result_hash"`
			MemoryHash string `json:"memory_hash"`
		} `json:"last"`
	}
	if err := json.Unmarshal([]byte(o), &rep); err != nil || c != 0 || !rep.OK || rep.From != 4 || rep.Slots != slots {
		t.Fatalf("resumed verify: exit %d %v %+v\n%s\n%s", c, err, rep, o, e)
	}
	o, _, _ = devRunCode(url, dir, "verify", pid, "--json", "--progress", "none", "--fresh")
	var fresh struct {
		Last struct {
			ResultHash string `json:"result_hash"`
			MemoryHash string `json:"memory_hash"`
		} `json:"last"`
	}
	if err := json.Unmarshal([]byte(o), &fresh); err != nil || fresh.Last != rep.Last || rep.Last.MemoryHash == "" {
		t.Fatalf("fresh run ends at %+v, resumed at %+v (%v)", fresh.Last, rep.Last, err)
	}
}

func verifyResult(args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"verify-result"}, args...), &out, &errb)
	return out.String(), errb.String(), code
}

// TestVerifyProgress: the bar (what a terminal shows) counts this run's slots, from a resumed checkpoint on;
// lines say slots done of the total.
func TestVerifyProgress(t *testing.T) {
	var buf bytes.Buffer
	v := newProgress("bar", &buf)
	for _, d := range []int64{40, 70, 100} {
		v.update(verify.Progress{Done: d, Total: 100, Start: 40})
	}
	v.done()
	if out := buf.String(); !strings.Contains(out, "verifying from slot 40") || !strings.Contains(out, "100%") || !strings.Contains(out, "60/60") {
		t.Fatalf("bar:\n%q", out)
	}
	buf.Reset()
	v = newProgress("lines", &buf)
	v.update(verify.Progress{Done: 0, Total: 10})
	v.update(verify.Progress{Done: 10, Total: 10})
	v.done()
	if out := buf.String(); strings.Count(out, "\n") != 2 || !strings.Contains(out, "verified 10/10 slots") {
		t.Fatalf("lines:\n%s", out)
	}
}

func TestVerifyAnswerLimit(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(bytes.Repeat([]byte("x"), 2000)) // chunked: no Content-Length
		w.(http.Flusher).Flush()
		w.Write(bytes.Repeat([]byte("x"), 2000))
	}))
	defer srv.Close()
	hc := &http.Client{Transport: limitBodies{next: http.DefaultTransport, max: 3000}}
	resp, err := hc.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, err := io.ReadAll(resp.Body); err == nil || len(b) > 3001 {
		t.Fatalf("read %d bytes, err %v", len(b), err)
	}
	hc = &http.Client{Transport: limitBodies{next: http.DefaultTransport, max: 4000}}
	resp, err = hc.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, err := io.ReadAll(resp.Body); err != nil || len(b) != 4000 {
		t.Fatalf("an answer at the limit: %d bytes, %v", len(b), err)
	}
}
