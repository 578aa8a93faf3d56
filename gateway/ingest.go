package gateway

import (
	"bytes"
	"fmt"
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

// unpack decodes and verifies an upload: a signed item (whose nested items are unpacked too when its tags
// declare a binary bundle) or, failing that, a bare binary bundle. The first element is the uploaded item
// itself when there is one.
func unpack(body []byte) ([]newItem, error) {
	// A bare binary bundle (what a bundler posts to Arweave) can also read as an item, its count's low byte
	// passing for a signature type; it is a bundle when its header holds and every id in it checks out.
	if raws, ids, err := splitBundle(body); err == nil && len(raws) > 0 && idsMatch(raws, ids) {
		var out []newItem
		for i, raw := range raws {
			if err := unpackRaw(raw, ids[i], "", 0, &out); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	it, err := dataitem.Decode(body)
	if err != nil {
		return nil, invalid("not an ANS-104 item: %w", err)
	}
	var out []newItem
	if err := unpackItem(it, body, "", 0, &out); err != nil {
		return nil, err
	}
	return out, nil
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

func unpackItem(it *dataitem.Item, raw []byte, parent string, depth int, out *[]newItem) error {
	id := it.ID()
	if err := it.Verify(); err != nil {
		return invalid("item %s: %w", id, err)
	}
	ct := ""
	for _, t := range it.Tags {
		if strings.EqualFold(t.Name, "Content-Type") {
			ct = t.Value
			break
		}
	}
	*out = append(*out, newItem{raw: raw, row: itemRow{
		ID:           id,
		SigType:      it.SignatureType,
		Owner:        it.Owner,
		OwnerAddress: it.OwnerAddress(),
		Target:       it.TargetID(),
		Anchor:       anchorString(it.Anchor),
		Signature:    it.Signature,
		Tags:         it.Tags,
		ContentType:  ct,
		DataOffset:   int64(len(raw) - len(it.Data)),
		DataSize:     int64(len(it.Data)),
		RawSize:      int64(len(raw)),
		BundledIn:    parent,
	}})
	if !dataitem.IsBundle(it) {
		return nil
	}
	if depth >= maxBundleDepth {
		return invalid("item %s: bundles nested deeper than %d", id, maxBundleDepth)
	}
	raws, ids, err := splitBundle(it.Data)
	if err != nil {
		return invalid("bundle %s: %w", id, err)
	}
	for i, raw := range raws {
		if err := unpackRaw(raw, ids[i], id, depth+1, out); err != nil {
			return invalid("bundle %s: %w", id, err)
		}
	}
	return nil
}

func unpackRaw(raw []byte, wantID, parent string, depth int, out *[]newItem) error {
	it, err := dataitem.Decode(raw)
	if err != nil {
		return invalid("item %s: %w", wantID, err)
	}
	if id := it.ID(); id != wantID {
		return invalid("item id %s does not match the bundle header's %s", id, wantID)
	}
	return unpackItem(it, raw, parent, depth, out)
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
