package dataitem

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

// edSigner is a deterministic ed25519 Signer for tests (package wallet depends on this package).
type edSigner struct {
	key ed25519.PrivateKey
	typ SignatureType
}

func newEdSigner(seed string, typ SignatureType) *edSigner {
	s := sha256.Sum256([]byte(seed))
	return &edSigner{key: ed25519.NewKeyFromSeed(s[:]), typ: typ}
}

func (s *edSigner) SignatureType() SignatureType { return s.typ }
func (s *edSigner) Owner() []byte                { return s.key.Public().(ed25519.PublicKey) }
func (s *edSigner) Sign(m []byte) ([]byte, error) {
	if s.typ == Solana {
		m = solanaMessage(m)
	}
	return ed25519.Sign(s.key, m), nil
}

// ethSigner signs type 3 like ethers' signMessage.
type ethSigner struct{ key *secp256k1.PrivateKey }

func newEthSigner(seed string) *ethSigner {
	s := sha256.Sum256([]byte(seed))
	return &ethSigner{key: secp256k1.PrivKeyFromBytes(s[:])}
}
func (s *ethSigner) SignatureType() SignatureType { return Ethereum }
func (s *ethSigner) Owner() []byte                { return s.key.PubKey().SerializeUncompressed() }
func (s *ethSigner) Sign(m []byte) ([]byte, error) {
	c := ecdsa.SignCompact(s.key, EthereumMessageHash(m), false)
	return append(append([]byte{}, c[1:]...), c[0]), nil
}

func sampleItem() *Item {
	return &Item{
		Target: bytes.Repeat([]byte{7}, 32),
		Anchor: []byte("00000000000000000000000000000001"),
		Tags:   []Tag{{Name: "Data-Protocol", Value: "ao"}, {Name: "Type", Value: "Message"}, {Name: "Action", Value: ""}},
		Data:   []byte("hello"),
	}
}

func signedBytes(t testing.TB, it *Item, s Signer) []byte {
	t.Helper()
	if err := it.Sign(s); err != nil {
		t.Fatal(err)
	}
	b, err := it.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// offsets of an ed25519 item with target and anchor.
const (
	edTargetAt = 2 + 64 + 32
	edAnchorAt = edTargetAt + 33
	edTagsAt   = edAnchorAt + 33
)

func TestRoundTripAllTypes(t *testing.T) {
	for _, s := range []Signer{newEdSigner("a", ED25519), newEdSigner("b", Solana), newEthSigner("c")} {
		t.Run(s.SignatureType().String(), func(t *testing.T) {
			it := sampleItem()
			b := signedBytes(t, it, s)
			got, err := Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if err := got.Verify(); err != nil {
				t.Fatalf("verify: %v", err)
			}
			if got.ID() != it.ID() || got.OwnerAddress() != Address(s.Owner()) || got.TargetID() != B64(it.Target) {
				t.Fatal("id/owner/target differ after round trip")
			}
			if len(got.Tags) != 3 || got.Tags[2] != (Tag{Name: "Action"}) {
				t.Fatalf("tags: %+v", got.Tags)
			}
			if err := got.VerifyReader(bytes.NewReader(got.Data), int64(len(got.Data))); err != nil {
				t.Fatalf("verify reader: %v", err)
			}
			// Any flipped bit in the signed part fails verification (or decoding), never passes.
			for _, off := range []int{len(b) - 1, edTargetAt + 5, edTagsAt + 20} {
				bad := append([]byte{}, b...)
				bad[off] ^= 0x10
				if s.SignatureType() == Ethereum {
					continue // offsets above are for ed25519 layouts; covered by TestEthereumCanonical
				}
				bi, err := Decode(bad)
				if err == nil {
					err = bi.Verify()
				}
				if err == nil {
					t.Fatalf("flipping byte %d still verifies", off)
				}
			}
		})
	}
}

func TestSolanaIsNotPlainEd25519(t *testing.T) {
	// Type 4 signs the hex text of the deep hash: a type-2 signature relabelled as type 4 must fail.
	it := sampleItem()
	b := signedBytes(t, it, newEdSigner("k", ED25519))
	binary.LittleEndian.PutUint16(b, uint16(Solana))
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := got.Verify(); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("got %v, want ErrBadSignature", err)
	}
}

func TestEthereumCanonical(t *testing.T) {
	s := newEthSigner("eth")
	it := sampleItem()
	b := signedBytes(t, it, s)
	sigAt := 2
	mutate := map[string]func(sig []byte){
		"v flipped": func(sig []byte) { sig[64] ^= 27 ^ 28 },
		"v zero":    func(sig []byte) { sig[64] -= 27 },
		"high s": func(sig []byte) {
			var x secp256k1.ModNScalar
			x.SetByteSlice(sig[32:64])
			x.Negate()
			b := x.Bytes()
			copy(sig[32:64], b[:])
			sig[64] ^= 27 ^ 28 // the negated s pairs with the other recovery id: still a valid ECDSA signature
		},
		"r zero": func(sig []byte) { clear(sig[:32]) },
	}
	for name, f := range mutate {
		t.Run(name, func(t *testing.T) {
			bad := append([]byte{}, b...)
			f(bad[sigAt : sigAt+65])
			got, err := Decode(bad)
			if err != nil {
				t.Fatal(err)
			}
			if err := got.Verify(); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("got %v, want ErrBadSignature", err)
			}
		})
	}
	t.Run("high s is otherwise valid ECDSA", func(t *testing.T) {
		// Guard the test above: the high-s variant must be a signature plain ECDSA accepts, so rejecting it is
		// the canonical-form rule and not an accident.
		bad := append([]byte{}, b...)
		mutate["high s"](bad[sigAt : sigAt+65])
		got, _ := Decode(bad)
		h := got.SignatureData()
		var r, ss secp256k1.ModNScalar
		r.SetByteSlice(got.Signature[:32])
		ss.SetByteSlice(got.Signature[32:64])
		pub, _ := secp256k1.ParsePubKey(got.Owner)
		if !ecdsa.NewSignature(&r, &ss).Verify(EthereumMessageHash(h[:]), pub) {
			t.Fatal("negated-s signature does not verify as plain ECDSA")
		}
	})
	t.Run("owner not uncompressed", func(t *testing.T) {
		bad := append([]byte{}, b...)
		bad[2+65] = 3
		got, _ := Decode(bad)
		var fe *FormatError
		if err := got.Verify(); !errors.As(err, &fe) || fe.Field != "owner" {
			t.Fatalf("got %v, want owner FormatError", err)
		}
	})
}

func TestTagsEditedAfterDecodeAreReencoded(t *testing.T) {
	b := signedBytes(t, sampleItem(), newEdSigner("x", ED25519))
	it, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	it.Tags[1].Value = "Process"
	out, err := it.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(out)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := back.Tag("Type"); v != "Process" {
		t.Fatalf("edited tag lost: %q", v)
	}
	if err := back.Verify(); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("edited item verifies (%v): stale tag bytes were hashed", err)
	}
	if err := it.Verify(); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("edited in-memory item verifies (%v)", err)
	}
	// Appending a tag is noticed too.
	it2, _ := Decode(b)
	it2.Tags = append(it2.Tags, Tag{Name: "New", Value: "1"})
	if err := it2.Verify(); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("item with appended tag verifies (%v)", err)
	}
}

func TestNonCanonicalTagEncodingVerifies(t *testing.T) {
	// Another encoder may write the Avro array in several blocks, with negative counts and sizes. The signature
	// covers those bytes; decoding must keep them so verification and re-encoding reproduce them.
	s := newEdSigner("blocks", ED25519)
	raw := []byte{}
	raw = binary.AppendVarint(raw, -1)
	raw = binary.AppendVarint(raw, 6)
	for _, x := range []string{"A", "1"} {
		raw = binary.AppendVarint(raw, int64(len(x)))
		raw = append(raw, x...)
	}
	raw = binary.AppendVarint(raw, 1)
	for _, x := range []string{"B", "2"} {
		raw = binary.AppendVarint(raw, int64(len(x)))
		raw = append(raw, x...)
	}
	raw = append(raw, 0)
	it := &Item{SignatureType: ED25519, Owner: s.Owner(), Tags: []Tag{{"A", "1"}, {"B", "2"}}, rawTags: raw}
	it.rawTagsOf = append([]Tag(nil), it.Tags...)
	h := it.SignatureData()
	it.Signature, _ = s.Sign(h[:])
	b, err := it.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := got.Verify(); err != nil {
		t.Fatalf("verify: %v", err)
	}
	if bytes.Equal(EncodeTags(got.Tags), raw) {
		t.Fatal("test is vacuous: the block layout equals the canonical one")
	}
	again, _ := got.Bytes()
	if !bytes.Equal(again, b) {
		t.Fatal("re-encoding changed the bytes")
	}
}

func TestZeroTagsWithEmptyArrayBytes(t *testing.T) {
	// Tag count 0 with the one-byte empty Avro array: arbundles accepts it (it skips parsing), so do we.
	s := newEdSigner("z", ED25519)
	it := &Item{SignatureType: ED25519, Owner: s.Owner(), rawTags: []byte{0}, Data: []byte("d")}
	h := it.SignatureData()
	it.Signature, _ = s.Sign(h[:])
	b, err := it.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := got.Verify(); err != nil || len(got.Tags) != 0 {
		t.Fatalf("verify %v, tags %v", err, got.Tags)
	}
}

func TestDecodeDoesNotCopy(t *testing.T) {
	b := signedBytes(t, sampleItem(), newEdSigner("alias", ED25519))
	it, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if &it.Data[0] != &b[len(b)-5] || &it.Signature[0] != &b[2] {
		t.Fatal("Decode copied data or signature")
	}
	// Capacity is clipped: appending to a field must not overwrite the next one.
	_ = append(it.Signature, 0xff)
	if b[2+64] == 0xff && it.Owner[0] != 0xff {
		t.Fatal("append to Signature overwrote the owner")
	}
	c := it.Clone()
	b[len(b)-1] ^= 1
	if err := c.Verify(); err != nil {
		t.Fatalf("clone shares memory with the input: %v", err)
	}
}

func TestSignatureDataAllocs(t *testing.T) {
	b := signedBytes(t, sampleItem(), newEdSigner("allocs", ED25519))
	it, _ := Decode(b)
	if n := testing.AllocsPerRun(100, func() { it.SignatureData() }); n != 0 {
		t.Fatalf("SignatureData of a decoded item allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() {
		if _, err := Decode(b); err != nil {
			t.Fatal(err)
		}
	}); n > 3 {
		t.Fatalf("Decode allocates %v times, want ≤ 3 (item, tag slice, tag strings)", n)
	}
}

func TestReadHeaderLeavesData(t *testing.T) {
	it := sampleItem()
	b := signedBytes(t, it, newEdSigner("stream", ED25519))
	r := bytes.NewReader(b)
	h, err := ReadHeader(r)
	if err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(r)
	if string(rest) != "hello" || h.ID() != it.ID() || h.Data != nil {
		t.Fatalf("ReadHeader left %q, id %s", rest, h.ID())
	}
	if err := h.VerifyReader(bytes.NewReader(rest), int64(len(rest))); err != nil {
		t.Fatal(err)
	}
	if err := h.VerifyReader(strings.NewReader("hell"), 5); err == nil {
		t.Fatal("short data verified")
	}
	if err := h.VerifyReader(strings.NewReader("jello"), 5); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("other data: %v", err)
	}
}

func TestSignReaderMatchesSign(t *testing.T) {
	s := newEdSigner("sr", ED25519)
	a := sampleItem()
	ab := signedBytes(t, a, s)
	c := sampleItem()
	data := c.Data
	c.Data = nil
	if err := c.SignReader(s, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := c.WriteHeader(&buf); err != nil {
		t.Fatal(err)
	}
	buf.Write(data)
	if !bytes.Equal(buf.Bytes(), ab) { // ed25519 is deterministic
		t.Fatal("streamed signing differs from in-memory signing")
	}
}

func TestMalformedItems(t *testing.T) {
	good := signedBytes(t, sampleItem(), newEdSigner("m", ED25519))
	with := func(f func(b []byte) []byte) []byte { return f(append([]byte{}, good...)) }
	setTags := func(raw []byte, count uint64) []byte {
		b := append([]byte{}, good[:edTagsAt]...)
		b = binary.LittleEndian.AppendUint64(b, count)
		b = binary.LittleEndian.AppendUint64(b, uint64(len(raw)))
		return append(append(b, raw...), "data"...)
	}
	enc := func(tags ...Tag) []byte { return EncodeTags(tags) }
	cases := []struct {
		name, field, reason string
		b                   []byte
	}{
		{"empty", "signature type", "truncated", nil},
		{"one byte", "signature type", "truncated", []byte{2}},
		{"type 0", "signature type", "unsupported signature type 0", []byte{0, 0, 1, 2, 3}},
		{"type 5", "signature type", "unsupported signature type 5", with(func(b []byte) []byte { b[0] = 5; return b })},
		{"type 0xffff", "signature type", "unsupported", []byte{0xff, 0xff}},
		{"truncated signature", "signature", "truncated", good[:40]},
		{"truncated owner", "owner", "truncated", good[:2+64+10]},
		{"no target presence", "target", "truncated", good[:edTargetAt]},
		{"target presence 2", "target", "presence byte is 2", with(func(b []byte) []byte { b[edTargetAt] = 2; return b })},
		{"truncated target", "target", "truncated", good[:edTargetAt+10]},
		{"anchor presence 7", "anchor", "presence byte is 7", with(func(b []byte) []byte { b[edAnchorAt] = 7; return b })},
		{"truncated anchor", "anchor", "truncated", good[:edAnchorAt+5]},
		{"truncated tag header", "tag header", "truncated", good[:edTagsAt+9]},
		{"tag count over 128", "tags", "tag count 129 over the limit", with(func(b []byte) []byte { b[edTagsAt] = 129; return b })},
		{"tag bytes over 4096", "tags", "over the limit 4096", with(func(b []byte) []byte {
			binary.LittleEndian.PutUint64(b[edTagsAt+8:], 5000)
			return b
		})},
		{"tag bytes past end", "tags", "exceeds the", with(func(b []byte) []byte {
			binary.LittleEndian.PutUint64(b[edTagsAt+8:], 4000)
			return b
		})},
		{"huge tag length", "tags", "over the limit", with(func(b []byte) []byte {
			binary.LittleEndian.PutUint64(b[edTagsAt+8:], 1<<63)
			return b
		})},
		{"count mismatch", "tags", "header says 2 tags, the tag bytes hold 1", setTags(enc(Tag{"A", "1"}), 2)},
		{"count zero with tags", "tags", "header says 0 tags, the tag bytes hold 1", setTags(enc(Tag{"A", "1"}), 0)},
		{"bad varint", "tags", "varint", setTags([]byte{0x80}, 1)},
		{"varint overflow", "tags", "overflows", setTags(bytes.Repeat([]byte{0xff}, 11), 1)},
		{"trailing tag bytes", "tags", "1 trailing bytes", setTags(append(enc(Tag{"A", "1"}), 9), 1)},
		{"name length out of range", "tags", "tag name length 100 out of range", setTags([]byte{2, 200, 1}, 1)},
		{"negative name length", "tags", "tag name length -1 out of range", setTags([]byte{2, 1}, 1)},
		{"empty name", "tags", "empty name", setTags(enc(Tag{"", "v"}), 1)},
		{"name too long", "tags", "name is 1025 bytes", setTags(enc(Tag{strings.Repeat("n", 1025), ""}), 1)},
		{"value too long", "tags", "value is 3073 bytes", setTags(enc(Tag{"n", strings.Repeat("v", 3073)}), 1)},
		{"block count MinInt64", "tags", "block count out of range", setTags(binary.AppendVarint(nil, -1<<63), 1)},
		{"too many tags in blocks", "tags", "more than 128 tags", setTags(binary.AppendVarint(nil, 129), 1)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode(c.b)
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v (%T), want *FormatError", err, err)
			}
			if fe.Field != c.field || !strings.Contains(fe.Reason, c.reason) {
				t.Fatalf("got field %q reason %q, want %q containing %q", fe.Field, fe.Reason, c.field, c.reason)
			}
			// The streaming header reader agrees on every malformed header.
			_, err = ReadHeader(bytes.NewReader(c.b))
			if !errors.As(err, &fe) {
				t.Fatalf("ReadHeader: got %v, want *FormatError", err)
			}
		})
	}
	t.Run("bad signature", func(t *testing.T) {
		it, err := Decode(with(func(b []byte) []byte { b[10] ^= 1; return b }))
		if err != nil {
			t.Fatal(err)
		}
		if err := it.Verify(); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("got %v, want ErrBadSignature", err)
		}
	})
}

func TestEncodeRejects(t *testing.T) {
	s := newEdSigner("e", ED25519)
	cases := map[string]*Item{
		"short target":  {Target: []byte{1}},
		"long anchor":   {Anchor: make([]byte, 33)},
		"129 tags":      {Tags: make([]Tag, 129)},
		"empty name":    {Tags: []Tag{{Name: "", Value: "x"}}},
		"tag bytes big": {Tags: []Tag{{Name: strings.Repeat("n", 1024), Value: strings.Repeat("v", 3072)}}},
	}
	for name, it := range cases {
		t.Run(name, func(t *testing.T) {
			var fe *FormatError
			if err := it.Sign(s); !errors.As(err, &fe) {
				t.Fatalf("Sign: got %v, want *FormatError", err)
			}
		})
	}
	if _, err := (&Item{SignatureType: ED25519}).Bytes(); !errors.Is(err, ErrUnsigned) {
		t.Fatalf("unsigned Bytes: %v", err)
	}
}

func TestAnchorAndTargetOptional(t *testing.T) {
	s := newEdSigner("opt", ED25519)
	for _, it := range []*Item{{}, {Target: make([]byte, 32)}, {Anchor: make([]byte, 32)}} {
		b := signedBytes(t, it, s)
		got, err := Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Target) != len(it.Target) || len(got.Anchor) != len(it.Anchor) {
			t.Fatal("presence lost")
		}
		if err := got.Verify(); err != nil {
			t.Fatal(err)
		}
	}
}
