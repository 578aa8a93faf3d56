package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/internal/testenv"
	"github.com/aogo/aogo/wallet"
)

// TestRunWeaveDriveReference runs the same log through `aogo run --gateway` and through the reference
// (@permaweb/ao-loader 0.0.49 + @permaweb/weavedrive 0.0.18) on aos 2.0.6 against one embedded gateway:
// data before and after its attestation, data never attested, /tx/<id> and /block/<h> give the same
// Output and Error message by message. (Where the reference drive HALTs, its wasm64 glue throws out of
// handle(): the exception is uncaught and the reference CU's worker dies without a result; aogo ends the
// message with that exception's text as its Error instead, state unchanged.)
func TestRunWeaveDriveReference(t *testing.T) {
	node := testenv.Node(t)
	mods := testenv.NodeModules(t, "@permaweb/weavedrive")
	wasm := testenv.WaoModule(t, "aos2_0_6")
	const format = "wasm64-unknown-emscripten-draft_2024_02_15"

	ts, post, next := steppedGateway(t)
	su, _ := wallet.Generate(wallet.ED25519)
	user, _ := wallet.Generate(wallet.ED25519)
	big := strings.Repeat("0123456789abcdef", 5000) // 80 kB: more than the reference's 32 KiB read-ahead
	attested := post(user, big, dataitem.Tag{Name: "Content-Type", Value: "text/plain"})
	never := post(user, "never attested")
	h0 := next()
	post(su, "", dataitem.Tag{Name: "Data-Protocol", Value: "ao"}, dataitem.Tag{Name: "Type", Value: "Attestation"},
		dataitem.Tag{Name: "Message", Value: attested})
	h1 := next()
	next()

	readCode := func(p string) string {
		// seek("set", 0) before reading: the reference drive reads from the stream position, so
		// f:read(f:seek("end")) asks the gateway for a range past the end (and reads its 416 body).
		return fmt.Sprintf(`local f = io.open(%q); if not f then return "nil" end; local n = f:seek("end"); f:seek("set", 0); local s = f:read(n); f:close(); return #s .. ":" .. s:sub(1, 40) .. ":" .. s:sub(-40)`, p)
	}
	var msgs strings.Builder
	msgs.WriteString(`{"Id":"PID","Owner":"OWNER","From":"OWNER","Target":"PID","Tags":[{"name":"Type","value":"Process"}],"Data":"","Timestamp":1,"Block-Height":1,"Module":"M"}` + "\n")
	for i, r := range []struct {
		path string
		h    int64
	}{
		{"/data/" + attested, h0}, {"/data/" + attested, h1}, {"/data/" + never, h1},
		{"/tx/" + attested, h1}, {"/block/" + fmt.Sprint(h0), h1}, {"/data/" + attested, h1 + 1},
	} {
		m, _ := json.Marshal(map[string]any{"Id": fmt.Sprintf("M%d", i), "Owner": "OWNER", "From": "OWNER", "Target": "PID",
			"Tags": []map[string]string{{"name": "Action", "value": "Eval"}}, "Data": readCode(r.path), "Timestamp": 2 + i, "Block-Height": r.h})
		msgs.Write(m)
		msgs.WriteByte('\n')
	}
	proc := fmt.Sprintf(`{"Id":"PID","Owner":"OWNER","Tags":[{"name":"Authority","value":"OWNER"},{"name":"Extension","value":"WeaveDrive"},{"name":"Scheduler","value":%q}]}`, su.Address())
	dir := writeFiles(t, map[string]string{"proc.json": proc, "msgs.jsonl": msgs.String()})

	code, ours, errs := runCmd("--module", wasm, "--format", format, "--process", filepath.Join(dir, "proc.json"),
		"--messages", filepath.Join(dir, "msgs.jsonl"), "--gateway", ts.URL)
	if code != 0 {
		t.Fatalf("aogo run: exit %d: %s", code, errs)
	}
	cmd := exec.Command(node, "--experimental-wasm-memory64", filepath.Join("testdata", "weavedrive-ref.cjs"), mods, wasm, format,
		filepath.Join(dir, "proc.json"), filepath.Join(dir, "msgs.jsonl"), ts.URL)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	ref, err := cmd.Output()
	if err != nil {
		t.Fatalf("reference: %v\n%s", err, stderr.String())
	}
	got, want := evalOutputs(t, ours), evalOutputs(t, string(ref))
	if len(got) != len(want) {
		t.Fatalf("%d results, reference %d\nours %q\nref  %q", len(got), len(want), got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("message %d:\n ours %q\n ref  %q", i+1, got[i], want[i])
		}
	}
	t.Logf("results: %q", got)
}
