package dataitem

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
)

func sampleBundle(t testing.TB, n int) ([]*Item, []byte) {
	t.Helper()
	s := newEdSigner("bundle", ED25519)
	items := make([]*Item, n)
	for i := range items {
		it := &Item{Tags: []Tag{{Name: "N", Value: fmt.Sprint(i)}}, Data: bytes.Repeat([]byte{byte(i)}, i*10)}
		if err := it.Sign(s); err != nil {
			t.Fatal(err)
		}
		items[i] = it
	}
	b, err := EncodeBundle(items)
	if err != nil {
		t.Fatal(err)
	}
	return items, b
}

func TestBundleRoundTrip(t *testing.T) {
	items, b := sampleBundle(t, 5)
	got, err := VerifyBundle(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range items {
		if got[i].ID() != items[i].ID() || !bytes.Equal(got[i].Data, items[i].Data) {
			t.Fatalf("item %d differs", i)
		}
	}
	// Raw writer gives the same bytes.
	raws := make([][]byte, len(items))
	for i, it := range items {
		raws[i], _ = it.Bytes()
	}
	var buf bytes.Buffer
	if err := WriteBundleRaw(&buf, raws); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), b) {
		t.Fatal("WriteBundleRaw differs from WriteBundle")
	}
	// The streaming writer too.
	entries := make([]BundleEntry, len(items))
	for i, r := range raws {
		entries[i] = BundleEntry{Size: uint64(len(r)), ID: items[i].ID()}
	}
	buf.Reset()
	bw, err := NewBundleWriter(&buf, entries)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range raws {
		if err := bw.WriteItem(bytes.NewReader(r)); err != nil {
			t.Fatal(err)
		}
	}
	if err := bw.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), b) {
		t.Fatal("BundleWriter differs from WriteBundle")
	}
	// Empty bundle.
	e, err := EncodeBundle(nil)
	if err != nil || len(e) != 32 {
		t.Fatalf("empty bundle: %d bytes, %v", len(e), err)
	}
	if got, err := DecodeBundle(e); err != nil || len(got) != 0 {
		t.Fatalf("decode empty: %v %v", got, err)
	}
}

func TestBundleWriterChecks(t *testing.T) {
	items, _ := sampleBundle(t, 2)
	r0, _ := items[0].Bytes()
	r1, _ := items[1].Bytes()
	entries := []BundleEntry{{Size: uint64(len(r0)), ID: items[0].ID()}, {Size: uint64(len(r1)), ID: items[1].ID()}}
	bw, _ := NewBundleWriter(io.Discard, entries)
	if err := bw.WriteItem(bytes.NewReader(r1)); err == nil || !strings.Contains(err.Error(), "id") {
		t.Fatalf("wrong item accepted: %v", err)
	}
	bw, _ = NewBundleWriter(io.Discard, entries)
	if err := bw.WriteItem(bytes.NewReader(r0[:len(r0)-1])); err == nil {
		t.Fatal("short item accepted")
	}
	bw, _ = NewBundleWriter(io.Discard, entries)
	_ = bw.WriteItem(bytes.NewReader(r0))
	if err := bw.Close(); err == nil {
		t.Fatal("Close with a missing item succeeded")
	}
	if _, err := NewBundleWriter(io.Discard, []BundleEntry{{Size: 1, ID: "short"}}); err == nil {
		t.Fatal("bad id accepted")
	}
}

func TestBundleReaderStreams(t *testing.T) {
	items, b := sampleBundle(t, 6)
	br, err := NewBundleReader(bytes.NewReader(b), 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		var it *Item
		var data []byte
		var err error
		if i%2 == 0 { // alternate the two ways, leaving some streamed data unread
			it, data, err = br.Next()
			if err == nil {
				data = it.Data
			}
		} else {
			var r io.Reader
			var n int64
			it, r, n, err = br.NextReader()
			if err == nil {
				if i == 3 {
					data = items[i].Data // leave it unread: Next must skip it
				} else {
					data = make([]byte, n)
					if _, err := io.ReadFull(r, data); err != nil {
						t.Fatal(err)
					}
				}
				if err := it.VerifyReader(bytes.NewReader(data), n); err != nil {
					t.Fatalf("item %d: %v", i, err)
				}
			}
		}
		if err == io.EOF {
			if i != len(items) {
				t.Fatalf("EOF after %d items", i)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if it.ID() != items[i].ID() || !bytes.Equal(data, items[i].Data) {
			t.Fatalf("item %d differs", i)
		}
	}
}

func TestMalformedBundles(t *testing.T) {
	items, good := sampleBundle(t, 3)
	with := func(f func(b []byte) []byte) []byte { return f(append([]byte{}, good...)) }
	hdr := 32 + 64*3
	cases := []struct {
		name, field, reason string
		b                   []byte
	}{
		{"empty", "bundle header", "truncated item count", nil},
		{"short count", "bundle header", "truncated item count", good[:20]},
		{"count over 64 bits", "bundle header", "item count does not fit", with(func(b []byte) []byte { b[20] = 1; return b })},
		{"count over limit", "bundle header", "over the limit", with(func(b []byte) []byte {
			binary.LittleEndian.PutUint64(b, MaxBundleItems+1)
			return b
		})},
		{"huge count, short header", "bundle header", "truncated at entry 3 of 1000", with(func(b []byte) []byte {
			binary.LittleEndian.PutUint64(b, 1000)
			return b[:hdr]
		})},
		{"size over 64 bits", "bundle header", "entry 1 size does not fit", with(func(b []byte) []byte { b[32+64+31] = 1; return b })},
		{"size past end", "bundle item", "exceeds the", with(func(b []byte) []byte {
			binary.LittleEndian.PutUint64(b[32+128:], 1<<40)
			return b
		})},
		{"id mismatch", "bundle item", "item 1 id", with(func(b []byte) []byte { b[32+64+32] ^= 1; return b })},
		{"trailing bytes", "bundle", "2 trailing bytes", append(append([]byte{}, good...), 0, 0)},
		{"truncated item", "bundle item", "exceeds the", good[:len(good)-1]},
		{"bad item", "signature type", "unsupported signature type", with(func(b []byte) []byte { b[hdr] = 9; return b })},
		{"sizes swapped", "", "", with(func(b []byte) []byte {
			s0 := binary.LittleEndian.Uint64(b[32:])
			binary.LittleEndian.PutUint64(b[32:], s0+1)
			return b
		})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeBundle(c.b)
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v (%T), want *FormatError", err, err)
			}
			if c.field != "" && (fe.Field != c.field || !strings.Contains(fe.Reason, c.reason)) {
				t.Fatalf("got field %q reason %q, want %q containing %q", fe.Field, fe.Reason, c.field, c.reason)
			}
			// The streaming reader fails on the same input too (it cannot see trailing bytes).
			if c.name == "trailing bytes" {
				return
			}
			err = drain(c.b, false)
			if !errors.As(err, &fe) {
				t.Fatalf("BundleReader.Next: got %v, want *FormatError", err)
			}
			err = drain(c.b, true)
			if !errors.As(err, &fe) {
				t.Fatalf("BundleReader.NextReader: got %v, want *FormatError", err)
			}
		})
	}
	t.Run("bad signature", func(t *testing.T) {
		bad := with(func(b []byte) []byte { b[len(b)-1] ^= 1; return b })
		if _, err := DecodeBundle(bad); err != nil {
			t.Fatalf("decode: %v", err)
		}
		if _, err := VerifyBundle(bad); !errors.Is(err, ErrBadSignature) || !strings.Contains(err.Error(), items[2].ID()) {
			t.Fatalf("got %v, want ErrBadSignature naming item 2", err)
		}
	})
	t.Run("item larger than maxItem", func(t *testing.T) {
		br, err := NewBundleReader(bytes.NewReader(good), 10)
		if err != nil {
			t.Fatal(err)
		}
		var fe *FormatError
		if _, _, err := br.Next(); !errors.As(err, &fe) || !strings.Contains(fe.Reason, "over the limit 10") {
			t.Fatalf("got %v", err)
		}
	})
}

// drain reads a whole bundle with a BundleReader, streaming data when stream is set, and verifies nothing.
func drain(b []byte, stream bool) error {
	br, err := NewBundleReader(bytes.NewReader(b), 0)
	if err != nil {
		return err
	}
	for {
		if stream {
			_, r, _, err := br.NextReader()
			if err != nil {
				if err == io.EOF {
					return nil
				}
				return err
			}
			if _, err := io.Copy(io.Discard, r); err != nil {
				return err
			}
			continue
		}
		if _, _, err := br.Next(); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

func TestReadNDoesNotTrustSizes(t *testing.T) {
	// A header claiming a 1 GiB item over a short stream must fail without allocating 1 GiB.
	var b []byte
	b = binary.LittleEndian.AppendUint64(b, 1)
	b = append(b, make([]byte, 24)...)
	b = binary.LittleEndian.AppendUint64(b, 1<<30)
	b = append(b, make([]byte, 56)...)
	br, err := NewBundleReader(io.MultiReader(bytes.NewReader(b), strings.NewReader("short")), 0)
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var fe *FormatError
	if _, _, err := br.Next(); !errors.As(err, &fe) {
		t.Fatalf("got %v", err)
	}
	runtime.ReadMemStats(&after)
	if d := after.TotalAlloc - before.TotalAlloc; d > 16<<20 {
		t.Fatalf("reading a short stream allocated %d bytes", d)
	}
}
