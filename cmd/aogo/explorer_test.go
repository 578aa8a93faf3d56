package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/wallet"
)

// TestSUExplorer: `aogo su --explorer` serves the explorer of its own log at /explorer/, indexed as it commits.
func TestSUExplorer(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"su", "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--explorer"}, pw, io.Discard)
	}()
	base := "http://" + readListenAddr(t, pr)
	go io.Copy(io.Discard, pr)
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("exit code %d", code)
		}
	}()
	c := client.NewSU(base, nil)
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	user, err := wallet.Generate(wallet.ED25519)
	if err != nil {
		t.Fatal(err)
	}
	it := &dataitem.Item{Tags: []dataitem.Tag{{Name: "Data-Protocol", Value: "ao"}, {Name: "Type", Value: "Process"},
		{Name: "Module", Value: dataitem.B64(make([]byte, 32))}, {Name: "Scheduler", Value: info.Address}, {Name: "Name", Value: "Hello"}}}
	if err := it.Sign(user); err != nil {
		t.Fatal(err)
	}
	raw, _ := it.Bytes()
	if _, err := c.Post(ctx, raw); err != nil {
		t.Fatal(err)
	}
	var list struct {
		Processes []struct{ ID, Name, Owner string }
	}
	for deadline := time.Now().Add(10 * time.Second); len(list.Processes) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the process never reached the explorer")
		}
		resp, err := http.Get(base + "/explorer/api/processes")
		if err != nil {
			t.Fatal(err)
		}
		json.NewDecoder(resp.Body).Decode(&list)
		resp.Body.Close()
	}
	if p := list.Processes[0]; p.ID != it.ID() || p.Name != "Hello" || p.Owner != user.Address() {
		t.Errorf("explorer lists %+v", p)
	}
	// The pages, reached with or without the trailing slash; the SU's own API is still there.
	for _, p := range []string{"/explorer", "/explorer/", "/explorer/app.js", "/"} {
		resp, err := http.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: %d", p, resp.StatusCode)
		}
	}
}
