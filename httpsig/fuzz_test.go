package httpsig

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// FuzzStructuredFields: the parsers never panic, and whatever parses serialises to text that parses to the
// same serialisation (canonical form is a fixed point).
func FuzzStructuredFields(f *testing.F) {
	for _, s := range []string{
		`sig1=("@method" "content-digest");alg="rsa-pss-sha512";keyid="abc"`,
		`sha-256=:47DEQpj8HBSa+/TImW+5JrOoqY/A4Q5yQSs4aFw6HlE=:`,
		`slot="integer", tags="list"`, `"(ao-type-integer) 1", "x"`, `form-data; name="data"`,
		`a=1.5, b=?1, c=tok/en, d=(1 2);p`, `a=(`, `"\"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := ParseDictionary(s); err == nil {
			if out, err := SerializeDictionary(d); err == nil {
				d2, err := ParseDictionary(out)
				if err != nil {
					t.Fatalf("%q serialised to %q which does not parse: %v", s, out, err)
				}
				if out2, _ := SerializeDictionary(d2); out2 != out {
					t.Fatalf("not canonical: %q → %q", out, out2)
				}
			}
		}
		if l, err := ParseList(s); err == nil {
			if out, err := SerializeList(l); err == nil {
				if _, err := ParseList(out); err != nil {
					t.Fatalf("%q serialised to %q which does not parse: %v", s, out, err)
				}
			}
		}
		_, _ = ParseItem(s)
	})
}

// FuzzAOTypes: ao-types headers and typed values never panic and stay within their bounds.
func FuzzAOTypes(f *testing.F) {
	f.Add(`slot="integer", tags="list", x="atom"`, "list", `"(ao-type-integer) 1", "(ao-type-list) \"(ao-type-float) 1.5\""`)
	f.Add(`a="empty-message"`, "list", `(ao-type-integer) 1,(ao-type-binary) x`)
	f.Add(`a="float"`, "atom", `"true"`)
	f.Add(`a=integer`, "integer", "999999999999999")
	f.Fuzz(func(t *testing.T, header, typ, raw string) {
		_, _ = ParseAOTypes(header)
		v, err := DecodeValue(typ, []byte(raw))
		if err == nil {
			_, _ = v.MarshalJSON()
			if v.Kind == List && len(v.List) > maxListItems {
				t.Fatalf("list of %d items", len(v.List))
			}
		}
	})
}

// FuzzDecodeRequest: any header set and body decode or fail cleanly within MaxFields.
func FuzzDecodeRequest(f *testing.F) {
	const b = "B"
	f.Add(`multipart/form-data; boundary="B"`, `x="integer"`, "--B\r\ncontent-disposition: form-data; name=\"x\"\r\n\r\n12\r\n--B\r\ncontent-disposition: form-data; name=\"m\"\r\nao-types: n=\"list\"\r\nn: \"a\"\r\n\r\nbody\r\n--B--")
	f.Add("text/plain", `body="binary"`, "raw body")
	f.Add(`multipart/form-data; boundary=`+b, "", "--B\r\ncontent-disposition: inline\r\n\r\n\r\n--B--")
	f.Fuzz(func(t *testing.T, contentType, types, body string) {
		h := http.Header{}
		h.Set("Content-Type", contentType)
		h.Set("Ao-Types", types)
		fs, err := DecodeRequest(h, []byte(body))
		if err == nil && len(fs) > MaxFields {
			t.Fatalf("%d fields", len(fs))
		}
		if bd, err := Boundary(contentType); err == nil && bd != "" {
			if parts, err := ParseMultipart([]byte(body), bd); err == nil && len(parts) > MaxParts {
				t.Fatalf("%d parts", len(parts))
			}
		}
	})
}

// FuzzVerify: hostile Signature and Signature-Input headers never panic and never verify by accident.
func FuzzVerify(f *testing.F) {
	f.Add(`sig=("slot");alg="rsa-pss-sha512";keyid="AQAB"`, `sig=:AAAA:`, "1")
	f.Add(`sig=("@query-param";name="a" "@path" "x";key="k");alg="ed25519";keyid="`+strings.Repeat("A", 43)+`"`, `sig=:AAAA:`, `k=1`)
	f.Add(`sig=();alg="hmac-sha256";keyid="ao"`, `sig=:AAAA:`, "")
	f.Add(`sig=("x";bs);created=1;expires=2`, `sig=:AAAA:`, "v")
	f.Fuzz(func(t *testing.T, input, sig, field string) {
		h := http.Header{}
		h.Set("Signature-Input", input)
		h.Set("Signature", sig)
		h.Set("Slot", field)
		h.Set("X", field)
		m := Message{Method: "POST", Scheme: "http", Authority: "a.test", Path: "/p", RawQuery: "a=1&a=2", Header: h}
		sigs, err := VerifyMessage(m, time.Unix(1700000000, 0))
		if err == nil {
			for _, s := range sigs {
				if s.Signer != "" {
					t.Fatalf("a fuzzed signature verified for %s", s.Signer)
				}
			}
		}
	})
}
