package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/wallet"
)

// TestAOCoreUnit runs `aogo aocore` in front of the units of an `aogo dev` network (as it would front separate
// production units) and drives it as an AO-Core client does, with signed ANS-104 bodies: the node's address,
// spawn (POST /push), push, compute/results, slot/current, the scheduler's schedule page, and a POST to
// /<pid>/~scheduler@1.0/schedule (schedule only, answered with headers slot, timestamp, process).
func TestAOCoreUnit(t *testing.T) {
	info := startDev(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"aocore", "--su", info.SU, "--cu", info.CU, "--mu", info.MU, "--listen", "127.0.0.1:0"}, pw, io.Discard)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("aogo aocore exited %d", code)
		}
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	go io.Copy(io.Discard, pr)
	if err != nil {
		t.Fatal(err)
	}
	addr, _, _ := strings.Cut(strings.TrimPrefix(line, "aogo aocore: listening on "), ",")
	base := "http://" + addr

	do := func(method, path string, body []byte) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/ans104")
			req.Header.Set("codec-device", "ans104@1.0")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		return resp, b
	}
	if _, b := do("GET", "/~meta@1.0/info/address", nil); string(b) != info.Scheduler {
		t.Fatalf("info/address %q, want %s", b, info.Scheduler)
	}
	muAddr, err := client.NewMU(info.MU, nil).Address(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var meta map[string]any
	if _, b := do("GET", "/~meta@1.0/info", nil); json.Unmarshal(b, &meta) != nil || meta["authority"] != muAddr || meta["address"] != info.Scheduler {
		t.Fatalf("~meta@1.0/info %s: want authority %s", b, muAddr)
	}

	w, err := wallet.Generate(wallet.ED25519)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	sign := func(target string, tags ...dataitem.Tag) []byte {
		n++ // ed25519 signatures are deterministic: each item differs by its anchor
		it := &dataitem.Item{Anchor: []byte(strings.Repeat("x", 31) + string(rune('a'+n))), Tags: append([]dataitem.Tag{{Name: "Data-Protocol", Value: "ao"}, {Name: "Variant", Value: "ao.N.1"}}, tags...)}
		if target != "" {
			it.Target, _ = dataitem.DecodeB64(target)
			it.Data = []byte(`return "aocore-` + target[:4] + `"`)
			it.Tags = append(it.Tags, dataitem.Tag{Name: "Type", Value: "Message"}, dataitem.Tag{Name: "Action", Value: "Eval"})
		} else {
			it.Data = []byte("1984")
		}
		if err := it.Sign(w); err != nil {
			t.Fatal(err)
		}
		b, err := it.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	resp, _ := do("POST", "/push", sign("", dataitem.Tag{Name: "Type", Value: "Process"}, dataitem.Tag{Name: "Module", Value: info.Module},
		dataitem.Tag{Name: "Scheduler", Value: info.Scheduler}, dataitem.Tag{Name: "device", Value: "process@1.0"}))
	pid := resp.Header.Get("process")
	if len(pid) != 43 {
		t.Fatalf("spawn: process header %q", pid)
	}
	resp, b := do("POST", "/"+pid+"~process@1.0/push", sign(pid))
	var pushed struct {
		Slot int64  `json:"slot"`
		ID   string `json:"id"`
	}
	if err := json.Unmarshal(b, &pushed); err != nil || pushed.Slot != 1 || resp.Header.Get("slot") != "1" {
		t.Fatalf("push: %s (slot header %q)", b, resp.Header.Get("slot"))
	}
	for _, which := range []string{"1", pushed.ID} {
		_, b = do("POST", "/"+pid+"~process@1.0/compute/results="+which, nil)
		var res struct {
			Raw struct {
				Output json.RawMessage
				Error  any
			} `json:"raw"`
		}
		if err := json.Unmarshal(b, &res); err != nil || !strings.Contains(string(res.Raw.Output), "aocore-"+pid[:4]) || res.Raw.Error != nil {
			t.Fatalf("results=%s: %s", which, b)
		}
	}
	resp, _ = do("POST", "/"+pid+"/~scheduler@1.0/schedule", sign(pid))
	if resp.Header.Get("slot") != "2" || resp.Header.Get("process") != pid || resp.Header.Get("timestamp") == "" {
		t.Fatalf("schedule headers %v", resp.Header)
	}
	if _, b = do("GET", "/"+pid+"/slot/current", nil); string(b) != "2" {
		t.Fatalf("slot/current %q", b)
	}
	_, b = do("GET", "/~scheduler@1.0/schedule?target="+pid+"&from=1&to=2&accept=application/aos-2", nil)
	var page struct {
		Edges []struct {
			Cursor string `json:"cursor"`
		} `json:"edges"`
	}
	if err := json.Unmarshal(b, &page); err != nil || len(page.Edges) != 2 {
		t.Fatalf("schedule page: %s", b)
	}
	// The scheduled-only slot 2 is computed on demand like any other.
	deadline := time.Now().Add(time.Minute)
	for {
		req, _ := http.NewRequest("GET", base+"/"+pid+"~process@1.0/compute&slot=2", nil)
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ = io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode == 200 && strings.Contains(string(b), "aocore-"+pid[:4]) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(string(b), "aocore-"+pid[:4]) {
		t.Fatalf("compute&slot=2: %s", b)
	}
}
