package dataitem

import (
	"encoding/binary"
	"fmt"
	"strconv"
)

// Item is an ANS-104 data item. Build one by filling Target, Anchor, Tags and Data and calling Sign, or
// get one from Decode. Target and Anchor are empty or exactly 32 bytes.
type Item struct {
	SignatureType SignatureType
	Signature     []byte
	Owner         []byte
	Target        []byte
	Anchor        []byte
	Tags          []Tag
	Data          []byte

	// rawTags holds the tag bytes exactly as decoded, so verification hashes what was signed even when another
	// encoder chose a different (valid) Avro block layout. Nil for items built in Go.
	rawTags []byte
}

// ID is base64url(SHA-256(signature)); empty for an unsigned item.
func (it *Item) ID() string {
	if len(it.Signature) == 0 {
		return ""
	}
	return IDFromSignature(it.Signature)
}

// OwnerAddress is base64url(SHA-256(owner)).
func (it *Item) OwnerAddress() string { return Address(it.Owner) }

// TargetID is the base64url target, or "" when there is none.
func (it *Item) TargetID() string {
	if len(it.Target) == 0 {
		return ""
	}
	return B64(it.Target)
}

// Tag returns the value of the first tag named name.
func (it *Item) Tag(name string) (string, bool) { return Get(it.Tags, name) }

func (it *Item) tagBytes() []byte {
	if it.rawTags != nil {
		return it.rawTags
	}
	return EncodeTags(it.Tags)
}

// SignatureData is the deep hash the signature covers.
func (it *Item) SignatureData() [48]byte {
	return DeepHash(List{
		Blob("dataitem"),
		Blob("1"),
		Blob(strconv.Itoa(int(it.SignatureType))),
		Blob(it.Owner),
		Blob(it.Target),
		Blob(it.Anchor),
		Blob(it.tagBytes()),
		Blob(it.Data),
	})
}

func (it *Item) checkFields() error {
	if len(it.Target) != 0 && len(it.Target) != 32 {
		return &FormatError{Field: "target", Reason: fmt.Sprintf("%d bytes, want 0 or 32", len(it.Target))}
	}
	if len(it.Anchor) != 0 && len(it.Anchor) != 32 {
		return &FormatError{Field: "anchor", Reason: fmt.Sprintf("%d bytes, want 0 or 32", len(it.Anchor))}
	}
	return CheckTags(it.Tags)
}

// Bytes encodes the signed item in the ANS-104 binary format.
func (it *Item) Bytes() ([]byte, error) {
	sigLen, ownerLen, err := it.SignatureType.Lengths()
	if err != nil {
		return nil, err
	}
	if len(it.Signature) == 0 {
		return nil, ErrUnsigned
	}
	if len(it.Signature) != sigLen {
		return nil, &FormatError{Field: "signature", Reason: fmt.Sprintf("%d bytes, want %d for %s", len(it.Signature), sigLen, it.SignatureType)}
	}
	if len(it.Owner) != ownerLen {
		return nil, &FormatError{Field: "owner", Reason: fmt.Sprintf("%d bytes, want %d for %s", len(it.Owner), ownerLen, it.SignatureType)}
	}
	if err := it.checkFields(); err != nil {
		return nil, err
	}
	tags := it.tagBytes()
	n := 2 + sigLen + ownerLen + 2 + len(it.Target) + len(it.Anchor) + 16 + len(tags) + len(it.Data)
	b := make([]byte, 0, n)
	b = binary.LittleEndian.AppendUint16(b, uint16(it.SignatureType))
	b = append(b, it.Signature...)
	b = append(b, it.Owner...)
	for _, opt := range [][]byte{it.Target, it.Anchor} {
		if len(opt) == 0 {
			b = append(b, 0)
		} else {
			b = append(b, 1)
			b = append(b, opt...)
		}
	}
	b = binary.LittleEndian.AppendUint64(b, uint64(len(it.Tags)))
	b = binary.LittleEndian.AppendUint64(b, uint64(len(tags)))
	b = append(b, tags...)
	b = append(b, it.Data...)
	return b, nil
}

// Decode parses an ANS-104 item. It checks the structure (lengths, presence bytes, tag encoding and limits)
// but not the signature: call Verify for that. The returned item aliases b.
func Decode(b []byte) (*Item, error) {
	hdr, err := decodeHeader(b)
	if err != nil {
		return nil, err
	}
	hdr.item.Data = b[hdr.dataOffset:]
	return hdr.item, nil
}

type header struct {
	item       *Item
	dataOffset int
}

// decodeHeader parses everything but the data; b must hold at least the header.
func decodeHeader(b []byte) (header, error) {
	if len(b) < 2 {
		return header{}, &FormatError{Field: "item", Reason: fmt.Sprintf("%d bytes, too short for a signature type", len(b))}
	}
	it := &Item{SignatureType: SignatureType(binary.LittleEndian.Uint16(b))}
	sigLen, ownerLen, err := it.SignatureType.Lengths()
	if err != nil {
		return header{}, err
	}
	p := 2
	need := func(n int, field string) error {
		if len(b)-p < n {
			return &FormatError{Field: field, Reason: fmt.Sprintf("truncated: need %d bytes at offset %d, have %d", n, p, len(b)-p)}
		}
		return nil
	}
	if err := need(sigLen, "signature"); err != nil {
		return header{}, err
	}
	it.Signature = b[p : p+sigLen]
	p += sigLen
	if err := need(ownerLen, "owner"); err != nil {
		return header{}, err
	}
	it.Owner = b[p : p+ownerLen]
	p += ownerLen
	for _, f := range []struct {
		name string
		dst  *[]byte
	}{{"target", &it.Target}, {"anchor", &it.Anchor}} {
		if err := need(1, f.name); err != nil {
			return header{}, err
		}
		switch b[p] {
		case 0:
			p++
		case 1:
			p++
			if err := need(32, f.name); err != nil {
				return header{}, err
			}
			*f.dst = b[p : p+32]
			p += 32
		default:
			return header{}, &FormatError{Field: f.name, Reason: fmt.Sprintf("presence byte is %d, want 0 or 1", b[p])}
		}
	}
	if err := need(16, "tag header"); err != nil {
		return header{}, err
	}
	count := binary.LittleEndian.Uint64(b[p:])
	size := binary.LittleEndian.Uint64(b[p+8:])
	p += 16
	if count > MaxTags {
		return header{}, &FormatError{Field: "tags", Reason: fmt.Sprintf("tag count %d over the limit %d", count, MaxTags)}
	}
	if size > uint64(len(b)-p) {
		return header{}, &FormatError{Field: "tags", Reason: fmt.Sprintf("tag bytes length %d exceeds the %d bytes left", size, len(b)-p)}
	}
	if count == 0 && size != 0 {
		return header{}, &FormatError{Field: "tags", Reason: fmt.Sprintf("tag count 0 but %d tag bytes", size)}
	}
	raw := b[p : p+int(size)]
	p += int(size)
	tags, err := DecodeTags(raw)
	if err != nil {
		return header{}, err
	}
	if uint64(len(tags)) != count {
		return header{}, &FormatError{Field: "tags", Reason: fmt.Sprintf("header says %d tags, found %d", count, len(tags))}
	}
	if err := CheckTags(tags); err != nil {
		return header{}, err
	}
	it.Tags = tags
	it.rawTags = raw
	if it.rawTags == nil {
		it.rawTags = []byte{}
	}
	return header{item: it, dataOffset: p}, nil
}
