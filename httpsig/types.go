package httpsig

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Kind is the type of a field value as HyperBEAM's structured@1.0 codec names it in ao-types.
type Kind uint8

// Kinds of value. A plain header or part is Binary; the others are declared in ao-types.
const (
	Binary  Kind = iota // bytes (ao-types "binary", or no type; "empty-binary" is an empty Binary)
	Integer             // "integer"
	Float               // "float"
	Atom                // "atom": a symbol such as true, false, null or a name
	List                // "list" and "empty-list"
	Map                 // "empty-message": a nested message with no keys (non-empty ones are flat keys a/b)
)

func (k Kind) String() string {
	switch k {
	case Binary:
		return "binary"
	case Integer:
		return "integer"
	case Float:
		return "float"
	case Atom:
		return "atom"
	case List:
		return "list"
	case Map:
		return "message"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is one typed field value.
type Value struct {
	Kind  Kind
	Bytes []byte // Binary; the name of an Atom
	Int   int64
	Float float64
	List  []Value
	// FromBody is set for values read from the body (a multipart part or the inline body), which only the
	// Content-Digest binds to a signature.
	FromBody bool
}

// Text is the value as a tag value would carry it: the bytes, the number in decimal, the atom's name.
// Lists and messages have no text form ("").
func (v Value) Text() string {
	switch v.Kind {
	case Binary, Atom:
		return string(v.Bytes)
	case Integer:
		return strconv.FormatInt(v.Int, 10)
	case Float:
		return strconv.FormatFloat(v.Float, 'g', -1, 64)
	}
	return ""
}

// MarshalJSON writes the value as json@1.0 would: text as a string (base64 when not UTF-8), numbers as
// numbers, atoms true/false/null as themselves, lists as arrays, an empty message as {}.
func (v Value) MarshalJSON() ([]byte, error) {
	switch v.Kind {
	case Binary:
		if utf8.Valid(v.Bytes) {
			return json.Marshal(string(v.Bytes))
		}
		return json.Marshal(base64.RawURLEncoding.EncodeToString(v.Bytes))
	case Integer:
		return json.Marshal(v.Int)
	case Float:
		return json.Marshal(v.Float)
	case Atom:
		switch s := string(v.Bytes); s {
		case "true", "false", "null":
			return []byte(s), nil
		}
		return json.Marshal(string(v.Bytes))
	case List:
		if v.List == nil {
			return []byte("[]"), nil
		}
		return json.Marshal(v.List)
	case Map:
		return []byte("{}"), nil
	}
	return nil, fmt.Errorf("httpsig: value of kind %v", v.Kind)
}

// ErrTypes is wrapped by ao-types errors.
var ErrTypes = errors.New("httpsig: ao-types")

const (
	maxListItems = 1024 // items of one list value
	maxListDepth = 4    // lists inside lists
)

// ParseAOTypes reads an ao-types header: a dictionary of key → type name. Keys come back lower-case with
// HyperBEAM's percent-escapes undone.
func ParseAOTypes(s string) (map[string]string, error) {
	d, err := ParseDictionary(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTypes, err)
	}
	out := make(map[string]string, len(d))
	for _, e := range d {
		var t string
		switch x := e.Member.Item.Value.(type) {
		case string:
			t = x
		case Token:
			t = string(x)
		default:
			return nil, fmt.Errorf("%w: type of %q is not a string", ErrTypes, e.Key)
		}
		if e.Member.List != nil {
			return nil, fmt.Errorf("%w: type of %q is a list", ErrTypes, e.Key)
		}
		key := e.Key
		if strings.Contains(key, "%") {
			if k, err := url.PathUnescape(key); err == nil {
				key = k
			}
		}
		out[strings.ToLower(key)] = strings.ToLower(t)
	}
	return out, nil
}

// emptyValue is the value an empty-* type declares (the key has no header or part of its own).
func emptyValue(t string) (Value, bool) {
	switch t {
	case "empty-binary":
		return Value{Kind: Binary, Bytes: []byte{}}, true
	case "empty-list":
		return Value{Kind: List, List: []Value{}}, true
	case "empty-message":
		return Value{Kind: Map}, true
	}
	return Value{}, false
}

// DecodeValue decodes raw as the ao-types type t.
func DecodeValue(t string, raw []byte) (Value, error) {
	return decodeValue(t, raw, 0)
}

func decodeValue(t string, raw []byte, depth int) (Value, error) {
	text := strings.TrimSpace(string(raw))
	switch t {
	case "binary", "":
		return Value{Kind: Binary, Bytes: raw}, nil
	case "integer":
		// HyperBEAM writes a structured-field integer; @permaweb/ao-core-libs writes JavaScript's text.
		if it, err := ParseItem(text); err == nil {
			if n, ok := it.Value.(int64); ok {
				return Value{Kind: Integer, Int: n}, nil
			}
		}
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return Value{}, fmt.Errorf("%w: %q is not an integer", ErrTypes, text)
		}
		return Value{Kind: Integer, Int: n}, nil
	case "float":
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return Value{}, fmt.Errorf("%w: %q is not a float", ErrTypes, text)
		}
		return Value{Kind: Float, Float: f}, nil
	case "atom":
		// HyperBEAM writes a structured-field string; ao-core-libs the bare name.
		if it, err := ParseItem(text); err == nil {
			switch s := it.Value.(type) {
			case string:
				return Value{Kind: Atom, Bytes: []byte(s)}, nil
			case Token:
				return Value{Kind: Atom, Bytes: []byte(s)}, nil
			}
		}
		return Value{Kind: Atom, Bytes: []byte(text)}, nil
	case "list":
		return decodeList(text, depth)
	case "empty-binary", "empty-list", "empty-message":
		v, _ := emptyValue(t)
		return v, nil
	}
	return Value{}, fmt.Errorf("%w: unsupported type %q", ErrTypes, t)
}

// decodeList reads a list value: HyperBEAM's structured-field list whose items are bare values or strings
// "(ao-type-T) V", or @permaweb/ao-core-libs' unquoted "(ao-type-T) V,(ao-type-T) V".
func decodeList(text string, depth int) (Value, error) {
	if depth >= maxListDepth {
		return Value{}, fmt.Errorf("%w: lists nested deeper than %d", ErrTypes, maxListDepth)
	}
	out := Value{Kind: List, List: []Value{}}
	if text == "" {
		return out, nil
	}
	members, err := ParseList(text)
	if err != nil {
		items, ok := splitLooseList(text)
		if !ok {
			return Value{}, fmt.Errorf("%w: list: %v", ErrTypes, err)
		}
		for _, s := range items {
			v, err := decodeListItem(s, depth)
			if err != nil {
				return Value{}, err
			}
			out.List = append(out.List, v)
		}
		return out, nil
	}
	if len(members) > maxListItems {
		return Value{}, fmt.Errorf("%w: list of more than %d items", ErrTypes, maxListItems)
	}
	for _, m := range members {
		if m.List != nil {
			return Value{}, fmt.Errorf("%w: inner lists are not list items", ErrTypes)
		}
		var v Value
		switch x := m.Item.Value.(type) {
		case string:
			if v, err = decodeListItem(x, depth); err != nil {
				return Value{}, err
			}
		case Token:
			v = Value{Kind: Binary, Bytes: []byte(x)}
		case int64:
			v = Value{Kind: Integer, Int: x}
		case float64:
			v = Value{Kind: Float, Float: x}
		case []byte:
			v = Value{Kind: Binary, Bytes: x}
		case bool:
			v = Value{Kind: Atom, Bytes: []byte(strconv.FormatBool(x))}
		}
		out.List = append(out.List, v)
	}
	return out, nil
}

const aoTypePrefix = "(ao-type-"

func decodeListItem(s string, depth int) (Value, error) {
	if !strings.HasPrefix(s, aoTypePrefix) {
		return Value{Kind: Binary, Bytes: []byte(s)}, nil
	}
	rest := s[len(aoTypePrefix):]
	t, v, ok := strings.Cut(rest, ") ")
	if !ok {
		if t, ok = strings.CutSuffix(rest, ")"); !ok { // "(ao-type-empty-binary)" has no value
			return Value{}, fmt.Errorf("%w: list item %q", ErrTypes, s)
		}
	}
	return decodeValue(strings.ToLower(t), []byte(v), depth+1)
}

// splitLooseList splits ao-core-libs' unquoted list at each ",(ao-type-"; every item must carry a type.
func splitLooseList(text string) ([]string, bool) {
	if !strings.HasPrefix(text, aoTypePrefix) {
		return nil, false
	}
	items := strings.Split(text, ","+aoTypePrefix)
	if len(items) > maxListItems {
		return nil, false
	}
	for i := 1; i < len(items); i++ {
		items[i] = aoTypePrefix + items[i]
	}
	return items, true
}
