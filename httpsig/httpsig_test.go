package httpsig

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// testKey is one 2048-bit key for the unit tests (the interop tests use a 4096-bit Arweave wallet).
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func signedRequest(t *testing.T, body []byte) *http.Request {
	t.Helper()
	r := httptest.NewRequest("POST", "http://node.test/~meta@1.0/info?x=1", bytes.NewReader(body))
	r.Header.Set("Ao-Types", `slot="integer", tags="list", flag="atom", none="empty-binary"`)
	r.Header.Set("Slot", "42")
	r.Header.Set("Tags", `"(ao-type-integer) 1", "two"`)
	r.Header.Set("Flag", `"true"`)
	r.Header.Set("Target", "abc")
	if err := SignRequest(r, body, testKey()); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSignVerifyRequest(t *testing.T) {
	body := []byte("hello body")
	r := signedRequest(t, body)
	n := testKey().N.Bytes()
	v, err := VerifyRequest(r, body)
	if err != nil {
		t.Fatal(err)
	}
	if v.Signer != Address(n) || !v.BodySigned || len(v.Signatures) != 1 {
		t.Fatalf("verified %+v", v)
	}
	s := v.Signatures[0]
	if s.Label != Label(n) || s.Alg != AlgRSAPSSSHA512 || !s.Covers("content-digest") || !s.Covers("ao-types") || s.Covers("@path") {
		t.Errorf("signature %+v", s)
	}

	f, err := DecodeRequest(r.Header, body)
	if err != nil {
		t.Fatal(err)
	}
	signed := v.Signed(f)
	if got := signed["slot"]; got.Kind != Integer || got.Int != 42 {
		t.Errorf("slot %+v", got)
	}
	if got := signed["tags"]; got.Kind != List || len(got.List) != 2 || got.List[0].Int != 1 || got.List[1].Text() != "two" {
		t.Errorf("tags %+v", got)
	}
	if got := signed["flag"]; got.Kind != Atom || got.Text() != "true" {
		t.Errorf("flag %+v", got)
	}
	if got, ok := signed["none"]; !ok || got.Kind != Binary || len(got.Bytes) != 0 {
		t.Errorf("none %+v %v", got, ok)
	}
	if got := signed["body"]; string(got.Bytes) != "hello body" || !got.FromBody {
		t.Errorf("body %+v", got)
	}

	// An unsigned header added on the way is a field but not a signed one.
	r.Header.Set("Extra", "added")
	v2, err := VerifyRequest(r, body)
	if err != nil {
		t.Fatal(err)
	}
	f2, err := DecodeRequest(r.Header, body)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f2["extra"]; !ok {
		t.Error("an added header is not a field")
	}
	if _, ok := v2.Signed(f2)["extra"]; ok {
		t.Error("an uncovered header counts as signed")
	}
}

func TestVerifyRejectsTampering(t *testing.T) {
	body := []byte("hello body")
	cases := []struct {
		name   string
		mutate func(r *http.Request) []byte
		want   error
	}{
		{"header", func(r *http.Request) []byte { r.Header.Set("Slot", "43"); return body }, ErrInvalid},
		{"body", func(r *http.Request) []byte { return []byte("hello bodx") }, ErrDigest},
		{"digest and body", func(r *http.Request) []byte {
			b := []byte("other")
			r.Header.Set("Content-Digest", ContentDigest(b))
			return b
		}, ErrInvalid},
		{"no digest", func(r *http.Request) []byte { r.Header.Del("Content-Digest"); return body }, ErrInvalid},
		{"signature", func(r *http.Request) []byte {
			s := r.Header.Get("Signature")
			i := strings.Index(s, ":") + 5
			c := byte('A')
			if s[i] == 'A' {
				c = 'B'
			}
			r.Header.Set("Signature", s[:i]+string(c)+s[i+1:])
			return body
		}, ErrInvalid},
		{"other key", func(r *http.Request) []byte {
			k, _ := rsa.GenerateKey(rand.Reader, 2048)
			in := r.Header.Get("Signature-Input")
			i := strings.Index(in, `keyid="`) + len(`keyid="`)
			j := strings.Index(in[i:], `"`)
			r.Header.Set("Signature-Input", in[:i]+b64url(k.N.Bytes())+in[i+j:])
			return body
		}, ErrInvalid},
		{"no signature", func(r *http.Request) []byte { r.Header.Del("Signature"); r.Header.Del("Signature-Input"); return body }, ErrNoSignature},
		{"unknown alg", func(r *http.Request) []byte {
			r.Header.Set("Signature-Input", strings.Replace(r.Header.Get("Signature-Input"), AlgRSAPSSSHA512, "rsa-v1_5-sha256", 1))
			return body
		}, ErrInvalid},
		{"expired", func(r *http.Request) []byte {
			r.Header.Set("Signature-Input", r.Header.Get("Signature-Input")+";expires=1")
			return body
		}, ErrInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := signedRequest(t, body)
			b := c.mutate(r)
			_, err := Verify(r, b)
			if !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
		})
	}
}

func TestSignResponse(t *testing.T) {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Process", "pid")
	h["ao-types"] = []string{`slot="integer"`} // a non-canonical key, as a router might write
	h.Set("Slot", "7")
	body := []byte(`{"ok":true}`)
	if err := SignResponse(h, body, testKey()); err != nil {
		t.Fatal(err)
	}
	in := h.Get("Signature-Input")
	for _, c := range []string{`"ao-types"`, `"content-digest"`, `"content-type"`, `"process"`, `"slot"`} {
		if !strings.Contains(in, c) {
			t.Errorf("Signature-Input %s lacks %s", in, c)
		}
	}
	v, err := verifyAt(ResponseMessage(200, h), body, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if v.Signer != Address(testKey().N.Bytes()) {
		t.Errorf("signer %s", v.Signer)
	}
	h.Set("Slot", "8")
	if _, err := verifyAt(ResponseMessage(200, h), body, time.Now()); err == nil {
		t.Fatal("a changed response header still verifies")
	}
}

// TestHMACOnlyIsNotASigner: HyperBEAM's hmac-sha256 id (key "ao") verifies but names nobody.
func TestHMACOnlyIsNotASigner(t *testing.T) {
	r := httptest.NewRequest("GET", "http://node.test/x", nil)
	r.Header.Set("Slot", "1")
	covered := &InnerList{Items: []Item{{Value: "slot"}}, Params: Params{{Key: "alg", Value: AlgHMACSHA256}, {Key: "keyid", Value: "ao"}}}
	base, params, err := SignatureBase(RequestMessage(r), covered)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Signature-Input", "hmac="+params)
	r.Header.Set("Signature", "hmac=:"+b64std(hmacSum(base))+":")
	sigs, err := VerifyMessage(RequestMessage(r), time.Now())
	if err != nil || len(sigs) != 1 || sigs[0].Signer != "" {
		t.Fatalf("sigs %+v err %v", sigs, err)
	}
	if _, err := Verify(r, nil); !errors.Is(err, ErrNoSignature) {
		t.Fatalf("hmac-only Verify: %v", err)
	}
	r.Header.Set("Slot", "2")
	if _, err := VerifyMessage(RequestMessage(r), time.Now()); !errors.Is(err, ErrInvalid) {
		t.Fatalf("tampered hmac: %v", err)
	}
}

func TestDecodeAOTypes(t *testing.T) {
	cases := []struct {
		typ, raw string
		want     string // JSON of the value
	}{
		{"integer", "12", "12"},
		{"integer", "-5", "-5"},
		{"float", "1.5", "1.5"},
		{"atom", `"true"`, "true"},
		{"atom", "null", "null"},
		{"atom", `"ok"`, `"ok"`},
		{"list", `"(ao-type-integer) 1", "(ao-type-integer) 2", "x"`, "[1,2,\"x\"]"},
		{"list", `(ao-type-integer) 1,(ao-type-binary) a b,(ao-type-float) 2.5`, `[1,"a b",2.5]`}, // ao-core-libs
		{"list", `"(ao-type-list) \"(ao-type-integer) 3\""`, "[[3]]"},
		{"list", `"(ao-type-empty-binary)"`, `[""]`},
		{"list", "", "[]"},
		{"empty-list", "", "[]"},
		{"empty-message", "", "{}"},
		{"binary", "raw", `"raw"`},
	}
	for _, c := range cases {
		v, err := DecodeValue(c.typ, []byte(c.raw))
		if err != nil {
			t.Errorf("%s %q: %v", c.typ, c.raw, err)
			continue
		}
		got, _ := v.MarshalJSON()
		if string(got) != c.want {
			t.Errorf("%s %q = %s, want %s", c.typ, c.raw, got, c.want)
		}
	}
	for _, bad := range [][2]string{{"integer", "x"}, {"float", "y"}, {"map", "a=1"}, {"list", `"(ao-type-integer) z"`}} {
		if _, err := DecodeValue(bad[0], []byte(bad[1])); !errors.Is(err, ErrTypes) {
			t.Errorf("%s %q: err %v", bad[0], bad[1], err)
		}
	}
}

func TestDecodeMultipart(t *testing.T) {
	const b = "BOUNDARY"
	body := "--" + b + "\r\n" +
		"content-disposition: form-data; name=\"data\"\r\n\r\n" + "line one\nline two" +
		"\r\n--" + b + "\r\n" +
		"content-disposition: form-data; name=\"tags\"\r\nao-types: n=\"integer\"\r\nn: 5\r\nname: x\r\n\r\nnested body" +
		"\r\n--" + b + "\r\n" +
		"content-disposition: inline\r\n\r\n" + "the inline body" +
		"\r\n--" + b + "--"
	h := http.Header{}
	h.Set("Content-Type", `multipart/form-data; boundary="`+b+`"`)
	h.Set("Ao-Types", `big="integer"`)
	h.Set("Inline-Body-Key", "data2")
	f, err := DecodeRequest(h, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"data": "line one\nline two", "tags/n": "5", "tags/name": "x", "tags/body": "nested body", "data2": "the inline body"}
	for k, v := range want {
		if got, ok := f.Text(k); !ok || got != v || !f[k].FromBody {
			t.Errorf("%s = %q (%v), want %q", k, got, ok, v)
		}
	}
	if f["tags/n"].Kind != Integer {
		t.Errorf("tags/n %+v", f["tags/n"])
	}
	if _, ok := f["content-type"]; ok {
		t.Error("the multipart content-type is a field")
	}
	if len(f) != len(want) {
		t.Errorf("fields %v", f.Keys())
	}
	for _, bad := range []string{
		"no boundary at all",
		"--" + b + "\r\ncontent-disposition: form-data; name=\"a\"\r\n\r\nx",                                                       // unterminated
		"--" + b + "\r\nx-header: 1\r\n\r\nbody\r\n--" + b + "--",                                                                  // no disposition
		"--" + b + "\r\ncontent-disposition: form-data\r\n\r\nbody\r\n--" + b + "--",                                               // no name
		"--" + b + "\r\n" + strings.Repeat("content-disposition: inline\r\n\r\n\r\n--"+b+"\r\n", MaxParts+1) + "\r\n--" + b + "--", // parts
	} {
		if _, err := DecodeRequest(h, []byte(bad)); !errors.Is(err, ErrMultipart) {
			t.Errorf("%.40q: err %v", bad, err)
		}
	}
}

func TestStructuredFields(t *testing.T) {
	for _, s := range []string{
		`a=1, b=2;x=?0, c, d=(1 2 "three");p=:AQID:, e=-1.5, f=tok/en:x`,
		`sig1=("@method" "@path" "content-digest");alg="rsa-pss-sha512";keyid="abc"`,
	} {
		d, err := ParseDictionary(s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		out, err := SerializeDictionary(d)
		if err != nil || out != s {
			t.Errorf("round trip %q → %q (%v)", s, out, err)
		}
	}
	for _, bad := range []string{`a=`, `A=1`, `a=1,`, `a="x`, `a=(1`, `a=1234567890123456`, `a=1.2345`, `a=:!!:`, `a=@1`, `a=?2`, `a=1 b`} {
		if _, err := ParseDictionary(bad); !errors.Is(err, ErrSF) {
			t.Errorf("%q: err %v", bad, err)
		}
	}
	if _, err := ParseDictionary(strings.Repeat("a=1, ", maxSFMembers+1) + "b"); !errors.Is(err, ErrSF) {
		t.Error("members beyond the bound accepted")
	}
}

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func hmacSum(base []byte) []byte {
	m := hmac.New(sha256.New, []byte("ao"))
	m.Write(base)
	return m.Sum(nil)
}

// TestSignedNeedsTypes: an ao-types header added outside the signature cannot retype a signed header.
func TestSignedNeedsTypes(t *testing.T) {
	r := httptest.NewRequest("POST", "http://node.test/x", nil)
	r.Header.Set("Slot", "42")
	in, sig, err := Signer{Key: testKey()}.Sign(RequestMessage(r), []string{"slot"})
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Signature-Input", in)
	r.Header.Set("Signature", sig)
	r.Header.Set("Ao-Types", `slot="integer"`)
	v, err := VerifyRequest(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	f, err := DecodeRequest(r.Header, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f["slot"].Kind != Integer {
		t.Fatalf("decoded slot %+v", f["slot"])
	}
	if _, ok := v.Signed(f)["slot"]; ok {
		t.Error("a header typed by an unsigned ao-types counts as signed")
	}
}

// TestMixedCaseHeaders: two spellings of one field are one field, in signatures and in fields alike.
func TestMixedCaseHeaders(t *testing.T) {
	h := http.Header{}
	h.Set("Slot", "1")
	h["slot"] = []string{"2"}
	if err := SignResponse(h, nil, testKey()); err != nil {
		t.Fatal(err)
	}
	if _, err := verifyAt(ResponseMessage(200, h), nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	f, err := DecodeRequest(h, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := f["slot"].Text(); got != "1, 2" {
		t.Errorf("slot %q", got)
	}
}

// TestEd25519: RFC 9421's ed25519 with keyid = the raw 32-byte key; the signer is SHA-256 of the key.
func TestEd25519(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "http://node.test/~meta@1.0/info", nil)
	r.Header.Set("X", "1")
	covered := &InnerList{Items: []Item{{Value: "x"}, {Value: "@path"}}, Params: Params{{Key: "alg", Value: AlgEd25519}, {Key: "keyid", Value: b64url(pub)}}}
	base, params, err := SignatureBase(RequestMessage(r), covered)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Signature-Input", "e="+params)
	r.Header.Set("Signature", "e=:"+b64std(ed25519.Sign(priv, base))+":")
	if signer, err := Verify(r, nil); err != nil || signer != Address(pub) {
		t.Fatalf("signer %q err %v", signer, err)
	}
	r.URL.Path = "/other"
	if _, err := Verify(r, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("changed path: %v", err)
	}
}

// TestHyperBEAMPathBase: a signature over HyperBEAM's base ("@path" written as the path key) verifies when
// the path header is the request's path (with or without its query), and not for another request path.
func TestHyperBEAMPathBase(t *testing.T) {
	for _, target := range []string{"/~meta@1.0/info", "/pid~process@1.0/compute?slot=1"} {
		r := httptest.NewRequest("POST", "http://node.test"+target, nil)
		r.Header.Set("Path", target)
		r.Header.Set("Slot", "1")
		n := testKey().N.Bytes()
		covered := &InnerList{Items: []Item{{Value: "@path"}, {Value: "slot"}}, Params: Params{{Key: "alg", Value: AlgRSAPSSSHA512}, {Key: "keyid", Value: b64url(n)}}}
		base, err := hyperBEAMBase(RequestMessage(r), covered)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(base), `"path": `+target+"\n") {
			t.Fatalf("base %q", base)
		}
		params, _ := SerializeInnerList(covered)
		digest := sha512.Sum512(base)
		sig, err := rsa.SignPSS(rand.Reader, testKey(), crypto.SHA512, digest[:], nil)
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Signature-Input", "hb="+params)
		r.Header.Set("Signature", "hb=:"+b64std(sig)+":")
		v, err := VerifyRequest(r, nil)
		if err != nil {
			t.Fatalf("%s: %v", target, err)
		}
		if !v.Signatures[0].DerivedAsKeys || !v.Signatures[0].CoversKey("path") {
			t.Errorf("signature %+v", v.Signatures[0])
		}
		r.URL.Path, r.URL.RawQuery = "/other", ""
		if _, err := Verify(r, nil); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s sent to another path: %v", target, err)
		}
	}
}

// TestMessageIDTwoSigners: with two keyed signatures the id is SHA-256 of the sorted ids as a structured list.
func TestMessageIDTwoSigners(t *testing.T) {
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "http://node.test/x", nil)
	r.Header.Set("Slot", "1")
	var inputs, sigs []string
	for _, k := range []*rsa.PrivateKey{testKey(), other} {
		in, sig, err := Signer{Key: k}.Sign(RequestMessage(r), []string{"slot"})
		if err != nil {
			t.Fatal(err)
		}
		inputs, sigs = append(inputs, in), append(sigs, sig)
	}
	r.Header.Set("Signature-Input", strings.Join(inputs, ", "))
	r.Header.Set("Signature", strings.Join(sigs, ", "))
	v, err := VerifyRequest(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{v.Signatures[0].CommitmentID(), v.Signatures[1].CommitmentID()}
	if ids[1] < ids[0] {
		ids[0], ids[1] = ids[1], ids[0]
	}
	sum := sha256.Sum256([]byte(`"` + ids[0] + `", "` + ids[1] + `"`))
	if got, want := v.MessageID(), b64url(sum[:]); got != want {
		t.Errorf("id %s, want %s", got, want)
	}
	if v.Signer != Address(testKey().N.Bytes()) {
		t.Errorf("signer %s is not the first signature's", v.Signer)
	}
}

// TestAdapters: the router hooks sign and verify as the functions do.
func TestAdapters(t *testing.T) {
	body := []byte("b")
	r := signedRequest(t, body)
	if signer, err := (Verifier{}).Verify(r, body); err != nil || signer != Address(testKey().N.Bytes()) {
		t.Fatalf("signer %q err %v", signer, err)
	}
	h := http.Header{"Content-Type": {"text/plain"}}
	if err := (ResponseSigner{Key: testKey()}).Sign(h, 200, body); err != nil {
		t.Fatal(err)
	}
	if _, err := verifyAt(ResponseMessage(200, h), body, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := (ResponseSigner{}).Sign(http.Header{}, 200, body); err == nil {
		t.Error("signing without a key succeeded")
	}
}

type fakeWallet struct {
	r *rsa.PrivateKey
	e ed25519.PrivateKey
}

func (w fakeWallet) RSAPrivateKey() *rsa.PrivateKey        { return w.r }
func (w fakeWallet) Ed25519PrivateKey() ed25519.PrivateKey { return w.e }

// TestEd25519Signer: requests and answers signed with an ed25519 node key verify, with the key's address.
func TestEd25519Signer(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key, err := WalletKey(fakeWallet{e: priv})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := WalletKey(fakeWallet{}); err == nil {
		t.Error("a wallet without a key gave one")
	}
	if k, _ := WalletKey(fakeWallet{r: testKey()}); k != crypto.Signer(testKey()) {
		t.Error("an RSA wallet did not give its RSA key")
	}
	want := Address(priv.Public().(ed25519.PublicKey))
	body := []byte("x")
	r := httptest.NewRequest("POST", "http://node.test/", bytes.NewReader(body))
	r.Header.Set("Slot", "1")
	if err := SignRequest(r, body, key); err != nil {
		t.Fatal(err)
	}
	if signer, err := Verify(r, body); err != nil || signer != want {
		t.Fatalf("signer %q err %v", signer, err)
	}
	h := http.Header{"Slot": {"2"}}
	if err := SignResponse(h, body, key); err != nil {
		t.Fatal(err)
	}
	if v, err := verifyAt(ResponseMessage(200, h), body, time.Now()); err != nil || v.Signer != want || v.Signatures[0].Alg != AlgEd25519 {
		t.Fatalf("verified %+v err %v", v, err)
	}
}
