package gguf

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
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
