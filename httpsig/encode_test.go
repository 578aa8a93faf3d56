package httpsig

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func sameValue(a, b Value) bool {
	a.FromBody, b.FromBody = false, false
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return a.Kind == b.Kind && bytes.Equal(ja, jb)
}

func roundTrip(t *testing.T, f Fields) {
	t.Helper()
	h := http.Header{}
	body, err := EncodeFields(h, f)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	got, err := DecodeRequest(h, body)
	if err != nil {
		t.Fatalf("decode: %v\nheader %v\nbody %.300q", err, h, body)
	}
	for k, v := range f {
		if !sameValue(got[k], v) {
			t.Errorf("%s: got %+v, want %+v", k, got[k], v)
		}
	}
	if len(got) != len(f) {
		t.Errorf("keys %v, want %v", got.Keys(), f.Keys())
	}
}

func bin(s string) Value { return Value{Kind: Binary, Bytes: []byte(s)} }

// TestEncodeFieldsRoundTrip: what EncodeFields writes, DecodeRequest reads back unchanged, whether a value
// lands in a header, the inline body or a multipart part.
func TestEncodeFieldsRoundTrip(t *testing.T) {
	typed := Fields{
		"slot":    {Kind: Integer, Int: 42},
		"ratio":   {Kind: Float, Float: 0.25},
		"ok":      {Kind: Atom, Bytes: []byte("true")},
		"tags":    {Kind: List, List: []Value{{Kind: Integer, Int: 1}, bin("two"), {Kind: List, List: []Value{{Kind: Float, Float: 1.5}}}, bin("(ao-type-integer) 3"), {Kind: Binary, Bytes: []byte{}}}},
		"none":    {Kind: Binary, Bytes: []byte{}},
		"nothing": {Kind: List, List: []Value{}},
		"msg":     {Kind: Map},
		"target":  bin("abc"),
	}
	roundTrip(t, typed)

	inline := Fields{"slot": {Kind: Integer, Int: 1}, "data": bin(strings.Repeat("x", MaxHeaderValue+1))}
	roundTrip(t, inline)

	multi := Fields{
		"data":           bin(strings.Repeat("y", MaxHeaderValue+1)),
		"note":           bin("line one\nline two"),
		"a/b":            bin("nested"),
		"body":           bin("the body"),
		"padded":         bin(" space "),
		"big-list":       {Kind: List, List: []Value{bin(strings.Repeat("z", MaxHeaderValue))}},
		"Upper":          bin("x"),
		"content-length": bin("a value named like a transport header"),
		"content-len":    {Kind: Integer, Int: 7},
	}
	delete(multi, "Upper") // keys are lower-case by contract
	roundTrip(t, multi)

	for _, bad := range []Fields{{"Bad Key": {Kind: Integer, Int: 1}}, {"ao-types": bin("x")}, {"signature": bin("x")}} {
		if _, err := EncodeFields(http.Header{}, bad); err == nil {
			t.Errorf("%v was accepted", bad.Keys())
		}
	}
}

// FuzzEncodeFields: any fields that encode decode back to themselves.
func FuzzEncodeFields(f *testing.F) {
	f.Add("k", "v", int64(1), "atom", "x")
	f.Add("data", strings.Repeat("d", 5000), int64(-7), "null", "a\nb")
	f.Add("a/b", "", int64(0), "", "(ao-type-integer) 1")
	f.Fuzz(func(t *testing.T, key, text string, n int64, atom, item string) {
		key = strings.ToLower(key)
		if key == "" || len(key) > 64 {
			return
		}
		fs := Fields{
			key:        bin(text),
			"n":        {Kind: Integer, Int: n % 1_000_000_000_000_000},
			"atom-key": {Kind: Atom, Bytes: []byte(atom)},
			"list-key": {Kind: List, List: []Value{bin(item), {Kind: Integer, Int: n % 1000}}},
		}
		h := http.Header{}
		body, err := EncodeFields(h, fs)
		if err != nil {
			return // keys or list items outside what a header or a structured string can carry
		}
		got, err := DecodeRequest(h, body)
		if err != nil {
			t.Fatalf("decode of our own encoding: %v\nheader %v\nbody %q", err, h, body)
		}
		for k, v := range fs {
			if !sameValue(got[k], v) {
				t.Fatalf("%q: got %+v, want %+v (header %v body %q)", k, got[k], v, h, body)
			}
		}
	})
}
