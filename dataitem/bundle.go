package dataitem

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// A binary ANS-104 bundle: item count (32 bytes LE) ‖ count × (item size (32 bytes LE) ‖ raw id (32 bytes))
// ‖ the items back to back.

// MaxBundleItems bounds the header a decoder will read; a larger count is treated as malformed.
const MaxBundleItems = 1 << 20

// BundleEntry is one header entry: the item's size and id.
type BundleEntry struct {
	Size uint64
	ID   string
}

// WriteBundle writes items (encoded, signed) as a bundle to w, without copying their data.
func WriteBundle(w io.Writer, items []*Item) error {
	headers := make([][]byte, len(items))
	entries := make([]BundleEntry, len(items))
	for i, it := range items {
		hdr, err := it.header()
		if err != nil {
			return fmt.Errorf("bundle item %d: %w", i, err)
		}
		headers[i] = hdr
		entries[i] = BundleEntry{Size: uint64(len(hdr) + len(it.Data)), ID: it.ID()}
	}
	if err := writeBundleHeader(w, entries); err != nil {
		return err
	}
	for i, it := range items {
		if _, err := w.Write(headers[i]); err != nil {
			return fmt.Errorf("write bundle item %d: %w", i, err)
		}
		if _, err := w.Write(it.Data); err != nil {
			return fmt.Errorf("write bundle item %d: %w", i, err)
		}
	}
	return nil
}

// WriteBundleRaw writes already-encoded items as a bundle. Each must be a structurally valid item.
func WriteBundleRaw(w io.Writer, items [][]byte) error {
	entries := make([]BundleEntry, len(items))
	for i, b := range items {
		it, _, err := decodeHeader(b, false)
		if err != nil {
			return fmt.Errorf("bundle item %d: %w", i, err)
		}
		entries[i] = BundleEntry{Size: uint64(len(b)), ID: it.ID()}
	}
	if err := writeBundleHeader(w, entries); err != nil {
		return err
	}
	for i, b := range items {
		if _, err := w.Write(b); err != nil {
			return fmt.Errorf("write bundle item %d: %w", i, err)
		}
	}
	return nil
}

func writeBundleHeader(w io.Writer, entries []BundleEntry) error {
	if len(entries) > MaxBundleItems {
		return fmt.Errorf("bundle of %d items is over the limit %d", len(entries), MaxBundleItems)
	}
	hdr := make([]byte, 32+64*len(entries))
	binary.LittleEndian.PutUint64(hdr, uint64(len(entries)))
	for i, e := range entries {
		off := 32 + 64*i
		binary.LittleEndian.PutUint64(hdr[off:], e.Size)
		id, err := DecodeB64(e.ID)
		if err != nil || len(id) != 32 {
			return fmt.Errorf("bundle entry %d: id %q is not 32 bytes of base64url", i, e.ID)
		}
		copy(hdr[off+32:], id)
	}
	if _, err := w.Write(hdr); err != nil {
		return fmt.Errorf("write bundle header: %w", err)
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

// BundleReader reads a bundle item by item, so a bundle need not fit in memory: Next reads one whole item,
// NextReader only its header and hands out its data as a stream.
type BundleReader struct {
	r       io.Reader
	Entries []BundleEntry
	next    int
	maxItem uint64
	pending *io.LimitedReader // what NextReader's caller left unread of the previous item
}

// NewBundleReader reads the bundle header from r. maxItem bounds the size of any one item Next will read into
// memory (0 means 1 GiB); NextReader is not bound by it.
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
		size, err := le256(entry[:32], fmt.Sprintf("entry %d size", i))
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

// skipPending discards what the caller of NextReader did not read.
func (br *BundleReader) skipPending() error {
	if br.pending == nil {
		return nil
	}
	p := br.pending
	br.pending = nil
	if _, err := io.Copy(io.Discard, p); err != nil {
		return fmt.Errorf("skip item data: %w", err)
	}
	if p.N != 0 {
		return &FormatError{Field: "bundle item", Reason: fmt.Sprintf("item %d truncated: %d data bytes missing", br.next-1, p.N)}
	}
	return nil
}

// Next returns the next item's raw bytes and its decoded form (aliasing them), or io.EOF after the last one. It
// checks that the item decodes and that its id matches the header; it does not verify the signature.
func (br *BundleReader) Next() (*Item, []byte, error) {
	if err := br.skipPending(); err != nil {
		return nil, nil, err
	}
	if br.next >= len(br.Entries) {
		return nil, nil, io.EOF
	}
	e := br.Entries[br.next]
	idx := br.next
	br.next++
	if e.Size > br.maxItem {
		return nil, nil, &FormatError{Field: "bundle item", Reason: fmt.Sprintf("item %d is %d bytes, over the limit %d", idx, e.Size, br.maxItem)}
	}
	b, err := readN(br.r, e.Size)
	if err != nil {
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

// NextReader returns the next item's header (Data nil), a reader of exactly its dataSize data bytes, or io.EOF
// after the last item. Read the data (or not) before the next call; verify with Item.VerifyReader. The header
// id is checked against the bundle header.
func (br *BundleReader) NextReader() (it *Item, data io.Reader, dataSize int64, err error) {
	if err := br.skipPending(); err != nil {
		return nil, nil, 0, err
	}
	if br.next >= len(br.Entries) {
		return nil, nil, 0, io.EOF
	}
	e := br.Entries[br.next]
	idx := br.next
	br.next++
	if e.Size > 1<<62 {
		return nil, nil, 0, &FormatError{Field: "bundle item", Reason: fmt.Sprintf("item %d size %d out of range", idx, e.Size)}
	}
	lr := &io.LimitedReader{R: br.r, N: int64(e.Size)}
	br.pending = lr
	it, err = ReadHeader(lr)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("bundle item %d: %w", idx, err)
	}
	if id := it.ID(); id != e.ID {
		return nil, nil, 0, &FormatError{Field: "bundle item", Reason: fmt.Sprintf("item %d id %s does not match header id %s", idx, id, e.ID)}
	}
	return it, lr, lr.N, nil
}

// readN reads exactly n bytes, growing the buffer as bytes arrive so a header that lies about a size cannot
// make us allocate more than the input holds.
func readN(r io.Reader, n uint64) ([]byte, error) {
	const step = 1 << 20
	if n <= step {
		b := make([]byte, n)
		_, err := io.ReadFull(r, b)
		return b, err
	}
	if br, ok := r.(*bytes.Reader); ok && uint64(br.Len()) < n {
		return nil, fmt.Errorf("need %d bytes, %d left", n, br.Len())
	}
	var buf bytes.Buffer
	buf.Grow(step)
	got, err := io.Copy(&buf, io.LimitReader(r, int64(n)))
	if err != nil {
		return nil, err
	}
	if uint64(got) != n {
		return nil, fmt.Errorf("%d of %d bytes: %w", got, n, io.ErrUnexpectedEOF)
	}
	return buf.Bytes(), nil
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
		it, err := Decode(b[off : off+int(e.Size) : off+int(e.Size)])
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
