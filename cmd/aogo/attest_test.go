package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/gateway"
	"github.com/aogo/aogo/internal/testenv"
	"github.com/aogo/aogo/wallet"
)

// TestDevWeaveDrive drives WeaveDrive the way a user does, on the real aos 2.0.6 (wasm64) in aogo dev:
// data not attested is not readable (the message ends with Error "HALT: FILE NOT FOUND"); after `aogo
// attest` it is; a second CU (aogo cu),
// evaluating the same log later, gives the same results: admission follows the log's Block-Heights, not
// the clock.
func TestDevWeaveDrive(t *testing.T) {
	wasm := testenv.WaoModule(t, "aos2_0_6")
	dir := t.TempDir()
	info := startDev(t, dir, "--block-time", "500ms")
	url := strings.TrimSuffix(info.MU, "/mu")
	mod := strings.TrimSpace(devRun(t, url, dir, "module", "publish", wasm, "--format", "wasm64-unknown-emscripten-draft_2024_02_15",
		"--memory-limit", "1-gb"))
	user, err := wallet.Load(filepath.Join(dir, "wallets", "user.json"))
	if err != nil {
		t.Fatal(err)
	}
	pid := strings.TrimSpace(devRun(t, url, dir, "spawn", "--module", mod, "--tag", "Extension=WeaveDrive", "--tag", "Attestor="+user.Address()))

	// Some data, uploaded by anyone.
	gc := gateway.NewClient(info.Gateway, nil)
	it := &dataitem.Item{Data: []byte(strings.Repeat("weave ", 100000)), Anchor: make([]byte, 32)}
	rand.Read(it.Anchor)
	other, _ := wallet.Generate(wallet.ED25519)
	if err := it.Sign(other); err != nil {
		t.Fatal(err)
	}
	raw, _ := it.Bytes()
	if err := gc.Upload(context.Background(), raw); err != nil {
		t.Fatal(err)
	}
	read := fmt.Sprintf(`local f = io.open("/data/%s"); if not f then return "nil" end; local s = f:read(f:seek("end")); f:close(); return #s .. ":" .. s:sub(1, 11)`, it.ID())
	send := func(want string, code int) string {
		t.Helper()
		out, errOut, got := devRunCode(url, dir, "send", pid, "--action", "Eval", "--data", read)
		mid, body, _ := strings.Cut(out, "\n")
		if got != code || !strings.Contains(body, want) {
			t.Fatalf("exit %d (want %d), want %s, result %s %s", got, code, want, body, errOut)
		}
		return strings.TrimSpace(mid)
	}
	// As the reference wasm64 glue: the drive's HALT ends the message with an Error (send exits 1).
	mids := []string{send(`"Error": "HALT: FILE NOT FOUND"`, 1)}
	// A wallet that is neither Scheduler nor Attestor is refused.
	stranger := filepath.Join(t.TempDir(), "k.json")
	if err := other.Save(stranger); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := devRunCode(url, dir, "attest", it.ID(), "--process", pid, "--wallet", stranger); code != 1 || !strings.Contains(errOut, "neither the Scheduler nor an Attestor") {
		t.Fatalf("stranger attest: exit %d %s", code, errOut)
	}
	if att := strings.TrimSpace(devRun(t, url, dir, "attest", it.ID(), "--process", pid)); len(att) != 43 {
		t.Fatalf("attest printed %q", att)
	}
	mids = append(mids, send(`"data": "600000:weave weave"`, 0))

	// A second CU replays the log later (the chain has moved on) and must agree message by message.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"cu", "--listen", addr, "--data", t.TempDir(), "--su", info.SU, "--gateway", info.Gateway}, io.Discard, io.Discard)
	}()
	defer func() { cancel(); <-done }()
	cu1, cu2 := client.NewCU(info.CU, nil), client.NewCU("http://"+addr, nil)
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get("http://" + addr + "/")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("second CU not up")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second) // two blocks: the second CU evaluates where the chain is well past both messages
	for _, mid := range mids {
		r1, err := cu1.Result(context.Background(), pid, mid)
		if err != nil {
			t.Fatal(err)
		}
		r2, err := cu2.Result(context.Background(), pid, mid)
		if err != nil {
			t.Fatal(err)
		}
		if string(r1.Body) != string(r2.Body) {
			t.Fatalf("message %s: CUs differ\n%s\n%s", mid, r1.Body, r2.Body)
		}
	}
}
