package verify

import (
	"bytes"
	"testing"

	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/wallet"
)

// FuzzParseStatement: any bytes give a statement or an error, never a panic; a statement that parses
// re-signs to one that parses the same.
func FuzzParseStatement(f *testing.F) {
	w, _ := wallet.Generate(wallet.ED25519)
	h := dataitem.B64(make([]byte, 32))
	st := &Statement{Process: h, Module: h, Slot: 7, Message: h, HashChain: h, ResultHash: h, MemoryHash: h, SlotsChecked: 8}
	raw, err := st.Sign(w)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add([]byte{})
	f.Add(raw[:len(raw)/2])
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseStatement(b)
		if err != nil {
			return
		}
		again, err := s.Sign(w)
		if err != nil {
			t.Fatalf("re-sign: %v", err)
		}
		s2, err := ParseStatement(again)
		if err != nil || s2.Slot != s.Slot || s2.ResultHash != s.ResultHash || s2.MemoryHash != s.MemoryHash {
			t.Fatalf("re-signed statement: %+v %v", s2, err)
		}
	})
}

// FuzzSplitBundle: a gateway's bundle bytes split into items that lie within them, or an error.
func FuzzSplitBundle(f *testing.F) {
	w, _ := wallet.Generate(wallet.ED25519)
	var items []*dataitem.Item
	for _, d := range []string{"a", "bc"} {
		it := &dataitem.Item{Data: []byte(d)}
		if err := it.Sign(w); err != nil {
			f.Fatal(err)
		}
		items = append(items, it)
	}
	b, err := dataitem.EncodeBundle(items)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(b[:40])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := splitBundle(data)
		if err != nil {
			return
		}
		total := 0
		for _, raw := range got {
			if !bytes.Contains(data, raw) {
				t.Fatal("an item outside the bundle")
			}
			total += len(raw)
		}
		if total > len(data) {
			t.Fatalf("items of %d bytes in %d", total, len(data))
		}
	})
}

func TestStatementTampered(t *testing.T) {
	w, _ := wallet.Generate(wallet.ED25519)
	h := dataitem.B64(bytes.Repeat([]byte{1}, 32))
	div := int64(3)
	st := &Statement{Process: h, Module: h, Slot: 7, Message: h, HashChain: h, ResultHash: h, MemoryHash: h,
		SlotsChecked: 8, UnitsAgreeing: []string{"a", "b"}, DivergenceSlot: &div}
	raw, err := st.Sign(w)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseStatement(raw)
	if err != nil || got.Verifier != w.Address() || got.Slot != 7 || *got.DivergenceSlot != 3 || len(got.UnitsAgreeing) != 2 {
		t.Fatalf("%+v %v", got, err)
	}
	i := bytes.Index(raw, []byte(h))
	raw[i] ^= 1
	if _, err := ParseStatement(raw); err == nil {
		t.Fatal("a tampered statement parses")
	}
}
