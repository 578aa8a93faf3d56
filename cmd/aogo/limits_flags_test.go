package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/wallet"
)

// TestMaxBodyAndMemoryFlags: --max-body bounds uploads on `aogo gateway` and on the gateway of `aogo dev`,
// --max-memory the Memory-Limit `aogo dev`'s CU takes (and `aogo verify`'s replay); bad values are usage errors.
func TestMaxBodyAndMemoryFlags(t *testing.T) {
	for _, args := range [][]string{
		{"gateway", "--max-body", "nope", "--data", t.TempDir()},
		{"gateway", "--max-body", "0", "--data", t.TempDir()},
		{"dev", "--max-body", "-1", "--data", t.TempDir()},
		{"dev", "--max-memory", "lots", "--data", t.TempDir()},
		{"dev", "--max-memory", "-1", "--data", t.TempDir()},
		{"verify", "--max-memory", "lots", strings.Repeat("a", 43), "--data-dir", t.TempDir()},
		{"verify", "--max-compute", "0", strings.Repeat("a", 43), "--data-dir", t.TempDir()},
	} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), args, &out, &errb); code == 0 || !strings.Contains(errb.String(), args[1]) {
			t.Errorf("aogo %s: exit %d, %q; want a usage error naming the flag", strings.Join(args, " "), code, errb.String())
		}
	}

	item := func(size int) []byte {
		w, _ := wallet.Generate(wallet.ED25519)
		it := &dataitem.Item{Data: make([]byte, size), Anchor: make([]byte, 32)}
		rand.Read(it.Anchor)
		if err := it.Sign(w); err != nil {
			t.Fatal(err)
		}
		raw, _ := it.Bytes()
		return raw
	}
	post := func(url string, body []byte) int {
		t.Helper()
		resp, err := http.Post(url+"/tx", "application/octet-stream", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}

	// aogo gateway --max-body 1-mb.
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"gateway", "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--max-body", "1-mb"}, pw, io.Discard)
	}()
	gw := "http://" + readListenAddr(t, pr)
	go io.Copy(io.Discard, pr)
	if code := post(gw, item(900<<10)); code != 200 {
		t.Errorf("aogo gateway --max-body 1-mb: 900 KiB upload: %d", code)
	}
	if code := post(gw, item(1100<<10)); code != http.StatusRequestEntityTooLarge {
		t.Errorf("aogo gateway --max-body 1-mb: 1.1 MiB upload: %d, want 413", code)
	}
	cancel()
	<-done

	// aogo dev --max-body 1-mb --max-memory 512-mb.
	dir := t.TempDir()
	info := startDev(t, dir, "--max-body", "1-mb", "--max-memory", "512-mb")
	if code := post(info.Gateway, item(1100<<10)); code != http.StatusRequestEntityTooLarge {
		t.Errorf("aogo dev --max-body 1-mb: 1.1 MiB upload: %d, want 413", code)
	}
	url := strings.TrimSuffix(info.MU, "/mu")
	pid := strings.TrimSpace(devRun(t, url, dir, "spawn", "--tag", "Memory-Limit=1-gb"))
	if _, errOut, code := devRunCode(url, dir, "eval", pid, "return 1"); code == 0 || !strings.Contains(errOut, "exceeds this CU's maximum 536870912") {
		t.Errorf("aogo dev --max-memory 512-mb, process Memory-Limit 1-gb: exit %d %q, want the CU's 413", code, errOut)
	}
	small := strings.TrimSpace(devRun(t, url, dir, "spawn", "--tag", "Memory-Limit=256-mb"))
	if got := strings.TrimSpace(devRun(t, url, dir, "eval", small, "return 1 + 1")); got != "2" {
		t.Errorf("Memory-Limit 256-mb under --max-memory 512-mb: %q", got)
	}
}
