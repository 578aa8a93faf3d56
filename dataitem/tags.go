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
// byte size, which is skipped). It requires the whole input to be consumed.
func DecodeTags(b []byte) ([]Tag, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var tags []Tag
	p := 0
	readLong := func(what string) (int64, error) {
		v, n := binary.Varint(b[p:])
		if n <= 0 {
			return 0, &FormatError{Field: "tags", Reason: "bad Avro varint in " + what}
		}
		p += n
		return v, nil
	}
	readBytes := func(what string) (string, error) {
		l, err := readLong(what + " length")
		if err != nil {
			return "", err
		}
		if l < 0 || l > int64(len(b)-p) {
			return "", &FormatError{Field: "tags", Reason: fmt.Sprintf("%s length %d out of range", what, l)}
		}
		s := string(b[p : p+int(l)])
		p += int(l)
		return s, nil
	}
	for {
		count, err := readLong("block count")
		if err != nil {
			return nil, err
		}
		if count == 0 {
			break
		}
		if count < 0 {
			if count == -count { // MinInt64
				return nil, &FormatError{Field: "tags", Reason: "block count out of range"}
			}
			count = -count
			if _, err := readLong("block size"); err != nil {
				return nil, err
			}
		}
		if count > MaxTags || int64(len(tags))+count > MaxTags {
			return nil, &FormatError{Field: "tags", Reason: fmt.Sprintf("more than %d tags", MaxTags)}
		}
		for i := int64(0); i < count; i++ {
			name, err := readBytes("tag name")
			if err != nil {
				return nil, err
			}
			value, err := readBytes("tag value")
			if err != nil {
				return nil, err
			}
			tags = append(tags, Tag{Name: name, Value: value})
		}
	}
	if p != len(b) {
		return nil, &FormatError{Field: "tags", Reason: fmt.Sprintf("%d trailing bytes after the tag array", len(b)-p)}
	}
	return tags, nil
}
