package httpsig

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestHostileHttpsig: inputs written to cost a verifier work or memory are refused by a stated bound,
// cheaply, before any signature is checked.
func TestHostileHttpsig(t *testing.T) {
	labels := make([]string, MaxSignatures+1)
	for i := range labels {
		labels[i] = fmt.Sprintf("s%d=();alg=\"rsa-pss-sha512\";keyid=\"AQAB\"", i)
	}
	comps := strings.Repeat(`"x" `, maxComponents+1)
	cases := []struct {
		name, input, sig string
		want             error
	}{
		{"labels", strings.Join(labels, ", "), "s0=:AA==:", ErrInvalid},
		{"components", "s=(" + comps + ");alg=\"rsa-pss-sha512\";keyid=\"AQAB\"", "s=:AA==:", ErrInvalid},
		{"huge keyid", "s=(\"x\");alg=\"rsa-pss-sha512\";keyid=\"" + strings.Repeat("A", 2*maxRSABytes) + "\"", "s=:AA==:", ErrInvalid},
		{"huge field", "s=(\"x\");keyid=\"" + strings.Repeat("A", maxSFLen) + "\"", "s=:AA==:", ErrInvalid},
		{"params", "s=()" + strings.Repeat(";p=1", maxSFParams+1), "s=:AA==:", ErrInvalid},
		{"duplicate component", "s=(\"x\" \"x\");alg=\"rsa-pss-sha512\";keyid=\"AQAB\"", "s=:AA==:", ErrInvalid},
		{"no matching signature", "s=(\"x\");alg=\"rsa-pss-sha512\";keyid=\"AQAB\"", "t=:AA==:", ErrInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "http://node.test/", nil)
			r.Header.Set("X", "1")
			r.Header.Set("Signature-Input", c.input)
			r.Header.Set("Signature", c.sig)
			start := time.Now()
			_, err := Verify(r, nil)
			if !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("refusal took %v", d)
			}
		})
	}

	t.Run("list items", func(t *testing.T) {
		items := strings.Repeat(`"a", `, maxListItems) + `"a"`
		if _, err := DecodeValue("list", []byte(items)); !errors.Is(err, ErrTypes) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("list depth", func(t *testing.T) {
		v := `"(ao-type-integer) 1"`
		for i := 0; i < maxListDepth+1; i++ {
			var b strings.Builder
			_ = SerializeBare(&b, "(ao-type-list) "+v)
			v = b.String()
		}
		if _, err := DecodeValue("list", []byte(v)); !errors.Is(err, ErrTypes) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("fields", func(t *testing.T) {
		h := http.Header{}
		for i := 0; i <= MaxFields; i++ {
			h.Set(fmt.Sprintf("k%d", i), "v")
		}
		if _, err := DecodeRequest(h, nil); !errors.Is(err, ErrFields) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("part headers", func(t *testing.T) {
		body := "--B\r\ncontent-disposition: form-data;name=\"a\"\r\n" + strings.Repeat("x: 1\r\n", maxPartHeaders) + "\r\nv\r\n--B--"
		h := http.Header{"Content-Type": {`multipart/form-data; boundary=B`}}
		if _, err := DecodeRequest(h, []byte(body)); !errors.Is(err, ErrMultipart) {
			t.Fatalf("err %v", err)
		}
	})
}
