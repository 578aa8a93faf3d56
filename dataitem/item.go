package dataitem

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Item is an ANS-104 data item. Build one by filling Target, Anchor, Tags and Data and calling Sign, or
// get one from Decode. Target and Anchor are empty or exactly 32 bytes.
//
// A decoded item aliases the buffer it was decoded from (Signature, Owner, Target, Anchor and Data are
// sub-slices of it; tag strings are copies): do not modify that buffer while the item is in use, or Clone it.
type Item struct {
	SignatureType SignatureType
	Signature     []byte
	Owner         []byte
	Target        []byte
	Anchor        []byte
	Tags          []Tag
	Data          []byte

	// rawTags holds the tag bytes exactly as decoded (or as encoded by Sign), so verification hashes what was
	// signed even when another encoder chose a different valid Avro block layout, and encoding does not redo
	// the work. rawTagsOf is the tag list rawTags encodes: once Tags no longer equals it, rawTags is stale and
	// the tags are encoded afresh.
	rawTags   []byte
	rawTagsOf []Tag
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

// Clone returns a deep copy that shares no memory with it (nor with the buffer it was decoded from).
func (it *Item) Clone() *Item {
	c := &Item{
		SignatureType: it.SignatureType,
		Signature:     cloneBytes(it.Signature),
		Owner:         cloneBytes(it.Owner),
		Target:        cloneBytes(it.Target),
		Anchor:        cloneBytes(it.Anchor),
		Tags:          append([]Tag(nil), it.Tags...),
		Data:          cloneBytes(it.Data),
	}
	if it.rawTags != nil && sameTags(it.Tags, it.rawTagsOf) {
		c.rawTags = append([]byte{}, it.rawTags...)
		c.rawTagsOf = append([]Tag(nil), it.Tags...)
	}
	return c
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

// encodedTags returns the Avro bytes of it.Tags: the decoded (or signed) bytes while Tags is unchanged, a fresh
// encoding otherwise.
func (it *Item) encodedTags() []byte {
	if it.rawTags != nil && sameTags(it.Tags, it.rawTagsOf) {
		return it.rawTags
	}
	return EncodeTags(it.Tags)
}

func sameTags(a, b []Tag) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// SignatureData is the deep hash the signature covers.
func (it *Item) SignatureData() [48]byte {
	return signatureData(it.SignatureType, it.Owner, it.Target, it.Anchor, it.encodedTags(), blobHash(it.Data))
}

func (it *Item) checkFields(tagBytes []byte) error {
	if len(it.Target) != 0 && len(it.Target) != 32 {
		return &FormatError{Field: "target", Reason: fmt.Sprintf("%d bytes, want 0 or 32", len(it.Target))}
	}
	if len(it.Anchor) != 0 && len(it.Anchor) != 32 {
		return &FormatError{Field: "anchor", Reason: fmt.Sprintf("%d bytes, want 0 or 32", len(it.Anchor))}
	}
	if err := CheckTags(it.Tags); err != nil {
		return err
	}
	if len(tagBytes) > MaxTagBytes {
		return &FormatError{Field: "tags", Reason: fmt.Sprintf("%d encoded tag bytes, limit %d", len(tagBytes), MaxTagBytes)}
	}
	return nil
}

// checkKey checks the signature and owner lengths for the item's signature type.
func (it *Item) checkKey() error {
	sigLen, ownerLen, err := it.SignatureType.Lengths()
	if err != nil {
		return err
	}
	if len(it.Signature) == 0 {
		return ErrUnsigned
	}
	if len(it.Signature) != sigLen {
		return &FormatError{Field: "signature", Reason: fmt.Sprintf("%d bytes, want %d for %s", len(it.Signature), sigLen, it.SignatureType)}
	}
	if len(it.Owner) != ownerLen {
		return &FormatError{Field: "owner", Reason: fmt.Sprintf("%d bytes, want %d for %s", len(it.Owner), ownerLen, it.SignatureType)}
	}
	return nil
}

// header encodes everything before the data.
func (it *Item) header() ([]byte, error) {
	if err := it.checkKey(); err != nil {
		return nil, err
	}
	tags := it.encodedTags()
	if err := it.checkFields(tags); err != nil {
		return nil, err
	}
	n := 2 + len(it.Signature) + len(it.Owner) + 2 + len(it.Target) + len(it.Anchor) + 16 + len(tags)
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
	return append(b, tags...), nil
}

// Bytes encodes the signed item in the ANS-104 binary format.
func (it *Item) Bytes() ([]byte, error) {
	hdr, err := it.header()
	if err != nil {
		return nil, err
	}
	b := make([]byte, len(hdr)+len(it.Data))
	copy(b, hdr)
	copy(b[len(hdr):], it.Data)
	return b, nil
}

// WriteTo writes the encoded item to w without building a copy of its data.
func (it *Item) WriteTo(w io.Writer) (int64, error) {
	hdr, err := it.header()
	if err != nil {
		return 0, err
	}
	n, err := w.Write(hdr)
	if err != nil {
		return int64(n), fmt.Errorf("write item header: %w", err)
	}
	m, err := w.Write(it.Data)
	if err != nil {
		return int64(n + m), fmt.Errorf("write item data: %w", err)
	}
	return int64(n + m), nil
}

// Decode parses an ANS-104 item. It checks the structure (lengths, presence bytes, tag encoding and limits)
// but not the signature: call Verify for that. The returned item aliases b (see Item); nothing is copied but
// the tag strings, and the data is not hashed.
func Decode(b []byte) (*Item, error) {
	it, n, err := decodeHeader(b, false)
	if err != nil {
		return nil, err
	}
	it.Data = b[n:]
	return it, nil
}

// decodeHeader parses everything but the data and returns the header length. b must hold at least the
// header; with partial set, running out of bytes reports errShort (plus how many bytes are needed) instead
// of a FormatError, so a stream reader knows to read more.
func decodeHeader(b []byte, partial bool) (*Item, int, error) {
	p := 0
	need := func(n int, field string) error {
		if len(b)-p >= n {
			return nil
		}
		if partial {
			return &shortError{need: p + n}
		}
		return &FormatError{Field: field, Reason: fmt.Sprintf("truncated: need %d bytes at offset %d, have %d", n, p, len(b)-p)}
	}
	if err := need(2, "signature type"); err != nil {
		return nil, 0, err
	}
	it := &Item{SignatureType: SignatureType(binary.LittleEndian.Uint16(b))}
	sigLen, ownerLen, err := it.SignatureType.Lengths()
	if err != nil {
		return nil, 0, err
	}
	p = 2
	if err := need(sigLen, "signature"); err != nil {
		return nil, 0, err
	}
	it.Signature = b[p : p+sigLen : p+sigLen]
	p += sigLen
	if err := need(ownerLen, "owner"); err != nil {
		return nil, 0, err
	}
	it.Owner = b[p : p+ownerLen : p+ownerLen]
	p += ownerLen
	for _, f := range [2]struct {
		name string
		dst  *[]byte
	}{{"target", &it.Target}, {"anchor", &it.Anchor}} {
		if err := need(1, f.name); err != nil {
			return nil, 0, err
		}
		switch b[p] {
		case 0:
			p++
		case 1:
			p++
			if err := need(32, f.name); err != nil {
				return nil, 0, err
			}
			*f.dst = b[p : p+32 : p+32]
			p += 32
		default:
			return nil, 0, &FormatError{Field: f.name, Reason: fmt.Sprintf("presence byte is %d, want 0 or 1", b[p])}
		}
	}
	if err := need(16, "tag header"); err != nil {
		return nil, 0, err
	}
	count := binary.LittleEndian.Uint64(b[p:])
	size := binary.LittleEndian.Uint64(b[p+8:])
	p += 16
	if count > MaxTags {
		return nil, 0, &FormatError{Field: "tags", Reason: fmt.Sprintf("tag count %d over the limit %d", count, MaxTags)}
	}
	if size > MaxTagBytes {
		return nil, 0, &FormatError{Field: "tags", Reason: fmt.Sprintf("tag bytes length %d over the limit %d", size, MaxTagBytes)}
	}
	if err := need(int(size), "tags"); err != nil {
		if fe, ok := err.(*FormatError); ok {
			fe.Reason = fmt.Sprintf("tag bytes length %d exceeds the %d bytes left", size, len(b)-p)
		}
		return nil, 0, err
	}
	raw := b[p : p+int(size) : p+int(size)]
	p += int(size)
	tags, snapshot, err := decodeTags(raw, int(count))
	if err != nil {
		return nil, 0, err
	}
	if uint64(len(tags)) != count {
		return nil, 0, &FormatError{Field: "tags", Reason: fmt.Sprintf("header says %d tags, the tag bytes hold %d", count, len(tags))}
	}
	if err := CheckTags(tags); err != nil {
		return nil, 0, err
	}
	it.Tags = tags
	it.rawTags = raw
	it.rawTagsOf = snapshot
	return it, p, nil
}

// shortError tells a stream reader how many header bytes decodeHeader needs.
type shortError struct{ need int }

func (e *shortError) Error() string { return fmt.Sprintf("need %d header bytes", e.need) }
