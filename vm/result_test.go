package vm

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestDecodeResponse(t *testing.T) {
	cases := []struct {
		in, err, output string
		msgs            int
		bad             bool
	}{
		{in: `{"ok":true,"response":{"Output":{"data":"1"},"Messages":[{"Target":"x"}],"Spawns":[],"Assignments":[]}}`, output: `{"data":"1"}`, msgs: 1},
		{in: `{"ok":false,"response":"boom"}`, err: "boom"},
		{in: `{"ok":false,"response":0.001}`, err: "0.001"},
		{in: `{"ok":true,"response":{"Error":"handler failed","Output":"x"}}`, err: "handler failed", output: `"x"`},
		{in: `{"ok":true,"response":{"Messages":{}}}`}, // Lua json encodes an empty table as {}
		{in: `{"response":{}}`, bad: true},
		{in: `not json`, bad: true},
	}
	for _, c := range cases {
		r, err := DecodeResponse([]byte(c.in))
		if (err != nil) != c.bad {
			t.Fatalf("%s: err %v", c.in, err)
		}
		if c.bad {
			continue
		}
		if r.Error != c.err || string(r.Output) != c.output || len(r.Messages) != c.msgs {
			t.Fatalf("%s: got %+v", c.in, r)
		}
	}
}

func TestResultJSON(t *testing.T) {
	r := Result{Output: json.RawMessage(`{"prompt":"aos> "}`), GasUsed: 7}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		t.Fatal(err)
	}
	want := `{"Output":{"prompt":"aos> "},"Messages":[],"Spawns":[],"Assignments":[],"GasUsed":7}` + "\n"
	if buf.String() != want {
		t.Fatalf("got  %s\nwant %s", buf.String(), want)
	}
	r.Error = "boom"
	b, _ := json.Marshal(r)
	var back Result
	if err := json.Unmarshal(b, &back); err != nil || back.Error != "boom" || back.GasUsed != 7 {
		t.Fatalf("round trip: %v %+v", err, back)
	}
}

// FuzzDecodeResponse: no module output may panic the decoder, and what it accepts re-encodes.
func FuzzDecodeResponse(f *testing.F) {
	for _, s := range []string{
		`{"ok":true,"response":{"Output":{"data":"1"},"Messages":[{"Target":"x"}]}}`,
		`{"ok":false,"response":"boom"}`, `{"ok":true,"response":[1,2]}`, `{"ok":null}`, `[]`, `"x"`, ``,
		`{"ok":true,"response":{"Messages":"nope","Patches":[{}]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeResponse(b)
		if err != nil {
			return
		}
		out, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("re-encode %q: %v", b, err)
		}
		var back Result
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("decode own output %s: %v", out, err)
		}
	})
}

// FuzzResultUnmarshal: the result decoder (used on CU bodies and our own output) never panics.
func FuzzResultUnmarshal(f *testing.F) {
	f.Add([]byte(`{"Output":null,"Messages":[],"Spawns":[],"Assignments":[],"GasUsed":0}`))
	f.Add([]byte(`{"Error":{"x":1},"GasUsed":1e3}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var r Result
		_ = json.Unmarshal(b, &r)
	})
}
