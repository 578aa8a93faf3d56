package dataitem

import (
	"encoding/binary"
	"fmt"
)

// Tag is one name/value pair. JSON field names match the ones ao's HTTP APIs use.
type Tag struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Tag limits from the ANS-104 spec.
const (
	MaxTags        = 128
	MaxTagNameLen  = 1024
	MaxTagValueLen = 3072
	// MaxTagBytes bounds the Avro-encoded tags of one item. The spec's per-tag limits alone would allow more;
	// arbundles (and so the reference MU) rejects items whose tag bytes exceed it, and cannot build them.
	MaxTagBytes = 4096
)

// Get returns the value of the first tag named name, and whether there is one.
func Get(tags []Tag, name string) (string, bool) {
	for _, t := range tags {
		if t.Name == name {
			return t.Value, true
		}
	}
	return "", false
}

// CheckTags enforces the spec's limits.
func CheckTags(tags []Tag) error {
	if len(tags) > MaxTags {
		return &FormatError{Field: "tags", Reason: fmt.Sprintf("%d tags, limit %d", len(tags), MaxTags)}
	}
	for i, t := range tags {
		switch {
		case t.Name == "":
			return &FormatError{Field: "tags", Reason: fmt.Sprintf("tag %d has an empty name", i)}
		case len(t.Name) > MaxTagNameLen:
			return &FormatError{Field: "tags", Reason: fmt.Sprintf("tag %d name is %d bytes, limit %d", i, len(t.Name), MaxTagNameLen)}
		case len(t.Value) > MaxTagValueLen:
			return &FormatError{Field: "tags", Reason: fmt.Sprintf("tag %d (%q) value is %d bytes, limit %d", i, t.Name, len(t.Value), MaxTagValueLen)}
		}
	}
	return nil
}

// EncodeTags serialises tags as the Avro array of {name: bytes, value: bytes} records ANS-104 uses
// (one block with a positive count, then the 0 terminator). No tags encode as zero bytes.
func EncodeTags(tags []Tag) []byte {
	if len(tags) == 0 {
		return nil
	}
	n := 10
	for _, t := range tags {
		n += len(t.Name) + len(t.Value) + 20
	}
	b := make([]byte, 0, n)
	b = binary.AppendVarint(b, int64(len(tags)))
	for _, t := range tags {
		b = binary.AppendVarint(b, int64(len(t.Name)))
		b = append(b, t.Name...)
		b = binary.AppendVarint(b, int64(len(t.Value)))
		b = append(b, t.Value...)
	}
	return append(b, 0)
}

// DecodeTags parses Avro-encoded tags, accepting any valid block structure (negative block counts carry a
// byte size, which is skipped). It requires the whole input to be consumed. It does not apply CheckTags.
func DecodeTags(b []byte) ([]Tag, error) {
	tags, _, err := decodeTags(b, 0)
	return tags, err
}

// decodeTags decodes b expecting about hint tags. All names and values are substrings of one copy of b, and the
// tag slice shares its allocation with a second copy of itself (the snapshot Item keeps to notice edits).
func decodeTags(b []byte, hint int) (tags, snapshot []Tag, err error) {
	if len(b) == 0 {
		return nil, nil, nil
	}
	if hint > MaxTags {
		hint = MaxTags
	}
	s := string(b)
	buf := make([]Tag, 0, 2*hint)
	p := 0
	readLong := func(what string) (int64, error) {
		v, n := binary.Varint(b[p:])
		if n <= 0 {
			if n == 0 {
				return 0, &FormatError{Field: "tags", Reason: fmt.Sprintf("truncated Avro varint in %s at offset %d", what, p)}
			}
			return 0, &FormatError{Field: "tags", Reason: fmt.Sprintf("Avro varint overflows 64 bits in %s at offset %d", what, p)}
		}
		p += n
		return v, nil
	}
	readBytes := func(what string) (string, error) {
		l, err := readLong(what)
		if err != nil {
			return "", err
		}
		if l < 0 || l > int64(len(b)-p) {
			return "", &FormatError{Field: "tags", Reason: fmt.Sprintf("%s %d out of range (%d bytes left)", what, l, len(b)-p)}
		}
		v := s[p : p+int(l)]
		p += int(l)
		return v, nil
	}
	for {
		count, err := readLong("block count")
		if err != nil {
			return nil, nil, err
		}
		if count == 0 {
			break
		}
		if count < 0 {
			if count == -count { // MinInt64 has no positive counterpart
				return nil, nil, &FormatError{Field: "tags", Reason: "block count out of range"}
			}
			count = -count
			if _, err := readLong("block size"); err != nil {
				return nil, nil, err
			}
		}
		if count > MaxTags || int64(len(buf))+count > MaxTags {
			return nil, nil, &FormatError{Field: "tags", Reason: fmt.Sprintf("more than %d tags", MaxTags)}
		}
		for i := int64(0); i < count; i++ {
			name, err := readBytes("tag name length")
			if err != nil {
				return nil, nil, err
			}
			value, err := readBytes("tag value length")
			if err != nil {
				return nil, nil, err
			}
			buf = append(buf, Tag{Name: name, Value: value})
		}
	}
	if p != len(b) {
		return nil, nil, &FormatError{Field: "tags", Reason: fmt.Sprintf("%d trailing bytes after the tag array", len(b)-p)}
	}
	n := len(buf)
	if cap(buf) < 2*n {
		buf = append(buf, make([]Tag, n)...)
	} else {
		buf = buf[:2*n]
	}
	copy(buf[n:], buf[:n])
	return buf[:n:n], buf[n : 2*n : 2*n], nil
}
