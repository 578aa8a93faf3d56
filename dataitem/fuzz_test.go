package dataitem

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// seedItems adds the committed arbundles vectors and a few Go-made items to a fuzz corpus.
func seedItems(f *testing.F) [][]byte {
	var seeds [][]byte
	files, _ := filepath.Glob(filepath.Join("testdata", "item-*.bin"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			seeds = append(seeds, b)
		}
	}
	seeds = append(seeds, signedBytes(f, sampleItem(), newEdSigner("fuzz", ED25519)))
	seeds = append(seeds, signedBytes(f, &Item{}, newEthSigner("fuzz")))
	for _, s := range seeds {
		f.Add(s)
	}
	return seeds
}

// errorIsTyped requires decoding errors to be the package's typed ones.
func errorIsTyped(t *testing.T, err error) {
	var fe *FormatError
	if err != nil && !errors.As(err, &fe) {
		t.Fatalf("untyped error %T: %v", err, err)
	}
}

func FuzzDecode(f *testing.F) {
	seedItems(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		it, err := Decode(b)
		errorIsTyped(t, err)
		hdr, herr := ReadHeader(bytes.NewReader(b))
		if (err == nil) != (herr == nil) {
			t.Fatalf("Decode err %v, ReadHeader err %v", err, herr)
		}
		if err != nil {
			return
		}
		if hdr.ID() != it.ID() || len(hdr.Tags) != len(it.Tags) {
			t.Fatal("ReadHeader and Decode disagree")
		}
		out, err := it.Bytes()
		if err != nil {
			t.Fatalf("decoded item does not encode: %v", err)
		}
		if !bytes.Equal(out, b) {
			t.Fatal("re-encoding changed the bytes")
		}
		verr := it.Verify()
		if verr != nil && !errors.Is(verr, ErrBadSignature) {
			errorIsTyped(t, verr)
		}
		if serr := it.VerifyReader(bytes.NewReader(it.Data), int64(len(it.Data))); (serr == nil) != (verr == nil) {
			t.Fatalf("Verify %v, VerifyReader %v", verr, serr)
		}
	})
}

func FuzzDecodeTags(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0})
	f.Add(EncodeTags([]Tag{{Name: "a", Value: "b"}, {Name: "Data-Protocol", Value: "ao"}}))
	f.Add([]byte{1, 4, 2, 'a', 2, 'b', 0})       // negative block count with a size
	f.Add([]byte{2, 2, 'a', 0, 2, 2, 'b', 0, 0}) // two blocks
	for _, s := range seedItems(f) {
		if it, err := Decode(s); err == nil {
			f.Add(it.encodedTags())
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tags, err := DecodeTags(b)
		errorIsTyped(t, err)
		if err != nil || CheckTags(tags) != nil {
			return
		}
		back, err := DecodeTags(EncodeTags(tags))
		if err != nil {
			t.Fatalf("re-encoded tags do not decode: %v", err)
		}
		if !sameTags(back, tags) {
			t.Fatal("tags changed in an encode/decode round trip")
		}
	})
}

func FuzzDecodeBundle(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("testdata", "bundle.bin")); err == nil {
		f.Add(b)
	}
	_, b := sampleBundle(f, 3)
	f.Add(b)
	f.Add(make([]byte, 32))
	f.Fuzz(func(t *testing.T, b []byte) {
		items, err := DecodeBundle(b)
		errorIsTyped(t, err)
		// The streaming reader must agree on every item when the whole bundle decodes, and never panic.
		serr := drain(b, true)
		if err == nil && serr != nil {
			t.Fatalf("DecodeBundle ok, NextReader: %v", serr)
		}
		if err != nil {
			_ = drain(b, false)
			return
		}
		var buf bytes.Buffer
		if err := WriteBundle(&buf, items); err != nil {
			t.Fatalf("decoded bundle does not encode: %v", err)
		}
		if !bytes.Equal(buf.Bytes(), b) {
			t.Fatal("re-encoding the bundle changed the bytes")
		}
		br, _ := NewBundleReader(bytes.NewReader(b), 0)
		for i := 0; ; i++ {
			it, _, err := br.Next()
			if err == io.EOF {
				break
			}
			if err != nil || it.ID() != items[i].ID() {
				t.Fatalf("Next item %d: %v", i, err)
			}
		}
	})
}
