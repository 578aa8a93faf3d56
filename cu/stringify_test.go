package cu

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"

	"github.com/aogo/aogo/internal/testenv"
)

// stringifyCases are strings whose JSON text differs between encoding/json and JSON.stringify, or nearly does.
var stringifyCases = []string{
	"", "plain", "<a href=\"x\">&amp;</a>", "\u2028\u2029", "tab\tnl\nret\r\b\f", "\x00\x01\x1f\x7f",
	"bad \xff utf-8 \xc3", "\ufffd itself", `back\slash \u003c not an escape`, `\\u003c`, "é😀", "\\",
	"ends with <", "&" + strings.Repeat("<", 3),
}

// TestStringifyMatchesJavaScript hands each value's encoding/json text to node, which parses it and gives back
// JSON.stringify's text: stringify must give the same bytes. A string in JS is what the reference CU built
// from the item's bytes (invalid UTF-8 as U+FFFD), so that is the value both sides encode.
func TestStringifyMatchesJavaScript(t *testing.T) {
	node := testenv.Node(t)
	rng := rand.New(rand.NewPCG(7, 11))
	alphabet := []string{"a", "<", ">", "&", "\\", "\"", "/", "\n", "\x01", "\x7f", "\u2028", "\u2029", "\ufffd", "\xff", "é", "😀", "u003c", "\\u0026"}
	values := []any{}
	for _, s := range stringifyCases {
		values = append(values, s)
	}
	for range 300 {
		var sb strings.Builder
		for range rng.IntN(24) {
			sb.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		values = append(values, map[string]any{"Data": sb.String(), "Tags": []map[string]string{{"name": sb.String(), "value": "<&>"}}, "N": rng.IntN(1 << 40)})
	}
	var in bytes.Buffer
	for _, v := range values {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		in.Write(b)
		in.WriteByte('\n')
	}
	cmd := exec.Command(node, "-e", `
const lines = require('fs').readFileSync(0, 'utf8').split('\n').filter(l => l.length > 0);
process.stdout.write(lines.map(l => JSON.stringify(JSON.parse(l))).join('\n'));`)
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	want := bytes.Split(out, []byte("\n"))
	if len(want) != len(values) {
		t.Fatalf("node gave %d lines for %d values", len(want), len(values))
	}
	for i, v := range values {
		got, err := stringify(v)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want[i]) {
			t.Fatalf("value %d: stringify gives\n%q\nJSON.stringify gives\n%q", i, got, want[i])
		}
	}
}

// FuzzJSStrings checks that jsStrings keeps the value encoding/json wrote: the rewritten text decodes to what
// the original decodes to.
func FuzzJSStrings(f *testing.F) {
	for _, s := range stringifyCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var a, c string
		if err := json.Unmarshal(b, &a); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(jsStrings(b), &c); err != nil {
			t.Fatalf("%q → %q: %v", b, jsStrings(b), err)
		}
		if a != c {
			t.Fatalf("%q decodes to %q, rewritten %q to %q", b, a, jsStrings(b), c)
		}
	})
}
