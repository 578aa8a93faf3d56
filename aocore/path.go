package aocore

import (
	"fmt"
	"net/url"
	"strings"
)

// Limits of the path parser: a path within them costs a bounded amount of memory and time, whatever it holds.
const (
	MaxPathBytes = 8 << 10 // the escaped path and query together
	MaxSegments  = 32      // messages in one path, sub-paths included
	MaxParams    = 64      // k=v pairs in one path, query included
	MaxDepth     = 4       // nesting of (…) sub-paths
)

// Path is a parsed AO-Core request path: the messages applied left to right, and the query string's keys, which
// HyperBEAM applies to every message (hb_singleton).
type Path struct {
	Segments []Segment
	Query    []Param
}

// Segment is one message of a path: `key`, `key=value`, `key~device@ver`, `~device@ver` or `(sub/path)`, each
// optionally followed by `&k=v` parameters.
type Segment struct {
	Key      string // the key applied (or the base message's id in the first segment); "" for a bare ~device
	Value    string // with HasValue: the inline value of `key=value` (compute/results=5, as=execution)
	HasValue bool
	Device   string // "process@1.0" for `~process@1.0`; "" when the segment names none
	Params   []Param
	Sub      *Path // a `(…)` segment: a sub-resolution
}

// Param is one `k=v` (or `k+type=v`) of a segment or of the query string.
type Param struct {
	Key   string // as sent: AO-Core keys compare case-insensitively (see Param.Is), tag names keep their case
	Type  string // the `+type` annotation ("integer", "list", …), "" when untyped
	Value string
	Sub   *Path // a `k=(…)` value: a sub-resolution
}

// Is reports whether p's key is key, ignoring case as HyperBEAM does.
func (p Param) Is(key string) bool { return strings.EqualFold(p.Key, key) }

// Get returns the value of the segment's first parameter named key (case-insensitively).
func (s Segment) Get(key string) (string, bool) {
	for _, p := range s.Params {
		if p.Is(key) {
			return p.Value, true
		}
	}
	return "", false
}

// PathError is a path the parser refuses: answered 400 with its text.
type PathError struct{ Reason string }

func (e *PathError) Error() string { return "malformed AO-Core path: " + e.Reason }

func pathErr(format string, args ...any) error {
	return &PathError{Reason: fmt.Sprintf(format, args...)}
}

// ParsePath parses an escaped URL path and raw query (as r.URL.EscapedPath() and r.URL.RawQuery give them).
// Separators are found in the escaped text, so %2F, %26, %3D, %7E and %28 inside a key or value stay data.
// It is pure and bounded by the limits above.
func ParsePath(escapedPath, rawQuery string) (*Path, error) {
	if len(escapedPath)+len(rawQuery) > MaxPathBytes {
		return nil, pathErr("over %d bytes", MaxPathBytes)
	}
	st := &parseState{}
	p, err := st.parse(strings.TrimPrefix(escapedPath, "/"), 0)
	if err != nil {
		return nil, err
	}
	if rawQuery != "" {
		for _, kv := range strings.Split(rawQuery, "&") {
			if kv == "" {
				continue
			}
			prm, err := st.param(kv, 0, true)
			if err != nil {
				return nil, err
			}
			p.Query = append(p.Query, prm)
		}
	}
	return p, nil
}

type parseState struct{ segments, params int }

// splitTop splits s at sep outside parentheses; an unbalanced parenthesis is an error.
func splitTop(s string, sep byte) ([]string, error) {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth < 0 {
				return nil, pathErr("unbalanced ')' at byte %d", i)
			}
		case sep:
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	if depth != 0 {
		return nil, pathErr("unbalanced '('")
	}
	return append(out, s[start:]), nil
}

func (st *parseState) parse(s string, depth int) (*Path, error) {
	if depth > MaxDepth {
		return nil, pathErr("sub-paths nested deeper than %d", MaxDepth)
	}
	if depth > 0 {
		s = strings.TrimPrefix(s, "/") // (/a/b) and (a/b) are the same sub-path
	}
	parts, err := splitTop(s, '/')
	if err != nil {
		return nil, err
	}
	p := &Path{}
	for i, part := range parts {
		if part == "" {
			if i == len(parts)-1 && i > 0 {
				continue // a trailing slash
			}
			if len(parts) == 1 {
				break // the root path
			}
			return nil, pathErr("empty segment")
		}
		seg, err := st.segment(part, depth)
		if err != nil {
			return nil, err
		}
		p.Segments = append(p.Segments, seg)
	}
	return p, nil
}

func (st *parseState) segment(part string, depth int) (Segment, error) {
	st.segments++
	if st.segments > MaxSegments {
		return Segment{}, pathErr("more than %d segments", MaxSegments)
	}
	fields, err := splitTop(part, '&')
	if err != nil {
		return Segment{}, err
	}
	var seg Segment
	head := fields[0]
	if strings.HasPrefix(head, "(") {
		if !strings.HasSuffix(head, ")") {
			return Segment{}, pathErr("text after a (…) sub-path in %q", head)
		}
		if seg.Sub, err = st.parse(head[1:len(head)-1], depth+1); err != nil {
			return Segment{}, err
		}
	} else {
		if strings.ContainsAny(head, "()") {
			return Segment{}, pathErr("a parenthesis inside %q", head)
		}
		key := head
		if i := strings.IndexByte(head, '~'); i >= 0 {
			key = head[:i]
			dev, err := unescape(head[i+1:])
			if err != nil {
				return Segment{}, err
			}
			if err := checkDevice(dev); err != nil {
				return Segment{}, err
			}
			seg.Device = strings.ToLower(dev)
		}
		if i := strings.IndexByte(key, '='); i >= 0 {
			seg.HasValue = true
			if seg.Value, err = unescape(key[i+1:]); err != nil {
				return Segment{}, err
			}
			key = key[:i]
		}
		if seg.Key, err = unescape(key); err != nil {
			return Segment{}, err
		}
		if seg.Key == "" && seg.Device == "" {
			return Segment{}, pathErr("segment %q names no key and no device", head)
		}
	}
	for _, f := range fields[1:] {
		if f == "" {
			continue
		}
		prm, err := st.param(f, depth, false)
		if err != nil {
			return Segment{}, err
		}
		seg.Params = append(seg.Params, prm)
	}
	return seg, nil
}

func (st *parseState) param(f string, depth int, query bool) (Param, error) {
	st.params++
	if st.params > MaxParams {
		return Param{}, pathErr("more than %d parameters", MaxParams)
	}
	var prm Param
	k, v, _ := strings.Cut(f, "=")
	if k == "" {
		return Param{}, pathErr("parameter %q has no key", f)
	}
	var err error
	if strings.HasPrefix(v, "(") && strings.HasSuffix(v, ")") && !query {
		if prm.Sub, err = st.parse(v[1:len(v)-1], depth+1); err != nil {
			return Param{}, err
		}
	} else if prm.Value, err = unescape(v); err != nil {
		return Param{}, err
	}
	if i := strings.LastIndexByte(k, '+'); i > 0 {
		if prm.Type, err = unescape(k[i+1:]); err != nil {
			return Param{}, err
		}
		prm.Type = strings.ToLower(prm.Type)
		k = k[:i]
		if prm.Type == "" {
			return Param{}, pathErr("parameter %q has an empty +type", f)
		}
	}
	if prm.Key, err = unescape(k); err != nil {
		return Param{}, err
	}
	return prm, nil
}

func unescape(s string) (string, error) {
	u, err := url.PathUnescape(s)
	if err != nil {
		return "", pathErr("bad escape in %q", s)
	}
	return u, nil
}

// checkDevice accepts `name@version` with a non-empty name and version of visible ASCII.
func checkDevice(dev string) error {
	name, ver, ok := strings.Cut(dev, "@")
	if !ok || name == "" || ver == "" {
		return pathErr("device %q is not name@version", dev)
	}
	for i := 0; i < len(dev); i++ {
		if c := dev[i]; c <= ' ' || c >= 0x7f || c == '/' {
			return pathErr("device %q has a character outside visible ASCII", dev)
		}
	}
	return nil
}

// String renders the path back in the grammar (escaped as needed), for error messages and tests.
func (p *Path) String() string {
	var b strings.Builder
	for _, s := range p.Segments {
		b.WriteByte('/')
		s.write(&b)
	}
	if len(p.Segments) == 0 {
		b.WriteByte('/')
	}
	for i, q := range p.Query {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(escape(q.Key))
		if q.Type != "" {
			b.WriteString("+" + escape(q.Type))
		}
		b.WriteString("=" + escape(q.Value))
	}
	return b.String()
}

func (s Segment) write(b *strings.Builder) {
	if s.Sub != nil {
		b.WriteString("(" + strings.TrimPrefix(s.Sub.String(), "/") + ")")
	} else {
		b.WriteString(escape(s.Key))
		if s.HasValue {
			b.WriteString("=" + escape(s.Value))
		}
		if s.Device != "" {
			b.WriteString("~" + escape(s.Device))
		}
	}
	for _, p := range s.Params {
		b.WriteString("&" + escape(p.Key))
		if p.Type != "" {
			b.WriteString("+" + escape(p.Type))
		}
		b.WriteByte('=')
		if p.Sub != nil {
			b.WriteString("(" + strings.TrimPrefix(p.Sub.String(), "/") + ")")
		} else {
			b.WriteString(escape(p.Value))
		}
	}
}

// escape escapes s as a path piece, including the grammar's separators.
func escape(s string) string {
	e := url.PathEscape(s)
	r := strings.NewReplacer("&", "%26", "=", "%3D", "~", "%7E", "(", "%28", ")", "%29", "+", "%2B", "?", "%3F")
	return r.Replace(e)
}
