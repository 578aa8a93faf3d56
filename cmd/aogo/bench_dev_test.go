package main

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aogo/aogo/internal/testenv"
	"github.com/aogo/aogo/wallet"
)

// TestBenchDevAoconnect runs `aogo bench dev --client both` for a few messages: the Go client (paced), then the real
// aoconnect under node, on one network with one RSA key, each message's reply checked (by the Go bench and by
// the node script). The report must hold every figure, the HTTP share within the whole, and no connection
// opened after the warm-up (our server keeps node's connections alive).
func TestBenchDevAoconnect(t *testing.T) {
	testenv.Node(t)
	modules := testenv.NodeModules(t, "@permaweb/aoconnect")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"bench", "dev", "--client", "both", "-n", "4", "--warmup", "1", "--pace", "2ms", "--node-modules", modules}, &out, &errb); code != 0 {
		t.Fatalf("bench dev --client both: exit %d: %s", code, errb.String())
	}
	t.Logf("%s", out.String())
	dur := `([\d.]+(?:ns|µs|ms|s))`
	goLine := regexp.MustCompile(`go client \(rsa\): 4 messages on 1 process\(es\): p50 ` + dur + ` \(POST ` + dur + ` \+ result ` + dur + `\)`)
	nodeLine := regexp.MustCompile(`aoconnect \(rsa\): 4 messages: p50 ` + dur + `, p99 ` + dur + `; HTTP p50 ` + dur + `, p99 ` + dur +
		` \(POST ` + dur + ` \+ result ` + dur + `; wire ` + dur + ` \+ ` + dur + `; a refused POST ` + dur + `\); client work p50 ` + dur + `, p99 ` + dur + `; (\d+) new connections`)
	parse := func(re *regexp.Regexp) []time.Duration {
		m := re.FindStringSubmatch(out.String())
		if m == nil {
			t.Fatalf("no line matching %s in:\n%s", re, out.String())
		}
		var ds []time.Duration
		for _, s := range m[1:] {
			if !strings.HasSuffix(s, "s") {
				continue // the count of connections
			}
			d, err := time.ParseDuration(s)
			if err != nil || d <= 0 {
				t.Errorf("figure %s in %q", s, m[0])
			}
			ds = append(ds, d)
		}
		return ds
	}
	parse(goLine)
	n := parse(nodeLine)
	total, http, client := n[0], n[2], n[9]
	if http >= total || client >= total {
		t.Errorf("HTTP p50 %s and client work p50 %s must each be part of the whole p50 %s", http, client, total)
	}
	if !strings.Contains(out.String(), "; 0 new connections") {
		t.Errorf("aoconnect opened connections after the warm-up:\n%s", out.String())
	}
	if !regexp.MustCompile(`aoconnect/go: HTTP p50 [\d.]+x \(POST [\d.]+x, result [\d.]+x\), end to end p50 [\d.]+x`).MatchString(out.String()) {
		t.Errorf("no ratio line:\n%s", out.String())
	}
}

// TestBenchDevClientFlags: an unknown client is a usage error; aoconnect refuses a key it cannot sign with.
func TestBenchDevClientFlags(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"bench", "dev", "--client", "curl"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "want go, aoconnect or both") {
		t.Errorf("--client curl: exit %d: %s", code, errb.String())
	}
	ed := filepath.Join(t.TempDir(), "ed.json")
	w, err := wallet.Generate(wallet.ED25519)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Save(ed); err != nil {
		t.Fatal(err)
	}
	errb.Reset()
	if code := run(context.Background(), []string{"bench", "dev", "--client", "aoconnect", "--wallet", ed}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "needs an RSA") {
		t.Errorf("--client aoconnect with an ed25519 wallet: exit %d: %s", code, errb.String())
	}
}
