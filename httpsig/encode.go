package httpsig

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// MaxHeaderValue is the largest value EncodeFields writes as a header (HyperBEAM's limit); larger ones, and
// values a header cannot carry (line breaks, control or non-ASCII bytes, edge spaces), go to the body.
const MaxHeaderValue = 4096

// EncodeValue returns the ao-types type name of v ("" for a plain binary) and its text, as HyperBEAM's
// structured@1.0 codec writes them.
func EncodeValue(v Value) (typ, text string, err error) {
	switch v.Kind {
	case Binary:
		if len(v.Bytes) == 0 {
			return "empty-binary", "", nil
		}
		return "", string(v.Bytes), nil
	case Integer:
		return "integer", strconv.FormatInt(v.Int, 10), nil
	case Float:
		return "float", strconv.FormatFloat(v.Float, 'g', -1, 64), nil
	case Atom:
		var b strings.Builder
		if err := SerializeBare(&b, string(v.Bytes)); err != nil {
			return "", "", fmt.Errorf("%w: atom: %v", ErrTypes, err)
		}
		return "atom", b.String(), nil
	case List:
		if len(v.List) == 0 {
			return "empty-list", "", nil
		}
		text, err := encodeList(v.List, 0)
		return "list", text, err
	case Map:
		return "empty-message", "", nil
	}
	return "", "", fmt.Errorf("%w: kind %v", ErrTypes, v.Kind)
}

func encodeList(items []Value, depth int) (string, error) {
	if depth >= maxListDepth {
		return "", fmt.Errorf("%w: lists nested deeper than %d", ErrTypes, maxListDepth)
	}
	if len(items) > maxListItems {
		return "", fmt.Errorf("%w: list of more than %d items", ErrTypes, maxListItems)
	}
	ms := make([]Member, len(items))
	for i, it := range items {
		var s string
		switch {
		case it.Kind == Binary && len(it.Bytes) > 0:
			s = string(it.Bytes)
			if strings.HasPrefix(s, aoTypePrefix) { // keep a binary that looks typed a binary
				s = aoTypePrefix + "binary) " + s
			}
		case it.Kind == List && len(it.List) > 0:
			inner, err := encodeList(it.List, depth+1)
			if err != nil {
				return "", err
			}
			s = aoTypePrefix + "list) " + inner
		default:
			t, text, err := EncodeValue(it)
			if err != nil {
				return "", err
			}
			s = aoTypePrefix + t + ")"
			if text != "" {
				s += " " + text
			}
		}
		ms[i] = Member{Item: Item{Value: s}}
	}
	out, err := SerializeList(ms)
	if err != nil {
		return "", fmt.Errorf("%w: list: %v", ErrTypes, err)
	}
	return out, nil
}

// headerSafe reports whether a value can be a header value unchanged: printable ASCII, at most
// MaxHeaderValue bytes, no leading or trailing space (HTTP trims it).
func headerSafe(s string) bool {
	if len(s) > MaxHeaderValue || (s != "" && (s[0] == ' ' || s[len(s)-1] == ' ')) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// headerKey reports whether a key can be a header name: an RFC 9110 token, and no "/" (nested keys go to
// the body, as HyperBEAM writes them).
func headerKey(k string) bool {
	if k == "" || k != strings.ToLower(k) {
		return false
	}
	for i := 0; i < len(k); i++ {
		if !isTChar(k[i]) {
			return false
		}
	}
	return !transportHeaders[k] && !codecHeaders[k] && k != "content-type" && k != "body"
}

// EncodeFields writes fields as a httpsig@1.0 message, the inverse of DecodeRequest: small values as
// headers in h, their types in ao-types, the rest as the body: raw (named by inline-body-key unless the key
// is "body") when it is one value, else multipart/form-data as HyperBEAM writes it (parts sorted by name,
// boundary = base64url(SHA-256(parts joined by CRLF)), a body-keys header naming them). It returns the body
// and sets Content-Type for a multipart body; sign afterwards with SignResponse.
func EncodeFields(h http.Header, f Fields) ([]byte, error) {
	if len(f) > MaxFields {
		return nil, fmt.Errorf("%w: more than %d", ErrFields, MaxFields)
	}
	types := Dictionary{}
	type bodyValue struct{ key, text string }
	var inBody []bodyValue
	for _, k := range f.Keys() {
		if !validKey(k) {
			return nil, fmt.Errorf("%w: key %q: keys are 1–%d lower-case printable ASCII bytes without spaces", ErrFields, k, maxKeyLen)
		}
		if codecHeaders[k] || k == "signature" || k == "signature-input" || strings.HasSuffix(k, "/ao-types") {
			return nil, fmt.Errorf("%w: key %q is the codec's own", ErrFields, k)
		}
		t, text, err := EncodeValue(f[k])
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k, err)
		}
		if t != "" {
			if checkKey(k) != nil {
				return nil, fmt.Errorf("%w: key %q cannot be named in ao-types", ErrTypes, k)
			}
			types = append(types, DictEntry{Key: k, Member: Member{Item: Item{Value: t}}})
			if strings.HasPrefix(t, "empty-") {
				continue // the type alone carries the value
			}
		}
		if headerKey(k) && headerSafe(text) {
			h.Set(k, text)
			continue
		}
		inBody = append(inBody, bodyValue{k, text})
	}
	if len(types) > 0 {
		s, err := SerializeDictionary(types)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrTypes, err)
		}
		h.Set("ao-types", s)
	}
	switch len(inBody) {
	case 0:
		return nil, nil
	case 1:
		if inBody[0].key != "body" {
			h.Set("inline-body-key", inBody[0].key)
		}
		return []byte(inBody[0].text), nil
	}
	if len(inBody) > MaxParts {
		return nil, fmt.Errorf("%w: %d parts, at most %d", ErrMultipart, len(inBody), MaxParts)
	}
	sort.Slice(inBody, func(i, j int) bool { return inBody[i].key < inBody[j].key })
	parts := make([][]byte, len(inBody))
	names := make([]Member, len(inBody))
	hash := sha256.New()
	for i, bv := range inBody {
		var name strings.Builder
		if err := SerializeBare(&name, bv.key); err != nil {
			return nil, fmt.Errorf("%w: part name %q: %v", ErrMultipart, bv.key, err)
		}
		parts[i] = []byte("content-disposition: form-data;name=" + name.String() + "\r\n\r\n" + bv.text)
		names[i] = Member{Item: Item{Value: bv.key}}
		// HyperBEAM's boundary: SHA-256 of the parts joined by CRLF, base64url.
		if i > 0 {
			hash.Write([]byte("\r\n"))
		}
		hash.Write(parts[i])
	}
	boundary := base64.RawURLEncoding.EncodeToString(hash.Sum(nil))
	bodyKeys, err := SerializeList(names)
	if err != nil {
		return nil, fmt.Errorf("%w: body-keys: %v", ErrMultipart, err)
	}
	h.Set("body-keys", bodyKeys)
	var body bytes.Buffer
	for _, p := range parts {
		if bytes.Contains(p, []byte("--"+boundary)) {
			return nil, fmt.Errorf("%w: a part holds its own boundary", ErrMultipart)
		}
		body.WriteString("--" + boundary + "\r\n")
		body.Write(p)
		body.WriteString("\r\n")
	}
	body.WriteString("--" + boundary + "--")
	h.Set("Content-Type", `multipart/form-data; boundary="`+boundary+`"`)
	return body.Bytes(), nil
}

const maxKeyLen = 256

// validKey: what DecodeRequest gives back unchanged from a header name, a part name or inline-body-key.
func validKey(k string) bool {
	if k == "" || len(k) > maxKeyLen || k != strings.ToLower(k) {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] <= 0x20 || k[i] > 0x7e {
			return false
		}
	}
	return true
}
