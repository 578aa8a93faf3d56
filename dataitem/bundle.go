package dataitem

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"

	"fmt"
	"io"
)

// A binary ANS-104 bundle: item count (32 bytes LE) ‖ count × (item size (32 bytes LE) ‖ raw id (32 bytes))
// ‖ the items back to back.

// MaxBundleItems bounds the header a decoder will allocate for; a larger count is treated as malformed.
const MaxBundleItems = 1 << 20

// WriteBundle writes items (encoded, signed) as a bundle to w.
func WriteBundle(w io.Writer, items []*Item) error {
	encoded := make([][]byte, len(items))
	for i, it := range items {
		b, err := it.Bytes()
		if err != nil {
			return fmt.Errorf("bundle item %d: %w", i, err)
		}
		encoded[i] = b
	}
	return WriteBundleRaw(w, encoded)
}

// WriteBundleRaw writes already-encoded items as a bundle. Each must be a decodable item.
func WriteBundleRaw(w io.Writer, items [][]byte) error {
	hdr := make([]byte, 32+64*len(items))
	binary.LittleEndian.PutUint64(hdr, uint64(len(items)))
	for i, b := range items {
		it, err := decodeHeader(b)
		if err != nil {
			return fmt.Errorf("bundle item %d: %w", i, err)
		}
		off := 32 + 64*i
		binary.LittleEndian.PutUint64(hdr[off:], uint64(len(b)))
		id := sha256.Sum256(it.item.Signature)
		copy(hdr[off+32:], id[:])
	}
	if _, err := w.Write(hdr); err != nil {
		return fmt.Errorf("write bundle header: %w", err)
	}
	for i, b := range items {
		if _, err := w.Write(b); err != nil {
			return fmt.Errorf("write bundle item %d: %w", i, err)
		}
	}
	return nil
}

// EncodeBundle returns the bundle of items as bytes.
func EncodeBundle(items []*Item) ([]byte, error) {
	var buf bytes.Buffer
	if err := WriteBundle(&buf, items); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// BundleEntry is one header entry: the item's size and id.
type BundleEntry struct {
	Size uint64
	ID   string
}

// BundleReader reads a bundle item by item, so a bundle need not fit in memory.
type BundleReader struct {
	r       io.Reader
	Entries []BundleEntry
	next    int
	maxItem uint64
}

// NewBundleReader reads the bundle header from r. maxItem bounds the size of any one item it will read into
// memory (0 means 1 GiB).
func NewBundleReader(r io.Reader, maxItem uint64) (*BundleReader, error) {
	if maxItem == 0 {
		maxItem = 1 << 30
	}
	var count [32]byte
	if _, err := io.ReadFull(r, count[:]); err != nil {
		return nil, &FormatError{Field: "bundle header", Reason: "truncated item count: " + err.Error()}
	}
	n, err := le256(count[:], "item count")
	if err != nil {
		return nil, err
	}
	if n > MaxBundleItems {
		return nil, &FormatError{Field: "bundle header", Reason: fmt.Sprintf("item count %d over the limit %d", n, MaxBundleItems)}
	}
	br := &BundleReader{r: r, maxItem: maxItem}
	entry := make([]byte, 64)
	for i := uint64(0); i < n; i++ {
		if _, err := io.ReadFull(r, entry); err != nil {
			return nil, &FormatError{Field: "bundle header", Reason: fmt.Sprintf("truncated at entry %d of %d", i, n)}
		}
		size, err := le256(entry[:32], "item size")
		if err != nil {
			return nil, err
		}
		br.Entries = append(br.Entries, BundleEntry{Size: size, ID: B64(entry[32:])})
	}
	return br, nil
}

func le256(b []byte, what string) (uint64, error) {
	for _, c := range b[8:] {
		if c != 0 {
			return 0, &FormatError{Field: "bundle header", Reason: what + " does not fit in 64 bits"}
		}
	}
	return binary.LittleEndian.Uint64(b), nil
}

// Next returns the next item's raw bytes and its decoded form, or io.EOF after the last one. It checks that the
// item decodes and that its id matches the header; it does not verify the signature.
func (br *BundleReader) Next() (*Item, []byte, error) {
	if br.next >= len(br.Entries) {
		return nil, nil, io.EOF
	}
	e := br.Entries[br.next]
	idx := br.next
	br.next++
	if e.Size > br.maxItem {
		return nil, nil, &FormatError{Field: "bundle item", Reason: fmt.Sprintf("item %d is %d bytes, over the limit %d", idx, e.Size, br.maxItem)}
	}
	b := make([]byte, e.Size)
	if _, err := io.ReadFull(br.r, b); err != nil {
		return nil, nil, &FormatError{Field: "bundle item", Reason: fmt.Sprintf("item %d truncated: %v", idx, err)}
	}
	it, err := Decode(b)
	if err != nil {
		return nil, nil, fmt.Errorf("bundle item %d: %w", idx, err)
	}
	if id := it.ID(); id != e.ID {
		return nil, nil, &FormatError{Field: "bundle item", Reason: fmt.Sprintf("item %d id %s does not match header id %s", idx, id, e.ID)}
	}
	return it, b, nil
}

// DecodeBundle decodes a whole in-memory bundle, requiring no trailing bytes. Items alias b.
func DecodeBundle(b []byte) ([]*Item, error) {
	r := bytes.NewReader(b)
	br, err := NewBundleReader(r, uint64(len(b)))
	if err != nil {
		return nil, err
	}
	items := make([]*Item, 0, len(br.Entries))
	off := len(b) - r.Len()
	for i, e := range br.Entries {
		if e.Size > uint64(len(b)-off) {
			return nil, &FormatError{Field: "bundle item", Reason: fmt.Sprintf("item %d size %d exceeds the %d bytes left", i, e.Size, len(b)-off)}
		}
		it, err := Decode(b[off : off+int(e.Size)])
		if err != nil {
			return nil, fmt.Errorf("bundle item %d: %w", i, err)
		}
		if id := it.ID(); id != e.ID {
			return nil, &FormatError{Field: "bundle item", Reason: fmt.Sprintf("item %d id %s does not match header id %s", i, id, e.ID)}
		}
		items = append(items, it)
		off += int(e.Size)
	}
	if off != len(b) {
		return nil, &FormatError{Field: "bundle", Reason: fmt.Sprintf("%d trailing bytes after the last item", len(b)-off)}
	}
	return items, nil
}

// VerifyBundle decodes a bundle and verifies every item's signature.
func VerifyBundle(b []byte) ([]*Item, error) {
	items, err := DecodeBundle(b)
	if err != nil {
		return nil, err
	}
	for i, it := range items {
		if err := it.Verify(); err != nil {
			return nil, fmt.Errorf("bundle item %d (%s): %w", i, it.ID(), err)
		}
	}
	return items, nil
}

// IsBundle reports whether an item's tags declare its data to be a binary ANS-104 bundle.
func IsBundle(it *Item) bool {
	f, _ := it.Tag("Bundle-Format")
	v, _ := it.Tag("Bundle-Version")
	return f == "binary" && v == "2.0.0"
}
