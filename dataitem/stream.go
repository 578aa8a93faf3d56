package dataitem

import (
	"errors"
	"fmt"
	"io"
)

// maxHeader is the largest possible item header: type, the longest signature and owner, target, anchor, tag
// counts and the most tag bytes.
const maxHeader = 2 + 512 + 512 + 33 + 33 + 16 + MaxTagBytes

// ReadHeader reads one item's header (everything but the data) from r and leaves r at the first data byte.
// The returned item has no Data; its id and tags are known, and VerifyReader checks it against the data.
// It reads no byte past the header.
func ReadHeader(r io.Reader) (*Item, error) {
	buf := make([]byte, 0, 1024)
	want := 2
	for {
		if want > maxHeader {
			return nil, &FormatError{Field: "item", Reason: "header longer than any valid item header"}
		}
		if want > len(buf) {
			n := len(buf)
			buf = append(buf, make([]byte, want-n)...)
			if _, err := io.ReadFull(r, buf[n:want]); err != nil {
				return nil, &FormatError{Field: "item", Reason: fmt.Sprintf("truncated header: need %d bytes, %v", want, err)}
			}
		}
		it, _, err := decodeHeader(buf, true)
		var short *shortError
		if errors.As(err, &short) {
			want = short.need
			continue
		}
		if err != nil {
			return nil, err
		}
		return it, nil
	}
}

// WriteHeader writes the item's header: Bytes without the data. Follow it with the data the item was signed
// over (see SignReader) to stream an item whose data is not in memory. It returns the header length.
func (it *Item) WriteHeader(w io.Writer) (int64, error) {
	hdr, err := it.header()
	if err != nil {
		return 0, err
	}
	n, err := w.Write(hdr)
	if err != nil {
		return int64(n), fmt.Errorf("write item header: %w", err)
	}
	return int64(n), nil
}

// HeaderSize is the length of the item's encoded header; the item's encoded size is HeaderSize plus the data
// length.
func (it *Item) HeaderSize() (int, error) {
	hdr, err := it.header()
	return len(hdr), err
}

// BundleWriter streams a bundle whose items need not be in memory: the header (sizes and ids) is written
// first, then each item's bytes in order.
type BundleWriter struct {
	w       io.Writer
	entries []BundleEntry
	next    int
}

// NewBundleWriter writes the bundle header for entries to w. Then call WriteItem once per entry, in order, and
// Close.
func NewBundleWriter(w io.Writer, entries []BundleEntry) (*BundleWriter, error) {
	if err := writeBundleHeader(w, entries); err != nil {
		return nil, err
	}
	return &BundleWriter{w: w, entries: entries}, nil
}

// WriteItem copies the next item's encoded bytes from r: exactly the entry's size, after checking that the
// item header parses and its id is the entry's.
func (bw *BundleWriter) WriteItem(r io.Reader) error {
	if bw.next >= len(bw.entries) {
		return fmt.Errorf("bundle writer: all %d items already written", len(bw.entries))
	}
	e := bw.entries[bw.next]
	idx := bw.next
	bw.next++
	lr := &io.LimitedReader{R: r, N: int64(e.Size)}
	cw := &countWriter{w: bw.w}
	it, err := ReadHeader(io.TeeReader(lr, cw))
	if cw.err != nil {
		return fmt.Errorf("write bundle item %d: %w", idx, cw.err)
	}
	if err != nil {
		return fmt.Errorf("bundle item %d: %w", idx, err)
	}
	if id := it.ID(); id != e.ID {
		return fmt.Errorf("bundle item %d: id %s is not the entry's %s", idx, id, e.ID)
	}
	if _, err := io.Copy(bw.w, lr); err != nil {
		return fmt.Errorf("write bundle item %d: %w", idx, err)
	}
	if lr.N != 0 {
		return fmt.Errorf("bundle item %d: source ended %d bytes short of %d", idx, lr.N, e.Size)
	}
	return nil
}

// Close checks that every entry's item was written.
func (bw *BundleWriter) Close() error {
	if bw.next != len(bw.entries) {
		return fmt.Errorf("bundle writer: %d of %d items written", bw.next, len(bw.entries))
	}
	return nil
}

type countWriter struct {
	w   io.Writer
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.err = err
	return n, err
}
