package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/gateway"
	"github.com/aogo/aogo/wallet"
)

func TestGatewayFlags(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"gateway", "--block-time", "0s", "--data", t.TempDir()}, &out, &errb); code != 1 ||
		!strings.Contains(errb.String(), "block-time") {
		t.Fatalf("bad --block-time: code %d, %s", code, errb.String())
	}
	if code := run(context.Background(), []string{"gateway", "extra"}, &out, &errb); code != 1 {
		t.Fatalf("extra argument: code %d", code)
	}
	if code := run(context.Background(), []string{"gateway", "--nope"}, &out, &errb); code != 2 {
		t.Fatalf("unknown flag: code %d", code)
	}
}

// TestGatewayRunsInProcess starts `aogo gateway`, uploads an item through the Go client, reads it back, and
// stops the command with its context.
func TestGatewayRunsInProcess(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"gateway", "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--block-time", "1s"}, pw, io.Discard)
	}()
	addr := readListenAddr(t, pr)
	go io.Copy(io.Discard, pr)

	w, err := wallet.Generate(wallet.ED25519)
	if err != nil {
		t.Fatal(err)
	}
	it := &dataitem.Item{Data: []byte("via aogo gateway"), Tags: []dataitem.Tag{{Name: "Content-Type", Value: "text/plain"}}}
	if err := it.Sign(w); err != nil {
		t.Fatal(err)
	}
	raw, _ := it.Bytes()
	c := gateway.NewClient("http://"+addr, nil)
	if err := c.Upload(ctx, raw); err != nil {
		t.Fatal(err)
	}
	data, ct, err := c.Raw(ctx, it.ID())
	if err != nil || string(data) != "via aogo gateway" || ct != "text/plain" {
		t.Fatalf("Raw = %q %q %v", data, ct, err)
	}
	if h, err := c.Height(ctx); err != nil || h < 1 {
		t.Fatalf("Height = %d %v", h, err)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit code %d", code)
	}
}
