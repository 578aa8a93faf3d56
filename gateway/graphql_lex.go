package gateway

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The GraphQL subset the gateway answers is parsed by a small hand-written lexer and recursive-descent parser
// (graphql_parse.go); it is not a general GraphQL engine. This file turns query text into tokens.

type tokKind int

const (
	tokEOF tokKind = iota
	tokPunct
	tokName
	tokInt
	tokFloat
	tokString
)

type token struct {
	kind tokKind
	text string // punctuator, name, number text, or the decoded string value
	pos  int    // byte offset in the query
}

func (t token) String() string {
	switch t.kind {
	case tokEOF:
		return "end of query"
	case tokString:
		return strconv.Quote(t.text)
	}
	return fmt.Sprintf("%q", t.text)
}

// maxQueryLen bounds the query text the parser reads.
const maxQueryLen = 64 << 10

type lexer struct {
	src string
	pos int
}

// syntaxError is a GraphQL syntax error at a byte offset.
type syntaxError struct {
	pos int
	msg string
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("Syntax Error: %s (at offset %d)", e.msg, e.pos)
}

func (l *lexer) errorf(pos int, format string, args ...any) error {
	return &syntaxError{pos: pos, msg: fmt.Sprintf(format, args...)}
}

func isNameStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isNameCont(c byte) bool  { return isNameStart(c) || c >= '0' && c <= '9' }
func isDigit(c byte) bool     { return c >= '0' && c <= '9' }

// next returns the next token, skipping whitespace, commas and comments (all insignificant in GraphQL).
func (l *lexer) next() (token, error) {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',':
			l.pos++
		case c == '#':
			for l.pos < len(l.src) && l.src[l.pos] != '\n' && l.src[l.pos] != '\r' {
				l.pos++
			}
		case strings.HasPrefix(l.src[l.pos:], "\ufeff"):
			l.pos += len("\ufeff")
		default:
			return l.token()
		}
	}
	return token{kind: tokEOF, pos: l.pos}, nil
}

func (l *lexer) token() (token, error) {
	start := l.pos
	c := l.src[l.pos]
	switch {
	case strings.IndexByte("!$()&:=@[]{}|", c) >= 0:
		l.pos++
		return token{kind: tokPunct, text: string(c), pos: start}, nil
	case c == '.':
		if strings.HasPrefix(l.src[l.pos:], "...") {
			l.pos += 3
			return token{kind: tokPunct, text: "...", pos: start}, nil
		}
		return token{}, l.errorf(start, "unexpected %q", c)
	case isNameStart(c):
		for l.pos < len(l.src) && isNameCont(l.src[l.pos]) {
			l.pos++
		}
		return token{kind: tokName, text: l.src[start:l.pos], pos: start}, nil
	case c == '-' || isDigit(c):
		return l.number()
	case c == '"':
		if strings.HasPrefix(l.src[l.pos:], `"""`) {
			return l.blockString()
		}
		return l.string()
	}
	r, _ := utf8.DecodeRuneInString(l.src[l.pos:])
	return token{}, l.errorf(start, "unexpected character %q", r)
}

func (l *lexer) number() (token, error) {
	start := l.pos
	if l.src[l.pos] == '-' {
		l.pos++
	}
	digits := func() int {
		n := 0
		for l.pos < len(l.src) && isDigit(l.src[l.pos]) {
			l.pos++
			n++
		}
		return n
	}
	intStart := l.pos
	if digits() == 0 {
		return token{}, l.errorf(start, "invalid number")
	}
	if l.src[intStart] == '0' && l.pos-intStart > 1 {
		return token{}, l.errorf(start, "invalid number, unexpected digit after 0")
	}
	kind := tokInt
	if l.pos < len(l.src) && l.src[l.pos] == '.' {
		l.pos++
		kind = tokFloat
		if digits() == 0 {
			return token{}, l.errorf(start, "invalid number, expected digit after '.'")
		}
	}
	if l.pos < len(l.src) && (l.src[l.pos] == 'e' || l.src[l.pos] == 'E') {
		l.pos++
		kind = tokFloat
		if l.pos < len(l.src) && (l.src[l.pos] == '+' || l.src[l.pos] == '-') {
			l.pos++
		}
		if digits() == 0 {
			return token{}, l.errorf(start, "invalid number, expected digit in exponent")
		}
	}
	if l.pos < len(l.src) && (isNameStart(l.src[l.pos]) || l.src[l.pos] == '.') {
		return token{}, l.errorf(start, "invalid number, unexpected %q", l.src[l.pos])
	}
	return token{kind: kind, text: l.src[start:l.pos], pos: start}, nil
}

func (l *lexer) string() (token, error) {
	start := l.pos
	l.pos++ // opening quote
	var b strings.Builder
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == '"':
			l.pos++
			return token{kind: tokString, text: b.String(), pos: start}, nil
		case c == '\n' || c == '\r':
			return token{}, l.errorf(start, "unterminated string")
		case c == '\\':
			if l.pos+1 >= len(l.src) {
				return token{}, l.errorf(start, "unterminated string")
			}
			e := l.src[l.pos+1]
			l.pos += 2
			switch e {
			case '"', '\\', '/':
				b.WriteByte(e)
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				if l.pos+4 > len(l.src) {
					return token{}, l.errorf(l.pos, "invalid unicode escape")
				}
				n, err := strconv.ParseUint(l.src[l.pos:l.pos+4], 16, 32)
				if err != nil {
					return token{}, l.errorf(l.pos, "invalid unicode escape")
				}
				l.pos += 4
				r := rune(n)
				// A surrogate pair spells one rune as two escapes.
				if r >= 0xd800 && r < 0xdc00 && strings.HasPrefix(l.src[l.pos:], `\u`) && l.pos+6 <= len(l.src) {
					if lo, err := strconv.ParseUint(l.src[l.pos+2:l.pos+6], 16, 32); err == nil && lo >= 0xdc00 && lo < 0xe000 {
						r = 0x10000 + (r-0xd800)<<10 + (rune(lo) - 0xdc00)
						l.pos += 6
					}
				}
				b.WriteRune(r)
			default:
				return token{}, l.errorf(l.pos-2, "invalid escape \\%c", e)
			}
		default:
			b.WriteByte(c)
			l.pos++
		}
	}
	return token{}, l.errorf(start, "unterminated string")
}

// blockString reads a """…""" string. Only \""" is an escape; the indentation rules of the spec are not
// applied (ao tools do not send block strings as argument values).
func (l *lexer) blockString() (token, error) {
	start := l.pos
	l.pos += 3
	var b strings.Builder
	for l.pos < len(l.src) {
		switch {
		case strings.HasPrefix(l.src[l.pos:], `\"""`):
			b.WriteString(`"""`)
			l.pos += 4
		case strings.HasPrefix(l.src[l.pos:], `"""`):
			l.pos += 3
			return token{kind: tokString, text: b.String(), pos: start}, nil
		default:
			b.WriteByte(l.src[l.pos])
			l.pos++
		}
	}
	return token{}, l.errorf(start, "unterminated block string")
}
