package httpsig

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// Fields is a message as one flat map: key → typed value. Nested messages are flattened to "a/b" keys, as
// HyperBEAM's flat@1.0 codec writes them; keys are lower-case.
type Fields map[string]Value

// Keys returns the keys in sorted order.
func (f Fields) Keys() []string {
	ks := make([]string, 0, len(f))
	for k := range f {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Text returns the text of key and whether it is present (see Value.Text).
func (f Fields) Text(key string) (string, bool) {
	v, ok := f[key]
	return v.Text(), ok
}

// ErrFields is wrapped when a message has more fields than MaxFields.
var ErrFields = errors.New("httpsig: fields")

// MaxFields bounds the keys of one decoded message.
const MaxFields = 1024

// transportHeaders are the header fields of the connection, not of the message: never message keys,
// never covered by SignResponse.
var transportHeaders = map[string]bool{
	"content-length": true, "host": true, "transfer-encoding": true, "connection": true, "keep-alive": true,
	"te": true, "upgrade": true, "expect": true, "accept-encoding": true, "user-agent": true,
	"accept-language": true, "sec-fetch-mode": true, "proxy-connection": true, "trailer": true,
	"signature": true, "signature-input": true,
}

// codecHeaders describe the encoding of the message: signed, but not message keys themselves.
var codecHeaders = map[string]bool{
	"content-digest": true, "ao-types": true, "inline-body-key": true, "body-keys": true,
}

// IsTransportHeader reports whether a header (lower-case) belongs to the connection rather than the message:
// DecodeRequest leaves it out of the fields and SignResponse does not cover it.
func IsTransportHeader(name string) bool { return transportHeaders[name] }

// DecodeRequest turns the header fields and body of a httpsig@1.0 message into its flat fields: every
// header but the transport ones (IsTransportHeader) and the codec's own (content-digest, ao-types,
// inline-body-key, body-keys), typed by ao-types; a multipart/form-data body's parts
// (a part with header lines of its own is a nested message: name/header keys, name/body); any other
// non-empty body under the inline-body-key (default "body"). Bounded by MaxFields, MaxParts and the
// structured-field limits; every error wraps one of ErrSF, ErrTypes, ErrMultipart, ErrFields.
func DecodeRequest(h http.Header, body []byte) (Fields, error) {
	raw := map[string]Value{}
	types := map[string]string{} // full key → type
	typesFromBody := map[string]bool{}
	add := func(key string, v Value) error {
		if len(raw) >= MaxFields {
			return fmt.Errorf("%w: more than %d", ErrFields, MaxFields)
		}
		raw[key] = v
		return nil
	}
	addTypes := func(prefix, header string, fromBody bool) error {
		ts, err := ParseAOTypes(header)
		if err != nil {
			return err
		}
		if len(types)+len(ts) > MaxFields {
			return fmt.Errorf("%w: more than %d typed keys", ErrFields, MaxFields)
		}
		for k, t := range ts {
			types[prefix+k] = t
			typesFromBody[prefix+k] = fromBody
		}
		return nil
	}
	inlineKey := "body"
	contentType := ""
	seen := map[string]bool{}
	for name := range h {
		key := strings.ToLower(name)
		if seen[key] {
			continue
		}
		seen[key] = true
		lines, _ := headerLines(h, key)
		value := joinLines(lines)
		switch key {
		case "ao-types":
			if err := addTypes("", value, false); err != nil {
				return nil, err
			}
			continue
		case "inline-body-key":
			inlineKey = strings.ToLower(value)
			continue
		case "content-type":
			contentType = value
		}
		if transportHeaders[key] || codecHeaders[key] {
			continue
		}
		if err := add(key, Value{Kind: Binary, Bytes: []byte(value)}); err != nil {
			return nil, err
		}
	}
	if len(body) > 0 {
		boundary, err := Boundary(contentType)
		if err != nil {
			return nil, err
		}
		if boundary == "" {
			if err := add(inlineKey, Value{Kind: Binary, Bytes: body, FromBody: true}); err != nil {
				return nil, err
			}
		} else {
			delete(raw, "content-type") // it described the multipart body, not the message
			parts, err := ParseMultipart(body, boundary)
			if err != nil {
				return nil, err
			}
			for _, p := range parts {
				name := strings.ToLower(p.Name)
				if p.Inline {
					name = inlineKey
				}
				if len(p.Header) == 0 {
					if strings.HasSuffix(name, "/ao-types") || name == "ao-types" {
						if err := addTypes(strings.TrimSuffix(name, "ao-types"), string(p.Body), true); err != nil {
							return nil, err
						}
						continue
					}
					if err := add(name, Value{Kind: Binary, Bytes: p.Body, FromBody: true}); err != nil {
						return nil, err
					}
					continue
				}
				for hk, hv := range p.Header {
					if hk == "ao-types" {
						if err := addTypes(name+"/", hv, true); err != nil {
							return nil, err
						}
						continue
					}
					if err := add(name+"/"+hk, Value{Kind: Binary, Bytes: []byte(hv), FromBody: true}); err != nil {
						return nil, err
					}
				}
				if len(p.Body) > 0 {
					if err := add(name+"/body", Value{Kind: Binary, Bytes: p.Body, FromBody: true}); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	out := make(Fields, len(raw))
	for k, v := range raw {
		t, ok := types[k]
		if !ok || t == "binary" {
			out[k] = v
			continue
		}
		dv, err := DecodeValue(t, v.Bytes)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k, err)
		}
		dv.FromBody = v.FromBody
		out[k] = dv
	}
	for k, t := range types {
		if _, ok := out[k]; ok {
			continue
		}
		if v, ok := emptyValue(t); ok {
			if len(out) >= MaxFields {
				return nil, fmt.Errorf("%w: more than %d", ErrFields, MaxFields)
			}
			v.FromBody = typesFromBody[k]
			out[k] = v
		}
	}
	return out, nil
}
