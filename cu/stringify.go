package cu

import (
	"bytes"
	"encoding/json"
)

// stringify is json.Marshal with the string text of JavaScript's JSON.stringify. The reference CU hands a module
// its message and env as JSON.stringify output, and those exact bytes land in the module's memory (on its stack,
// reserved per byte by the glue), so they decide its memory, its memory hash and how large a message fits.
// encoding/json escapes more than JSON.stringify does; jsStrings undoes exactly those escapes.
func stringify(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return jsStrings(b), nil
}

// jsStrings rewrites the escapes encoding/json writes where JSON.stringify writes the character itself:
// \u003c, \u003e and \u0026 (encoding/json's HTML safety), \u2028 and \u2029, and \ufffd, which encoding/json
// writes for a byte that is not UTF-8 where a JS string holds U+FFFD itself (the lossy decoding that made it).
// Every other escape is the same in both: \" \\ \n \r \t \b \f, and \u00XX in lower-case hex for the other
// control characters. b must be encoding/json output; it is returned as it is when nothing changes.
func jsStrings(b []byte) []byte {
	if bytes.IndexByte(b, '\\') < 0 {
		return b
	}
	var out []byte
	last := 0 // b[last:i] is not yet copied to out
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		if i+1 >= len(b) || b[i+1] != 'u' || i+6 > len(b) {
			i++ // a two-character escape: its second character is never the start of one
			continue
		}
		var r string
		switch string(b[i+2 : i+6]) {
		case "003c":
			r = "<"
		case "003e":
			r = ">"
		case "0026":
			r = "&"
		case "2028":
			r = "\u2028"
		case "2029":
			r = "\u2029"
		case "fffd":
			r = "\ufffd"
		default:
			i += 5
			continue
		}
		if out == nil {
			out = make([]byte, 0, len(b))
		}
		out = append(out, b[last:i]...)
		out = append(out, r...)
		i += 5
		last = i + 1
	}
	if out == nil {
		return b
	}
	return append(out, b[last:]...)
}
