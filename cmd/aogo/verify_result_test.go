package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/cu"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/wallet"
)

func TestVerifyResult(t *testing.T) {
	w, err := wallet.Generate(wallet.ED25519)
	if err != nil {
		t.Fatal(err)
	}
	pid, mid := strings.Repeat("P", 43), strings.Repeat("M", 43)
	body := []byte(`{"Output":{"data":"hi"},"Messages":[],"Spawns":[],"Assignments":[],"GasUsed":0}`)
	att, err := cu.Attest(w, &cu.Eval{Process: pid, Message: mid, Nonce: 3, Timestamp: 1, BlockHeight: 2, HashChain: "hc", Result: body, MemoryHash: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	served := body
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/result/"+mid || r.URL.Query().Get("process-id") != pid {
			http.NotFound(rw, r)
			return
		}
		rw.Header().Set(client.AttestationHeader, dataitem.B64(att))
		rw.Write(served)
	}))
	defer srv.Close()

	verify := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := run(context.Background(), append([]string{"verify-result"}, args...), &out, &errb)
		return code, out.String() + errb.String()
	}
	if code, out := verify("--cu", srv.URL, "--process", pid, "--message", mid, "--unit", w.Address()); code != 0 || !strings.Contains(out, `"Slot": 3`) {
		t.Fatalf("valid result: code %d\n%s", code, out)
	}
	if code, out := verify("--cu", srv.URL, "--process", pid, "--message", mid, "--unit", "someone-else"); code != 1 || !strings.Contains(out, "not a trusted unit") {
		t.Fatalf("untrusted unit: code %d\n%s", code, out)
	}
	served = bytes.Replace(body, []byte("hi"), []byte("ho"), 1)
	if code, out := verify("--cu", srv.URL, "--process", pid, "--message", mid); code != 1 || !strings.Contains(out, "INVALID") {
		t.Fatalf("tampered body: code %d\n%s", code, out)
	}

	// Offline, from files: the header value as text, and the raw item.
	dir := t.TempDir()
	bodyFile, attFile, rawFile := filepath.Join(dir, "body.json"), filepath.Join(dir, "att.txt"), filepath.Join(dir, "att.bin")
	os.WriteFile(bodyFile, body, 0o600)
	os.WriteFile(attFile, []byte(dataitem.B64(att)+"\n"), 0o600)
	os.WriteFile(rawFile, att, 0o600)
	for _, f := range []string{attFile, rawFile} {
		if code, out := verify("--body", bodyFile, "--attestation", f, "--message", mid); code != 0 {
			t.Fatalf("offline %s: code %d\n%s", f, code, out)
		}
	}
	if code, out := verify("--body", bodyFile, "--attestation", rawFile, "--message", pid); code != 1 || !strings.Contains(out, "not "+pid) {
		t.Fatalf("wrong message: code %d\n%s", code, out)
	}
	bad := bytes.Clone(att)
	bad[20] ^= 1
	os.WriteFile(rawFile, bad, 0o600)
	if code, out := verify("--body", bodyFile, "--attestation", rawFile); code != 1 || !strings.Contains(out, "INVALID") {
		t.Fatalf("tampered signature: code %d\n%s", code, out)
	}
}

func TestCUFlags(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"cu", "--data", t.TempDir()}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "--gateway") {
		t.Fatalf("no gateway: code %d, %s", code, errb.String())
	}
	errb.Reset()
	if code := run(context.Background(), []string{"cu", "--gateway", "http://x", "--max-memory", "lots", "--data", t.TempDir()}, &out, &errb); code != 1 {
		t.Fatalf("bad --max-memory: code %d, %s", code, errb.String())
	}
}
