package gateway

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aogo/aogo/dataitem"
)

// maxBundleDepth bounds bundle nesting, so a hostile upload cannot recurse without end.
const maxBundleDepth = 8

// inputError is a refusal of the uploaded bytes (HTTP 400), as opposed to a failure of the gateway.
type inputError struct{ err error }

func (e *inputError) Error() string        { return e.err.Error() }
func (e *inputError) Unwrap() error        { return e.err }
func (e *inputError) Is(target error) bool { return target == ErrInvalid }

func invalid(format string, args ...any) error { return &inputError{fmt.Errorf(format, args...)} }

// walker visits the items of an upload read at offsets of r: a signed item (and, when its tags declare a
// binary bundle, its nested items) or, failing that, a bare binary bundle. It holds one item header at a time,
// whatever the upload's size: the bundles' entries are read one by one, data is only ever streamed.
type walker struct {
	r      io.ReaderAt
	size   int64
	verify bool // check every item's signature (streaming its data)
	// visit gets each item's header (Data nil), where its raw bytes are (off, size), its header length and
	// the id of the bundle item that holds it ("" at the top).
	visit func(it *dataitem.Item, off, size, hdr int64, parent string) error

	buf []byte        // the data of a small item being verified (at most verifyInMemory)
	br  *bufio.Reader // the data of a large item being verified
	cr  countReader   // counts a header's bytes
}

// verifyInMemory is the largest item data verified from one read into the walker's buffer; larger data is
// hashed as a stream.
const verifyInMemory = 1 << 20

// countReader counts what is read through it.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

// header reads the item header at [off, off+size) and its length.
func (w *walker) header(off, size int64) (*dataitem.Item, int64, error) {
	w.cr = countReader{r: io.NewSectionReader(w.r, off, size)}
	it, err := dataitem.ReadHeader(&w.cr) // reads no byte past the header
	return it, w.cr.n, err
}

// check verifies its signature over its data at [off, off+n).
func (w *walker) check(it *dataitem.Item, off, n int64) error {
	if n <= verifyInMemory {
		if int64(cap(w.buf)) < n {
			w.buf = make([]byte, n, max(n, 64<<10))
		}
		w.buf = w.buf[:n]
		if err := readAt(w.r, w.buf, off); err != nil {
			return fmt.Errorf("read data: %w", err)
		}
		it.Data = w.buf
		err := it.Verify()
		it.Data = nil
		return err
	}
	if w.br == nil {
		w.br = bufio.NewReaderSize(nil, copyBuf)
	}
	w.br.Reset(io.NewSectionReader(w.r, off, n))
	return it.VerifyReader(w.br, n)
}

// walk visits every item of the upload, the uploaded one first.
func (w *walker) walk() error {
	// A bare binary bundle (what a bundler posts to Arweave) can also read as an item, its count's low byte
	// passing for a signature type; it is a bundle when its header holds and every id in it checks out.
	if w.isBareBundle() {
		return w.bundle(0, w.size, "", 0)
	}
	return w.item(0, w.size, "", "", 0)
}

// entries reads a bundle header at off (n entries, each size and id) without holding it: entry returns
// the i-th.
func (w *walker) entries(off, size int64) (int64, func(i int64) (int64, string, error), error) {
	var b [64]byte
	if size < 32 {
		return 0, nil, errors.New("truncated item count")
	}
	if err := readAt(w.r, b[:32], off); err != nil {
		return 0, nil, fmt.Errorf("read bundle header: %w", err)
	}
	n, ok := le64(b[:32])
	if !ok || n > dataitem.MaxBundleItems || 32+64*n > uint64(size) {
		return 0, nil, fmt.Errorf("item count %d does not fit the bundle's %d bytes", n, size)
	}
	entry := func(i int64) (int64, string, error) {
		if err := readAt(w.r, b[:], off+32+64*i); err != nil {
			return 0, "", fmt.Errorf("read bundle entry %d: %w", i, err)
		}
		sz, ok := le64(b[:32])
		if !ok || sz > 1<<62 {
			return 0, "", fmt.Errorf("entry %d size out of range", i)
		}
		return int64(sz), dataitem.B64(b[32:]), nil
	}
	return int64(n), entry, nil
}

func le64(b []byte) (uint64, bool) {
	for _, c := range b[8:] {
		if c != 0 {
			return 0, false
		}
	}
	return binary.LittleEndian.Uint64(b), true
}

// isBareBundle tells whether the whole upload is a binary bundle: a header whose sizes add up to the upload
// and whose ids are those of the items.
func (w *walker) isBareBundle() bool {
	n, entry, err := w.entries(0, w.size)
	if err != nil || n == 0 {
		return false
	}
	off := 32 + 64*n
	for i := range n {
		sz, id, err := entry(i)
		if err != nil || sz > w.size-off {
			return false
		}
		it, _, err := w.header(off, sz)
		if err != nil || it.ID() != id {
			return false
		}
		off += sz
	}
	return off == w.size
}

// bundle visits the items of the binary bundle at [off, off+size), which must fill it exactly.
func (w *walker) bundle(off, size int64, parent string, depth int) error {
	n, entry, err := w.entries(off, size)
	if err != nil {
		return invalid("bundle %s: %w", parent, err)
	}
	pos := off + 32 + 64*n
	for i := range n {
		sz, id, err := entry(i)
		if err != nil {
			return invalid("bundle %s: %w", parent, err)
		}
		if sz > off+size-pos {
			return invalid("bundle %s: item %d size %d exceeds the %d bytes left", parent, i, sz, off+size-pos)
		}
		if err := w.item(pos, sz, id, parent, depth); err != nil {
			return err
		}
		pos += sz
	}
	if pos != off+size {
		return invalid("bundle %s: %d trailing bytes after the last item", parent, off+size-pos)
	}
	return nil
}

// item visits the item at [off, off+size) (whose id must be wantID when given) and its nested items.
func (w *walker) item(off, size int64, wantID, parent string, depth int) error {
	it, hdr, err := w.header(off, size)
	if err != nil {
		if wantID != "" {
			return invalid("item %s: %w", wantID, err)
		}
		return invalid("not an ANS-104 item: %w", err)
	}
	id := it.ID()
	if wantID != "" && id != wantID {
		return invalid("item id %s does not match the bundle header's %s", id, wantID)
	}
	data := size - hdr
	if w.verify {
		if err := w.check(it, off+hdr, data); err != nil {
			return invalid("item %s: %w", id, err)
		}
	}
	if err := w.visit(it, off, size, hdr, parent); err != nil {
		return err
	}
	if !dataitem.IsBundle(it) {
		return nil
	}
	if depth >= maxBundleDepth {
		return invalid("item %s: bundles nested deeper than %d", id, maxBundleDepth)
	}
	return w.bundle(off+hdr, data, id, depth+1)
}

// readAt fills p from r at off. A ReaderAt may answer a read that ends at its end, or reads nothing there,
// with io.EOF: that is no error.
func readAt(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// rowOf is the stored row of an item the walker visited.
func rowOf(it *dataitem.Item, size, hdr int64, parent string) itemRow {
	ct := ""
	for _, t := range it.Tags {
		if strings.EqualFold(t.Name, "Content-Type") {
			ct = t.Value
			break
		}
	}
	return itemRow{
		ID:           it.ID(),
		SigType:      it.SignatureType,
		Owner:        it.Owner,
		OwnerAddress: it.OwnerAddress(),
		Target:       it.TargetID(),
		Anchor:       anchorString(it.Anchor),
		Signature:    it.Signature,
		Tags:         it.Tags,
		ContentType:  ct,
		DataOffset:   hdr,
		DataSize:     size - hdr,
		RawSize:      size,
		BundledIn:    parent,
	}
}

func idsMatch(raws [][]byte, ids []string) bool {
	for i, raw := range raws {
		it, err := dataitem.Decode(raw)
		if err != nil || it.ID() != ids[i] {
			return false
		}
	}
	return true
}

// splitBundle cuts a binary bundle into its items' raw bytes (aliasing b) and header ids.
func splitBundle(b []byte) ([][]byte, []string, error) {
	br, err := dataitem.NewBundleReader(bytes.NewReader(b), uint64(len(b)))
	if err != nil {
		return nil, nil, err
	}
	off := uint64(32 + 64*len(br.Entries))
	raws := make([][]byte, 0, len(br.Entries))
	ids := make([]string, 0, len(br.Entries))
	for i, e := range br.Entries {
		if e.Size > uint64(len(b))-off {
			return nil, nil, fmt.Errorf("item %d size %d exceeds the %d bytes left", i, e.Size, uint64(len(b))-off)
		}
		raws = append(raws, b[off:off+e.Size])
		ids = append(ids, e.ID)
		off += e.Size
	}
	if off != uint64(len(b)) {
		return nil, nil, fmt.Errorf("%d trailing bytes after the last item", uint64(len(b))-off)
	}
	return raws, ids, nil
}

// anchorString renders an anchor as Arweave's GraphQL does: base64url of the 32 bytes, "" when absent.
func anchorString(a []byte) string {
	if len(a) == 0 {
		return ""
	}
	return dataitem.B64(a)
}
