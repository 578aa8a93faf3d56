package httpsig

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"strings"
)

// ErrMultipart is wrapped by errors of the multipart body.
var ErrMultipart = errors.New("httpsig: multipart body")

// Bounds of a multipart body (its total size is the caller's: the body is already in memory).
const (
	MaxParts       = 256 // parts of one body
	maxPartHeaders = 64  // header lines of one part
	maxBoundary    = 200 // RFC 2046 allows 70; clients hash into it
)

// Part is one part of a multipart/form-data body as HyperBEAM's codec writes it.
type Part struct {
	Name   string            // the content-disposition name, or "" for disposition inline
	Inline bool              // content-disposition: inline (the message's inline body key)
	Header map[string]string // the part's other header lines, names lower-case
	Body   []byte
}

// Boundary returns the boundary of a multipart/form-data content type, or "" for any other content type.
func Boundary(contentType string) (string, error) {
	if contentType == "" {
		return "", nil
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", fmt.Errorf("%w: content-type: %v", ErrMultipart, err)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		return "", nil
	}
	b := params["boundary"]
	if b == "" || len(b) > maxBoundary {
		return "", fmt.Errorf("%w: boundary of %d bytes", ErrMultipart, len(b))
	}
	return b, nil
}

// ParseMultipart splits body at boundary as HyperBEAM's codec does: the parts lie between "--B\r\n" and
// "\r\n--B--", separated by "\r\n--B"; each part is header lines, an empty line, then its body.
func ParseMultipart(body []byte, boundary string) ([]Part, error) {
	delim := []byte("--" + boundary)
	start := bytes.Index(body, append(append([]byte{}, delim...), '\r', '\n'))
	if start < 0 {
		return nil, fmt.Errorf("%w: no opening boundary", ErrMultipart)
	}
	rest := body[start+len(delim)+2:]
	closing := append(append([]byte("\r\n"), delim...), '-', '-')
	end := bytes.LastIndex(rest, closing)
	if end < 0 {
		return nil, fmt.Errorf("%w: no closing boundary", ErrMultipart)
	}
	rest = rest[:end]
	sep := append([]byte("\r\n"), delim...)
	if n := bytes.Count(rest, sep) + 1; n > MaxParts {
		return nil, fmt.Errorf("%w: %d parts, at most %d", ErrMultipart, n, MaxParts)
	}
	var parts []Part
	for len(rest) > 0 || parts == nil {
		var raw []byte
		if i := bytes.Index(rest, sep); i >= 0 {
			raw, rest = rest[:i], rest[i+len(sep):]
			// What follows a separator is "\r\n" and the next part.
			rest = bytes.TrimPrefix(rest, []byte("\r\n"))
		} else {
			raw, rest = rest, nil
		}
		p, err := parsePart(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: part %d: %v", ErrMultipart, len(parts)+1, err)
		}
		parts = append(parts, p)
	}
	return parts, nil
}

func parsePart(raw []byte) (Part, error) {
	head, body, found := bytes.Cut(raw, []byte("\r\n\r\n"))
	if !found {
		head, body = raw, nil
	}
	p := Part{Header: map[string]string{}, Body: body}
	disposition := ""
	lines := strings.Split(string(head), "\r\n")
	if len(lines) > maxPartHeaders {
		return p, fmt.Errorf("%d header lines, at most %d", len(lines), maxPartHeaders)
	}
	for _, line := range lines {
		if line == "" {
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue // HyperBEAM skips lines that are not headers
		}
		name = strings.ToLower(strings.TrimSpace(name))
		value = strings.TrimSpace(value)
		if name == "content-disposition" {
			disposition = value
			continue
		}
		p.Header[name] = value
	}
	if disposition == "" {
		return p, errors.New("no content-disposition")
	}
	kind, name, err := parseDisposition(disposition)
	if err != nil {
		return p, err
	}
	if kind == "inline" {
		p.Inline = true
		return p, nil
	}
	if name == "" {
		return p, fmt.Errorf("content-disposition %q has no name", disposition)
	}
	p.Name = name
	return p, nil
}

// parseDisposition reads `form-data; name="key"` or `inline`: as a structured-field item first (what
// HyperBEAM parses), then as a MIME header for names outside structured-field strings.
func parseDisposition(s string) (kind, name string, err error) {
	if it, err := ParseItem(s); err == nil {
		if t, ok := it.Value.(Token); ok {
			name, _ := it.Params.String("name")
			return string(t), name, nil
		}
	}
	kind, params, err := mime.ParseMediaType(s)
	if err != nil {
		return "", "", fmt.Errorf("content-disposition %q: %v", s, err)
	}
	return kind, params["name"], nil
}
