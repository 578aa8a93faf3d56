package httpsig

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Structured field values (RFC 9651, the successor of RFC 8941): the subset signatures and ao-types use.
// Bare items are int64 (Integer), float64 (Decimal), string (String), Token, []byte (Byte Sequence) and bool.
// Dates and display strings are refused with a clear error: nothing in the httpsig profile sends them.

// Token is a structured-field token (an unquoted word such as form-data or sha-256).
type Token string

// Param is one parameter of an item or inner list; parameters keep their order.
type Param struct {
	Key   string
	Value any
}

// Params is an ordered parameter list.
type Params []Param

// Get returns the value of the parameter key and whether it is present.
func (ps Params) Get(key string) (any, bool) {
	for _, p := range ps {
		if p.Key == key {
			return p.Value, true
		}
	}
	return nil, false
}

// String returns the parameter's value when it is a String or Token.
func (ps Params) String(key string) (string, bool) {
	v, ok := ps.Get(key)
	if !ok {
		return "", false
	}
	switch s := v.(type) {
	case string:
		return s, true
	case Token:
		return string(s), true
	}
	return "", false
}

// Item is a bare item with parameters.
type Item struct {
	Value  any
	Params Params
}

// InnerList is a parenthesised list of items with parameters.
type InnerList struct {
	Items  []Item
	Params Params
}

// Member is one list or dictionary member: an item, or an inner list when List is set.
type Member struct {
	Item Item
	List *InnerList
}

// DictEntry is one dictionary member; dictionaries keep their order.
type DictEntry struct {
	Key    string
	Member Member
}

// Dictionary is an ordered structured-field dictionary.
type Dictionary []DictEntry

// Get returns the member under key (the last one, as RFC 9651 says for duplicates).
func (d Dictionary) Get(key string) (Member, bool) {
	for i := len(d) - 1; i >= 0; i-- {
		if d[i].Key == key {
			return d[i].Member, true
		}
	}
	return Member{}, false
}

// Bounds of the parser: a header value is at most a few KiB in practice; these keep a hostile one cheap.
const (
	maxSFLen     = 64 << 10 // bytes of one field value
	maxSFMembers = 1024     // members of a list or dictionary, items of an inner list
	maxSFParams  = 64       // parameters of one item or inner list
)

// ErrSF is wrapped by every structured-field parse error.
var ErrSF = errors.New("structured field")

type sfParser struct {
	s   string
	pos int
}

func (p *sfParser) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s at offset %d", ErrSF, fmt.Sprintf(format, args...), p.pos)
}

func newSFParser(s string) (*sfParser, error) {
	if len(s) > maxSFLen {
		return nil, fmt.Errorf("%w: value of %d bytes exceeds %d", ErrSF, len(s), maxSFLen)
	}
	p := &sfParser{s: s}
	p.skipSP()
	return p, nil
}

func (p *sfParser) eof() bool { return p.pos >= len(p.s) }

func (p *sfParser) peek() byte {
	if p.eof() {
		return 0
	}
	return p.s[p.pos]
}

func (p *sfParser) skipSP() {
	for !p.eof() && p.s[p.pos] == ' ' {
		p.pos++
	}
}

func (p *sfParser) skipOWS() {
	for !p.eof() && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t') {
		p.pos++
	}
}

func (p *sfParser) end() error {
	p.skipSP()
	if !p.eof() {
		return p.errorf("trailing characters")
	}
	return nil
}

// ParseItem parses a structured-field item.
func ParseItem(s string) (Item, error) {
	p, err := newSFParser(s)
	if err != nil {
		return Item{}, err
	}
	it, err := p.item()
	if err != nil {
		return Item{}, err
	}
	return it, p.end()
}

// ParseList parses a structured-field list.
func ParseList(s string) ([]Member, error) {
	p, err := newSFParser(s)
	if err != nil {
		return nil, err
	}
	var out []Member
	for !p.eof() {
		if len(out) == maxSFMembers {
			return nil, p.errorf("more than %d members", maxSFMembers)
		}
		m, err := p.member()
		if err != nil {
			return nil, err
		}
		out = append(out, m)
		if done, err := p.next(); err != nil || done {
			return out, err
		}
	}
	return out, nil
}

// ParseDictionary parses a structured-field dictionary.
func ParseDictionary(s string) (Dictionary, error) {
	p, err := newSFParser(s)
	if err != nil {
		return nil, err
	}
	var out Dictionary
	for !p.eof() {
		if len(out) == maxSFMembers {
			return nil, p.errorf("more than %d members", maxSFMembers)
		}
		key, err := p.key()
		if err != nil {
			return nil, err
		}
		var m Member
		if p.peek() == '=' {
			p.pos++
			if m, err = p.member(); err != nil {
				return nil, err
			}
		} else {
			params, err := p.params()
			if err != nil {
				return nil, err
			}
			m = Member{Item: Item{Value: true, Params: params}}
		}
		out = append(out, DictEntry{Key: key, Member: m})
		if done, err := p.next(); err != nil || done {
			return out, err
		}
	}
	return out, nil
}

// next consumes the separator after a list or dictionary member; done reports the end of the input.
func (p *sfParser) next() (done bool, err error) {
	p.skipOWS()
	if p.eof() {
		return true, nil
	}
	if p.peek() != ',' {
		return false, p.errorf("expected a comma")
	}
	p.pos++
	p.skipOWS()
	if p.eof() {
		return false, p.errorf("trailing comma")
	}
	return false, nil
}

func (p *sfParser) member() (Member, error) {
	if p.peek() == '(' {
		l, err := p.innerList()
		return Member{List: l}, err
	}
	it, err := p.item()
	return Member{Item: it}, err
}

func (p *sfParser) innerList() (*InnerList, error) {
	p.pos++ // (
	l := &InnerList{}
	for !p.eof() {
		p.skipSP()
		if p.peek() == ')' {
			p.pos++
			params, err := p.params()
			if err != nil {
				return nil, err
			}
			l.Params = params
			return l, nil
		}
		if len(l.Items) == maxSFMembers {
			return nil, p.errorf("more than %d inner-list items", maxSFMembers)
		}
		it, err := p.item()
		if err != nil {
			return nil, err
		}
		l.Items = append(l.Items, it)
		if c := p.peek(); c != ' ' && c != ')' {
			return nil, p.errorf("expected a space or ) after an inner-list item")
		}
	}
	return nil, p.errorf("unterminated inner list")
}

func (p *sfParser) item() (Item, error) {
	v, err := p.bareItem()
	if err != nil {
		return Item{}, err
	}
	params, err := p.params()
	return Item{Value: v, Params: params}, err
}

func (p *sfParser) params() (Params, error) {
	var ps Params
	for p.peek() == ';' {
		p.pos++
		p.skipSP()
		if len(ps) == maxSFParams {
			return nil, p.errorf("more than %d parameters", maxSFParams)
		}
		key, err := p.key()
		if err != nil {
			return nil, err
		}
		var v any = true
		if p.peek() == '=' {
			p.pos++
			if v, err = p.bareItem(); err != nil {
				return nil, err
			}
		}
		// A repeated key overwrites the earlier value in place (RFC 9651 §4.2.3.2).
		replaced := false
		for i := range ps {
			if ps[i].Key == key {
				ps[i].Value, replaced = v, true
			}
		}
		if !replaced {
			ps = append(ps, Param{Key: key, Value: v})
		}
	}
	return ps, nil
}

func isLCAlpha(c byte) bool { return c >= 'a' && c <= 'z' }
func isDigit(c byte) bool   { return c >= '0' && c <= '9' }
func isAlpha(c byte) bool   { return isLCAlpha(c) || (c >= 'A' && c <= 'Z') }

func isKeyChar(c byte) bool {
	return isLCAlpha(c) || isDigit(c) || c == '_' || c == '-' || c == '.' || c == '*'
}

// isTChar is RFC 9110's tchar.
func isTChar(c byte) bool {
	if isAlpha(c) || isDigit(c) {
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func (p *sfParser) key() (string, error) {
	c := p.peek()
	if !isLCAlpha(c) && c != '*' {
		return "", p.errorf("a key must start with a lower-case letter or *")
	}
	start := p.pos
	for !p.eof() && isKeyChar(p.s[p.pos]) {
		p.pos++
	}
	return p.s[start:p.pos], nil
}

func (p *sfParser) bareItem() (any, error) {
	c := p.peek()
	switch {
	case c == '-' || isDigit(c):
		return p.number()
	case c == '"':
		return p.str()
	case c == ':':
		return p.bytes()
	case c == '?':
		return p.boolean()
	case isAlpha(c) || c == '*':
		return p.token(), nil
	case c == '@':
		return nil, p.errorf("dates are not supported")
	case c == '%':
		return nil, p.errorf("display strings are not supported")
	case p.eof():
		return nil, p.errorf("unexpected end of input")
	}
	return nil, p.errorf("unexpected character %q", c)
}

func (p *sfParser) number() (any, error) {
	start := p.pos
	if p.peek() == '-' {
		p.pos++
	}
	if !isDigit(p.peek()) {
		return nil, p.errorf("expected a digit")
	}
	digits, dot := 0, -1
	for !p.eof() {
		c := p.s[p.pos]
		if isDigit(c) {
			digits++
		} else if c == '.' && dot < 0 {
			if digits > 12 {
				return nil, p.errorf("decimal with more than 12 integer digits")
			}
			dot = digits
		} else {
			break
		}
		p.pos++
		if dot < 0 && digits > 15 {
			return nil, p.errorf("integer with more than 15 digits")
		}
		if dot >= 0 && digits > 15 {
			return nil, p.errorf("decimal with more than 15 digits")
		}
	}
	text := p.s[start:p.pos]
	if dot < 0 {
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return nil, p.errorf("integer %q: %v", text, err)
		}
		return n, nil
	}
	if frac := digits - dot; frac == 0 || frac > 3 {
		return nil, p.errorf("decimal %q needs 1 to 3 fractional digits", text)
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return nil, p.errorf("decimal %q: %v", text, err)
	}
	return f, nil
}

func (p *sfParser) str() (string, error) {
	p.pos++ // "
	var b strings.Builder
	for !p.eof() {
		c := p.s[p.pos]
		p.pos++
		switch {
		case c == '\\':
			if p.eof() {
				return "", p.errorf("unterminated escape")
			}
			e := p.s[p.pos]
			if e != '"' && e != '\\' {
				return "", p.errorf("bad escape \\%c", e)
			}
			b.WriteByte(e)
			p.pos++
		case c == '"':
			return b.String(), nil
		case c < 0x20 || c > 0x7e:
			return "", p.errorf("non-printable character in a string")
		default:
			b.WriteByte(c)
		}
	}
	return "", p.errorf("unterminated string")
}

func (p *sfParser) token() Token {
	start := p.pos
	p.pos++
	for !p.eof() {
		c := p.s[p.pos]
		if !isTChar(c) && c != ':' && c != '/' {
			break
		}
		p.pos++
	}
	return Token(p.s[start:p.pos])
}

func (p *sfParser) bytes() ([]byte, error) {
	p.pos++ // :
	end := strings.IndexByte(p.s[p.pos:], ':')
	if end < 0 {
		return nil, p.errorf("unterminated byte sequence")
	}
	text := p.s[p.pos : p.pos+end]
	p.pos += end + 1
	for i := 0; i < len(text); i++ {
		c := text[i]
		if !isAlpha(c) && !isDigit(c) && c != '+' && c != '/' && c != '=' {
			return nil, p.errorf("byte sequence is not base64")
		}
	}
	// Padding is optional for parsers (RFC 9651 §4.2.7).
	b, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(text, "="))
	if err != nil {
		return nil, p.errorf("byte sequence: %v", err)
	}
	return b, nil
}

func (p *sfParser) boolean() (bool, error) {
	p.pos++ // ?
	switch p.peek() {
	case '1':
		p.pos++
		return true, nil
	case '0':
		p.pos++
		return false, nil
	}
	return false, p.errorf("a boolean is ?0 or ?1")
}

// Serialisation (RFC 9651 §4.1). Errors only for values outside the structured-field types.

// SerializeBare writes one bare item.
func SerializeBare(b *strings.Builder, v any) error {
	switch x := v.(type) {
	case int64:
		if x > 999_999_999_999_999 || x < -999_999_999_999_999 {
			return fmt.Errorf("%w: integer %d out of range", ErrSF, x)
		}
		b.WriteString(strconv.FormatInt(x, 10))
	case int:
		return SerializeBare(b, int64(x))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) >= 1e12 {
			return fmt.Errorf("%w: decimal %v out of range", ErrSF, x)
		}
		s := strconv.FormatFloat(math.RoundToEven(x*1000)/1000, 'f', 3, 64)
		s = strings.TrimRight(s, "0")
		if strings.HasSuffix(s, ".") {
			s += "0"
		}
		b.WriteString(s)
	case string:
		b.WriteByte('"')
		for i := 0; i < len(x); i++ {
			c := x[i]
			if c < 0x20 || c > 0x7e {
				return fmt.Errorf("%w: string with a non-printable character", ErrSF)
			}
			if c == '"' || c == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		}
		b.WriteByte('"')
	case Token:
		if x == "" || !(isAlpha(x[0]) || x[0] == '*') {
			return fmt.Errorf("%w: bad token %q", ErrSF, x)
		}
		for i := 1; i < len(x); i++ {
			if c := x[i]; !isTChar(c) && c != ':' && c != '/' {
				return fmt.Errorf("%w: bad token %q", ErrSF, x)
			}
		}
		b.WriteString(string(x))
	case []byte:
		b.WriteByte(':')
		b.WriteString(base64.StdEncoding.EncodeToString(x))
		b.WriteByte(':')
	case bool:
		if x {
			b.WriteString("?1")
		} else {
			b.WriteString("?0")
		}
	default:
		return fmt.Errorf("%w: cannot serialise %T", ErrSF, v)
	}
	return nil
}

func checkKey(k string) error {
	if k == "" || !(isLCAlpha(k[0]) || k[0] == '*') {
		return fmt.Errorf("%w: bad key %q", ErrSF, k)
	}
	for i := 1; i < len(k); i++ {
		if !isKeyChar(k[i]) {
			return fmt.Errorf("%w: bad key %q", ErrSF, k)
		}
	}
	return nil
}

func serializeParams(b *strings.Builder, ps Params) error {
	for _, p := range ps {
		if err := checkKey(p.Key); err != nil {
			return err
		}
		b.WriteByte(';')
		b.WriteString(p.Key)
		if v, ok := p.Value.(bool); ok && v {
			continue
		}
		b.WriteByte('=')
		if err := SerializeBare(b, p.Value); err != nil {
			return err
		}
	}
	return nil
}

func serializeItem(b *strings.Builder, it Item) error {
	if err := SerializeBare(b, it.Value); err != nil {
		return err
	}
	return serializeParams(b, it.Params)
}

func serializeInnerList(b *strings.Builder, l *InnerList) error {
	b.WriteByte('(')
	for i, it := range l.Items {
		if i > 0 {
			b.WriteByte(' ')
		}
		if err := serializeItem(b, it); err != nil {
			return err
		}
	}
	b.WriteByte(')')
	return serializeParams(b, l.Params)
}

func serializeMember(b *strings.Builder, m Member) error {
	if m.List != nil {
		return serializeInnerList(b, m.List)
	}
	return serializeItem(b, m.Item)
}

// SerializeItem returns the canonical text of an item.
func SerializeItem(it Item) (string, error) {
	var b strings.Builder
	err := serializeItem(&b, it)
	return b.String(), err
}

// SerializeInnerList returns the canonical text of an inner list.
func SerializeInnerList(l *InnerList) (string, error) {
	var b strings.Builder
	err := serializeInnerList(&b, l)
	return b.String(), err
}

// SerializeList returns the canonical text of a list.
func SerializeList(ms []Member) (string, error) {
	var b strings.Builder
	for i, m := range ms {
		if i > 0 {
			b.WriteString(", ")
		}
		if err := serializeMember(&b, m); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}

// SerializeDictionary returns the canonical text of a dictionary.
func SerializeDictionary(d Dictionary) (string, error) {
	var b strings.Builder
	for i, e := range d {
		if i > 0 {
			b.WriteString(", ")
		}
		if err := checkKey(e.Key); err != nil {
			return "", err
		}
		b.WriteString(e.Key)
		if v, ok := e.Member.Item.Value.(bool); ok && v && e.Member.List == nil {
			if err := serializeParams(&b, e.Member.Item.Params); err != nil {
				return "", err
			}
			continue
		}
		b.WriteByte('=')
		if err := serializeMember(&b, e.Member); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}

func b64std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
