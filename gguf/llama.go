package gguf

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// Config is a tiny llama model. The zero value of a field means its default (DefaultConfig).
type Config struct {
	Embd    int        // llama.embedding_length (n_embd)
	Layers  int        // llama.block_count
	Heads   int        // llama.attention.head_count; Embd must divide by it
	HeadsKV int        // llama.attention.head_count_kv; Heads must divide by it (grouped-query attention)
	FF      int        // llama.feed_forward_length
	Vocab   int        // tokens: 3 special, 256 byte tokens, then text tokens; at least MinVocab
	Context int        // llama.context_length
	Seed    uint64     // the weights' random stream
	Type    TensorType // F16 or F32 for the matrices; norm vectors are always F32, as llama.cpp's converters write them
}

// MaxSize bounds the tensor data of a generated model (16 GiB: an 8B-parameter model in F16), so a typo in
// a flag cannot fill a disk.
const MaxSize = 16 << 30

// DefaultConfig is the model `aogo model gen` writes without flags: 2.1 MB in F16.
var DefaultConfig = Config{Embd: 128, Layers: 4, Heads: 4, HeadsKV: 4, FF: 344, Vocab: 1024, Context: 512, Seed: 1, Type: F16}

// Token types of tokenizer.ggml.token_type (llama.cpp's llama_token_type).
const (
	tokNormal  int32 = 1
	tokUnknown int32 = 2
	tokControl int32 = 3
	tokByte    int32 = 6
)

// The vocabulary's fixed part: <unk>, <s>, </s>, the 256 byte tokens <0x00>…<0xFF> (llama.cpp's
// SentencePiece tokenizer falls back to them for text no token covers, and needs <0x0A> for its line
// feed), "▁" (U+2581, SentencePiece's space), every printable ASCII character, and "▁a"…"▁z".
const (
	unkID, bosID, eosID = 0, 1, 2
	firstByteID         = 3
	firstTextID         = firstByteID + 256
	MinVocab            = firstTextID + 1 + 94 + 26
)

// withDefaults fills zero fields from DefaultConfig and checks the shape.
func (c Config) withDefaults() (Config, error) {
	d := DefaultConfig
	for _, p := range []struct{ v, def *int }{{&c.Embd, &d.Embd}, {&c.Layers, &d.Layers}, {&c.Heads, &d.Heads}, {&c.FF, &d.FF}, {&c.Vocab, &d.Vocab}, {&c.Context, &d.Context}} {
		if *p.v == 0 {
			*p.v = *p.def
		}
	}
	if c.HeadsKV == 0 {
		c.HeadsKV = c.Heads
	}
	switch {
	case c.Embd < 0 || c.Layers < 0 || c.Heads < 0 || c.HeadsKV < 0 || c.FF < 0 || c.Vocab < 0 || c.Context < 0:
		return c, fmt.Errorf("gguf: negative size in %+v", c)
	case c.Embd%c.Heads != 0:
		return c, fmt.Errorf("gguf: embedding length %d does not divide by %d heads", c.Embd, c.Heads)
	case c.Heads%c.HeadsKV != 0:
		return c, fmt.Errorf("gguf: %d heads do not divide by %d key/value heads", c.Heads, c.HeadsKV)
	case (c.Embd/c.Heads)%2 != 0:
		return c, fmt.Errorf("gguf: head size %d must be even (rotary embedding)", c.Embd/c.Heads)
	case c.Vocab < MinVocab:
		return c, fmt.Errorf("gguf: vocabulary %d is below the minimum %d", c.Vocab, MinVocab)
	case c.Type != F16 && c.Type != F32:
		return c, fmt.Errorf("gguf: tensor type %v not supported (f16, f32)", c.Type)
	case uint64(c.Vocab)*uint64(c.Embd) > 1<<34 || uint64(c.Embd)*uint64(c.FF) > 1<<34 || c.Layers > 1024 || c.Context > 1<<20:
		return c, fmt.Errorf("gguf: model too large: %+v", c)
	}
	return c, nil
}

// Size is the size in bytes of the file Llama writes for c.
func (c Config) Size() (int64, error) {
	kvs, tensors, err := c.plan()
	if err != nil {
		return 0, err
	}
	n, err := size(kvs, tensors)
	return int64(n), err
}

// Llama writes the model c describes. The same Config gives the same bytes on every machine: the weights
// come from a SplitMix64 stream seeded with c.Seed, in file order, converted with exact float32 steps
// (no fused multiply-add can change a rounding) and F16 rounding to nearest even.
//
// Weights are uniform in ±sqrt(3/fan_in) (unit variance through each matrix), norms are 1. The rows of
// output.weight of the special and byte tokens are zero, so their logits are 0 while the best text
// token's logit is positive: greedy decoding emits text tokens (valid UTF-8) and never end-of-sequence,
// so n steps give n tokens.
func Llama(w io.Writer, c Config) error {
	kvs, tensors, err := c.plan()
	if err != nil {
		return err
	}
	c, _ = c.withDefaults()
	rng := splitmix{state: c.Seed}
	for i := range tensors {
		t := &tensors[i]
		switch {
		case len(t.Dims) == 1:
			t.Data = func(w io.Writer) error { return writeValues(w, t.TensorInfo, func(int) float32 { return 1 }) }
		case t.Name == "output.weight":
			scale := float32(math.Sqrt(3 / float64(t.Dims[0])))
			row := int(t.Dims[0])
			t.Data = func(w io.Writer) error {
				return writeValues(w, t.TensorInfo, func(i int) float32 {
					v := rng.uniform(scale) // drawn for every row, so the stream does not depend on the vocabulary's kinds
					if i/row < firstTextID {
						return 0
					}
					return v
				})
			}
		default:
			scale := float32(math.Sqrt(3 / float64(t.Dims[0])))
			if t.Name == "token_embd.weight" {
				scale = 1
			}
			t.Data = func(w io.Writer) error {
				return writeValues(w, t.TensorInfo, func(int) float32 { return rng.uniform(scale) })
			}
		}
	}
	return Write(w, kvs, tensors)
}

// plan is the metadata and the tensor infos (without data) of c.
func (c Config) plan() ([]KV, []Tensor, error) {
	c, err := c.withDefaults()
	if err != nil {
		return nil, nil, err
	}
	tokens, scores, types := vocabulary(c.Vocab, c.Seed)
	fileType := uint32(0) // LLAMA_FTYPE_ALL_F32
	if c.Type == F16 {
		fileType = 1 // LLAMA_FTYPE_MOSTLY_F16
	}
	u := func(n int) uint32 { return uint32(n) }
	kvs := []KV{
		{"general.architecture", "llama"},
		{"general.name", fmt.Sprintf("aogo-tiny-llama-e%d-l%d-h%d-kv%d-ff%d-v%d-s%d", c.Embd, c.Layers, c.Heads, c.HeadsKV, c.FF, c.Vocab, c.Seed)},
		{"general.file_type", fileType},
		{"general.alignment", u(Alignment)},
		{"llama.context_length", u(c.Context)},
		{"llama.embedding_length", u(c.Embd)},
		{"llama.block_count", u(c.Layers)},
		{"llama.feed_forward_length", u(c.FF)},
		{"llama.attention.head_count", u(c.Heads)},
		{"llama.attention.head_count_kv", u(c.HeadsKV)},
		{"llama.rope.dimension_count", u(c.Embd / c.Heads)},
		{"llama.rope.freq_base", float32(10000)},
		{"llama.attention.layer_norm_rms_epsilon", float32(1e-5)},
		{"tokenizer.ggml.model", "llama"},
		{"tokenizer.ggml.tokens", tokens},
		{"tokenizer.ggml.scores", scores},
		{"tokenizer.ggml.token_type", types},
		{"tokenizer.ggml.bos_token_id", u(bosID)},
		{"tokenizer.ggml.eos_token_id", u(eosID)},
		{"tokenizer.ggml.unknown_token_id", u(unkID)},
		{"tokenizer.ggml.add_bos_token", true},
		{"tokenizer.ggml.add_eos_token", false},
	}
	e, ff, v := uint64(c.Embd), uint64(c.FF), uint64(c.Vocab)
	kv := e / uint64(c.Heads) * uint64(c.HeadsKV)
	mat := func(name string, dims ...uint64) Tensor {
		return Tensor{TensorInfo: TensorInfo{Name: name, Dims: dims, Type: c.Type}}
	}
	vec := func(name string) Tensor {
		return Tensor{TensorInfo: TensorInfo{Name: name, Dims: []uint64{e}, Type: F32}}
	}
	tensors := []Tensor{mat("token_embd.weight", e, v)}
	for i := 0; i < c.Layers; i++ {
		b := fmt.Sprintf("blk.%d.", i)
		tensors = append(tensors,
			vec(b+"attn_norm.weight"),
			mat(b+"attn_q.weight", e, e),
			mat(b+"attn_k.weight", e, kv),
			mat(b+"attn_v.weight", e, kv),
			mat(b+"attn_output.weight", e, e),
			vec(b+"ffn_norm.weight"),
			mat(b+"ffn_gate.weight", e, ff),
			mat(b+"ffn_up.weight", e, ff),
			mat(b+"ffn_down.weight", ff, e),
		)
	}
	tensors = append(tensors, vec("output_norm.weight"), mat("output.weight", e, v))
	var total uint64
	for _, t := range tensors {
		total += t.Size() // each below 2^35 (withDefaults), at most 9×1024+3 of them: no overflow
	}
	if total > MaxSize {
		return nil, nil, fmt.Errorf("gguf: model of %d bytes is above the %d this generator writes", total, uint64(MaxSize))
	}
	return kvs, tensors, nil
}

// vocabulary builds n tokens: the fixed part (see MinVocab), then made-up words "▁" + 1–3 syllables
// from the seeded stream, distinct. Scores decrease with the id, as SentencePiece's do.
func vocabulary(n int, seed uint64) ([]string, []float32, []int32) {
	tokens := []string{"<unk>", "<s>", "</s>"}
	types := []int32{tokUnknown, tokControl, tokControl}
	for b := 0; b < 256; b++ {
		tokens = append(tokens, fmt.Sprintf("<0x%02X>", b))
		types = append(types, tokByte)
	}
	tokens = append(tokens, "\u2581")
	for c := byte('!'); c <= '~'; c++ {
		tokens = append(tokens, string(c))
	}
	for c := byte('a'); c <= 'z'; c++ {
		tokens = append(tokens, "\u2581"+string(c))
	}
	seen := map[string]bool{}
	for _, t := range tokens {
		seen[t] = true
	}
	syll := []string{"ka", "lo", "mi", "ne", "ru", "sa", "te", "vo", "zi", "po", "an", "el", "is", "on", "ul", "ar", "be", "do", "fi", "gu"}
	rng := splitmix{state: seed ^ 0x766f636162756c61} // "vocabula": its own stream, apart from the weights'
	for len(tokens) < n {
		w := "\u2581"
		for k := 1 + int(rng.next()%3); k > 0; k-- {
			w += syll[rng.next()%uint64(len(syll))]
		}
		if seen[w] {
			// Few distinct words of up to 3 syllables exist (8420); append a number so any size fits.
			w = fmt.Sprintf("%s%d", w, len(tokens))
		}
		seen[w] = true
		tokens = append(tokens, w)
	}
	for len(types) < len(tokens) {
		types = append(types, tokNormal)
	}
	scores := make([]float32, len(tokens))
	for i := firstTextID; i < len(tokens); i++ {
		scores[i] = -float32(i - firstTextID)
	}
	return tokens[:n], scores[:n], types[:n]
}

// writeValues writes the tensor's elements value(0), value(1), … in its type.
func writeValues(w io.Writer, t TensorInfo, value func(i int) float32) error {
	n := int(t.Size() / t.Type.elemSize())
	buf := make([]byte, 0, 64<<10)
	for i := 0; i < n; i++ {
		v := value(i)
		if t.Type == F16 {
			buf = binary.LittleEndian.AppendUint16(buf, F16Bits(v))
		} else {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		}
		if len(buf) >= cap(buf)-4 {
			if _, err := w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	_, err := w.Write(buf)
	return err
}

// splitmix is SplitMix64 (Steele, Lea, Flood 2014): tiny, fixed forever, and the same on every platform.
type splitmix struct{ state uint64 }

func (s *splitmix) next() uint64 {
	s.state += 0x9e3779b97f4a7c15
	z := s.state
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// uniform is in [-scale, scale): 24 random bits make an exact float32 in [0, 1); each step is rounded
// to float32 on its own (explicit conversions forbid fusing them).
func (s *splitmix) uniform(scale float32) float32 {
	u := float32(s.next()>>40) / (1 << 24)
	v := float32(2*u) - 1
	return float32(v * scale)
}

// F16Bits is the IEEE 754 half-precision encoding of f, rounded to nearest even (overflow gives
// infinity, NaN stays NaN).
func F16Bits(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 { // subnormal half (or zero)
		if e < -10 {
			return sign
		}
		mant |= 0x800000
		shift := uint(14 - e)
		h := mant >> shift
		rem, halfway := mant&(1<<shift-1), uint32(1)<<(shift-1)
		if rem > halfway || (rem == halfway && h&1 == 1) {
			h++
		}
		return sign | uint16(h)
	}
	h := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && h&1 == 1) {
		h++ // a carry into the exponent is right, up to infinity
	}
	return sign | uint16(h)
}

// F16Float is the float32 value of the half-precision bits h.
func F16Float(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0:
		v := float32(mant) / (1 << 24)
		if sign != 0 {
			return -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}
