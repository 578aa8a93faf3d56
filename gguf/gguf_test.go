package gguf

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math"
	"testing"
)

// testConfig is the model the VM tests load: small enough for a CI run.
var testConfig = Config{Embd: 64, Layers: 2, Heads: 4, HeadsKV: 2, FF: 172, Vocab: 512, Context: 256, Seed: 7, Type: F16}

func gen(t testing.TB, c Config) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Llama(&b, c); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestF16Bits(t *testing.T) {
	for _, c := range []struct {
		f float32
		h uint16
	}{
		{0, 0}, {1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff}, {65520, 0x7c00}, {0.1, 0x2e66},
		{float32(math.Ldexp(1, -24)), 0x0001}, {float32(math.Ldexp(1, -25)), 0}, {float32(math.Ldexp(3, -26)), 0x0001},
		{float32(math.Ldexp(1, -14)), 0x0400}, {float32(math.Inf(-1)), 0xfc00}, {1 + 1.0/2048, 0x3c00}, {1 + 3.0/2048, 0x3c02},
	} {
		if got := F16Bits(c.f); got != c.h {
			t.Errorf("F16Bits(%g) = %#04x, want %#04x", c.f, got, c.h)
		}
	}
	if !math.IsNaN(float64(F16Float(F16Bits(float32(math.NaN()))))) {
		t.Error("NaN lost")
	}
	// Every finite half round-trips through float32.
	for h := 0; h < 1<<16; h++ {
		if h&0x7c00 == 0x7c00 && h&0x3ff != 0 {
			continue
		}
		if got := F16Bits(F16Float(uint16(h))); got != uint16(h) {
			t.Fatalf("round trip %#04x -> %g -> %#04x", h, F16Float(uint16(h)), got)
		}
	}
}

// The golden digests pin the generator: a change to the layout, the vocabulary, the random stream or the
// rounding changes them, and with them every model a test or a user made with the same flags.
func TestLlamaReproducible(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  Config
		sum  string
	}{
		{"test-f16", testConfig, "91f8ded628a8d344ce7eac37a03a477cb32901c0b264c9e101acad28a96680b1"},
		{"test-f32", func() Config { c := testConfig; c.Type = F32; return c }(), "c0fcd3840987eebcef4137d84b68d2ba338d6ff1dfd36d43b8b249568009551c"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, b := gen(t, c.cfg), gen(t, c.cfg)
			if !bytes.Equal(a, b) {
				t.Fatal("two runs gave different bytes")
			}
			size, err := c.cfg.Size()
			if err != nil || size != int64(len(a)) {
				t.Fatalf("Size() = %d, %v; wrote %d", size, err, len(a))
			}
			sum := sha256.Sum256(a)
			if got := hex.EncodeToString(sum[:]); got != c.sum {
				t.Fatalf("sha256 %s (%d bytes), golden %s", got, len(a), c.sum)
			}
			other := c.cfg
			other.Seed++
			if bytes.Equal(gen(t, other), a) {
				t.Fatal("another seed gave the same model")
			}
		})
	}
}

// TestLlamaParse reads a generated model back: the keys llama.cpp needs, with the types it checks, and
// every tensor at its shape with its data inside the file.
func TestLlamaParse(t *testing.T) {
	b := gen(t, testConfig)
	f, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]any{
		"general.architecture": "llama", "llama.embedding_length": uint32(64), "llama.block_count": uint32(2),
		"llama.attention.head_count_kv": uint32(2), "llama.rope.dimension_count": uint32(16), "tokenizer.ggml.model": "llama",
		"llama.attention.layer_norm_rms_epsilon": float32(1e-5), "tokenizer.ggml.eos_token_id": uint32(2),
	} {
		if got, ok := f.Get(key); !ok || got != want {
			t.Errorf("%s = %#v, want %#v", key, got, want)
		}
	}
	tokens, _ := f.Get("tokenizer.ggml.tokens")
	if toks, ok := tokens.([]string); !ok || len(toks) != 512 || toks[firstByteID+0x0A] != "<0x0A>" {
		t.Fatalf("tokens %T", tokens)
	}
	if len(f.Tensors) != 2+2*9+1 {
		t.Fatalf("%d tensors", len(f.Tensors))
	}
	info, data, ok := f.Tensor("output.weight")
	if !ok || info.Dims[0] != 64 || info.Dims[1] != 512 || len(data) != 64*512*2 {
		t.Fatalf("output.weight %+v %d", info, len(data))
	}
	// The special and byte tokens' rows are zero, the text tokens' are not.
	for i := 0; i < firstTextID*64*2; i++ {
		if data[i] != 0 {
			t.Fatalf("output.weight byte %d of a special or byte token's row is %d", i, data[i])
		}
	}
	if bytes.Count(data[firstTextID*64*2:], []byte{0}) > len(data)/4 {
		t.Fatal("text tokens' rows are mostly zero")
	}
	// Truncated anywhere, the file is refused (never a panic or a slice beyond the input).
	for _, n := range []int{0, 3, 4, 8, 24, 100, 5000, len(b) - 1} {
		if _, err := Parse(b[:n]); err == nil {
			t.Errorf("truncated to %d bytes: no error", n)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []Config{{Embd: 66, Heads: 4}, {Heads: 4, HeadsKV: 3}, {Vocab: MinVocab - 1}, {Type: 2}, {Embd: -1}, {Embd: 12, Heads: 4}, {Embd: 8192, Layers: 1000, Vocab: 100000, FF: 30000}} {
		if err := Llama(io.Discard, c); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(gen(f, Config{Embd: 4, Layers: 1, Heads: 2, FF: 4, Vocab: MinVocab, Context: 8, Seed: 1}))
	var b bytes.Buffer
	Write(&b, []KV{{"a", []uint32{1, 2}}, {"b", "x"}, {"c", int8(-1)}, {"d", 1.5}}, nil)
	f.Add(b.Bytes())
	f.Fuzz(func(t *testing.T, in []byte) {
		file, err := Parse(in)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error not ErrFormat: %v", err)
			}
			return
		}
		for _, ti := range file.Tensors {
			if _, data, _ := file.Tensor(ti.Name); uint64(len(data)) != ti.Size() {
				t.Fatalf("tensor %s: %d bytes, size %d", ti.Name, len(data), ti.Size())
			}
		}
	})
}
