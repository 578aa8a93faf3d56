package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/gateway"
	"github.com/aogo/aogo/internal/testenv"
	"github.com/aogo/aogo/wallet"
)

type driveRead struct {
	id string
	h  int64
}

// driveRunMsgs is a boot message and one Eval per read, at its Block-Height, reading /data/<id> (or "nil").
func driveRunMsgs(reads ...driveRead) string {
	var b strings.Builder
	b.WriteString(`{"Id":"PID","Owner":"OWNER","From":"OWNER","Target":"PID","Tags":[{"name":"Type","value":"Process"}],"Data":"","Timestamp":1,"Block-Height":1,"Module":"M"}` + "\n")
	for i, r := range reads {
		h := r.h
		code := fmt.Sprintf(`local f = io.open("/data/%s"); if not f then return "nil" end; local s = f:read(f:seek("end")); f:close(); return s`, r.id)
		m := map[string]any{"Id": fmt.Sprintf("M%d", i), "Owner": "OWNER", "From": "OWNER", "Target": "PID",
			"Tags": []map[string]string{{"name": "Action", "value": "Eval"}}, "Data": code, "Timestamp": 2 + i, "Block-Height": h}
		j, _ := json.Marshal(m)
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

func evalOutputs(t *testing.T, out string) []string {
	t.Helper()
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		var r struct {
			Output struct {
				Data string `json:"data"`
			}
			Error string
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		got = append(got, r.Output.Data+r.Error)
	}
	return got
}

// TestRunDrive: aogo run --drive DIR feeds io.open("/data/<id>") from files named by id; --gateway
// decides admission from the process's tags and each message's Block-Height. Data not there or not
// admitted ends the message with the reference wasm64 glue's Error "HALT: FILE NOT FOUND".
func TestRunDrive(t *testing.T) {
	wasm := testenv.WaoModule(t, "aos2_0_6")
	const format = "wasm64-unknown-emscripten-draft_2024_02_15"
	const id = "DATA_ID_00000000000000000000000000000000001"
	t.Run("dir", func(t *testing.T) {
		proc := `{"Id":"PID","Owner":"OWNER","Tags":[{"name":"Authority","value":"OWNER"}]}`
		dir := writeFiles(t, map[string]string{"proc.json": proc, "msgs.jsonl": driveRunMsgs(driveRead{id, 2}, driveRead{"DATA_ID_00000000000000000000000000000000002", 3})})
		data := writeFiles(t, map[string]string{id: "hello from the drive"})
		code, out, errs := runCmd("--module", wasm, "--format", format, "--process", filepath.Join(dir, "proc.json"),
			"--messages", filepath.Join(dir, "msgs.jsonl"), "--drive", data)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		if got := evalOutputs(t, out); len(got) != 2 || got[0] != "hello from the drive" || got[1] != "HALT: FILE NOT FOUND" {
			t.Fatalf("outputs %q", got)
		}
	})
	t.Run("gateway", func(t *testing.T) {
		ts, post, next := steppedGateway(t)
		su, _ := wallet.Generate(wallet.ED25519)
		dataID := post(su, "attested bytes")
		before := next()
		post(su, "", dataitem.Tag{Name: "Data-Protocol", Value: "ao"}, dataitem.Tag{Name: "Type", Value: "Attestation"},
			dataitem.Tag{Name: "Message", Value: dataID})
		at := next()
		proc := fmt.Sprintf(`{"Id":"PID","Owner":"OWNER","Tags":[{"name":"Authority","value":"OWNER"},{"name":"Extension","value":"WeaveDrive"},{"name":"Scheduler","value":%q}]}`, su.Address())
		dir := writeFiles(t, map[string]string{"proc.json": proc, "msgs.jsonl": driveRunMsgs(driveRead{dataID, before}, driveRead{dataID, at}, driveRead{dataID, at})})
		code, out, errs := runCmd("--module", wasm, "--format", format, "--process", filepath.Join(dir, "proc.json"),
			"--messages", filepath.Join(dir, "msgs.jsonl"), "--gateway", ts.URL)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		if got := evalOutputs(t, out); len(got) != 3 || got[0] != "HALT: FILE NOT FOUND" || got[1] != "attested bytes" || got[2] != "attested bytes" {
			t.Fatalf("outputs %q", got)
		}
	})
}

// steppedGateway is an embedded gateway whose clock moves one second (one block) at each next(), which returns
// the height before the step: tests place items at known heights. post signs data with w and uploads it.
func steppedGateway(t *testing.T) (ts *httptest.Server, post func(w *wallet.Wallet, data string, tags ...dataitem.Tag) string, next func() int64) {
	t.Helper()
	var mu sync.Mutex
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	gw, err := gateway.Open(context.Background(), gateway.Config{Dir: t.TempDir(), BlockTime: time.Second,
		Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
	if err != nil {
		t.Fatal(err)
	}
	ts = httptest.NewServer(gw)
	t.Cleanup(func() { ts.Close(); gw.Close() })
	gc := gateway.NewClient(ts.URL, nil)
	post = func(w *wallet.Wallet, data string, tags ...dataitem.Tag) string {
		it := &dataitem.Item{Data: []byte(data), Tags: tags, Anchor: make([]byte, 32)}
		rand.Read(it.Anchor)
		if err := it.Sign(w); err != nil {
			t.Fatal(err)
		}
		raw, _ := it.Bytes()
		if err := gc.Upload(context.Background(), raw); err != nil {
			t.Fatal(err)
		}
		return it.ID()
	}
	next = func() int64 {
		h, _ := gc.Height(context.Background())
		mu.Lock()
		now = now.Add(time.Second)
		mu.Unlock()
		return int64(h)
	}
	return ts, post, next
}
