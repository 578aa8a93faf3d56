package su_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/internal/testenv"
	"github.com/aogo/aogo/su"
)

// arbundlesSign signs items with npm arbundles (RSA, signature type 1) through su/testdata/arbundles-sign.cjs.
func arbundlesSign(t *testing.T, items []map[string]any) [][]byte {
	t.Helper()
	node := testenv.Node(t)
	modules := testenv.NodeModules(t, "arbundles")
	w, err := walletRSA()
	if err != nil {
		t.Fatal(err)
	}
	jwk, err := w.JWK()
	if err != nil {
		t.Fatal(err)
	}
	in, _ := json.Marshal(map[string]any{"jwk": json.RawMessage(jwk), "items": items})
	cmd := exec.Command(node, filepath.Join("testdata", "arbundles-sign.cjs"))
	cmd.Env = append(cmd.Environ(), "NODE_PATH="+modules)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node arbundles: %v\n%s", err, stderr.String())
	}
	var raws [][]byte
	for _, line := range strings.Fields(string(out)) {
		b, err := base64.StdEncoding.DecodeString(line)
		if err != nil {
			t.Fatal(err)
		}
		raws = append(raws, b)
	}
	if len(raws) != len(items) {
		t.Fatalf("arbundles signed %d items, want %d", len(raws), len(items))
	}
	return raws
}

// TestArbundlesItems schedules a Process and Messages signed by the npm arbundles package.
func TestArbundlesItems(t *testing.T) {
	e := start(t, "", su.Config{})
	ctx := ctxT(t)
	tags := func(typ string, extra ...dataitem.Tag) []dataitem.Tag {
		return append([]dataitem.Tag{tag("Data-Protocol", "ao"), tag("Variant", "ao.TN.1"), tag("Type", typ)}, extra...)
	}
	proc := arbundlesSign(t, []map[string]any{{
		"tags": tags("Process", tag("Module", randID()), tag("Scheduler", e.unit.Address()), tag("Name", "from-arbundles")),
		"data": "1984",
	}})[0]
	res, err := e.c.Post(ctx, proc)
	if err != nil {
		t.Fatal(err)
	}
	pid := res.ID
	msgs := arbundlesSign(t, []map[string]any{
		{"target": pid, "tags": tags("Message", tag("Action", "Eval")), "data": "return 1"},
		{"target": pid, "anchor": "00000000000000000000000000000001", "tags": tags("Message", tag("Action", "Ping")), "data": "ping"},
	})
	for _, m := range msgs {
		if _, err := e.c.Post(ctx, m); err != nil {
			t.Fatalf("arbundles message: %v", err)
		}
	}
	log := readLog(t, e.c, pid, 10)
	if len(log) != 3 {
		t.Fatalf("log has %d slots", len(log))
	}
	if err := client.VerifySULog(pid, log); err != nil {
		t.Fatal(err)
	}
	if *log[2].Message.Anchor != "00000000000000000000000000000001" || log[2].Message.Tag("Action") != "Ping" {
		t.Fatalf("arbundles message JSON: %+v", log[2].Message)
	}
	// A tampered arbundles item is refused.
	bad := append([]byte(nil), msgs[0]...)
	bad[len(bad)-1] ^= 0x20
	if _, err := e.c.Post(ctx, bad); !client.IsSUStatus(err, 400) {
		t.Fatalf("tampered arbundles item: %v", err)
	}
}
