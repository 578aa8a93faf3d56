package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/aogo/aogo/gguf"
)

func init() {
	register("model", "AI models: model gen (a tiny seeded llama GGUF), model info FILE", runModel)
}

const modelUsage = `usage:
  aogo model gen [--out FILE] [--embd N] [--layers N] [--heads N] [--heads-kv N] [--ff N] [--vocab N] [--ctx N] [--seed N] [--type f16|f32]
  aogo model info FILE

gen writes a llama-architecture GGUF v3 model with seeded random weights and a SentencePiece vocabulary
(<unk> <s> </s>, 256 byte tokens, text tokens): the same flags give the same bytes on any machine, so a
test or a benchmark needs no download. It is what llama.cpp (and so aos's Llama module) loads; its text is
nonsense. Sizes: the defaults give 2.1 MB; --embd 384 --layers 6 --ff 1024 --vocab 4096 gives 27 MB and
--embd 512 --layers 8 --ff 1376 --vocab 4096 59 MB in F16 (twice that in F32); at most 16 GiB. info prints a GGUF
file's metadata and tensors.`

func runModel(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	code, ok := groupArgs(args, modelUsage, stderr)
	if !ok {
		return code
	}
	switch args[0] {
	case "gen":
		return modelGen(args[1:], stdout, stderr)
	case "info":
		return modelInfo(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "aogo model: unknown verb %q\n%s\n", args[0], modelUsage)
	return 2
}

func modelGen(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("model gen", flag.ContinueOnError)
	d := gguf.DefaultConfig
	out := fs.String("out", "model.gguf", "output `FILE` (\"-\": stdout)")
	embd := fs.Int("embd", d.Embd, "embedding length (n_embd)")
	layers := fs.Int("layers", d.Layers, "transformer blocks")
	heads := fs.Int("heads", d.Heads, "attention heads (must divide --embd; head size even)")
	headsKV := fs.Int("heads-kv", d.HeadsKV, "key/value heads (must divide --heads; fewer = grouped-query attention)")
	ff := fs.Int("ff", d.FF, "feed-forward length")
	vocab := fs.Int("vocab", d.Vocab, fmt.Sprintf("vocabulary size (at least %d)", gguf.MinVocab))
	ctxLen := fs.Int("ctx", d.Context, "context length (llama.context_length)")
	seed := fs.Uint64("seed", d.Seed, "random seed of the weights and the vocabulary's words")
	typ := fs.String("type", "f16", "matrix type: f16 or f32 (norm vectors are always f32)")
	if _, code, ok := parseFileArgs(fs, args, 0, modelUsage, stderr); !ok {
		return code
	}
	cfg := gguf.Config{Embd: *embd, Layers: *layers, Heads: *heads, HeadsKV: *headsKV, FF: *ff, Vocab: *vocab, Context: *ctxLen, Seed: *seed}
	switch strings.ToLower(*typ) {
	case "f16":
		cfg.Type = gguf.F16
	case "f32":
		cfg.Type = gguf.F32
	default:
		fmt.Fprintf(stderr, "aogo model gen: --type %q: want f16 or f32\n", *typ)
		return 2
	}
	for _, v := range []int{*embd, *layers, *heads, *headsKV, *ff, *vocab, *ctxLen} {
		if v <= 0 {
			fmt.Fprintln(stderr, "aogo model gen: sizes must be positive")
			return 2
		}
	}
	size, err := cfg.Size()
	if err != nil {
		fmt.Fprintf(stderr, "aogo model gen: %v\n", err)
		return 2
	}
	h := sha256.New()
	if *out == "-" {
		if err := gguf.Llama(io.MultiWriter(stdout, h), cfg); err != nil {
			fmt.Fprintf(stderr, "aogo model gen: %v\n", err)
			return 1
		}
		fmt.Fprintf(stderr, "%d bytes, sha256 %s\n", size, hex.EncodeToString(h.Sum(nil)))
		return 0
	}
	if err := writeModel(*out, cfg, h); err != nil {
		fmt.Fprintf(stderr, "aogo model gen: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: %d bytes (%.1f MB), sha256 %s\n", *out, size, float64(size)/1e6, hex.EncodeToString(h.Sum(nil)))
	return 0
}

// writeModel writes the model next to path and renames it into place, so a failure leaves no partial file.
func writeModel(path string, cfg gguf.Config, h io.Writer) error {
	f, err := os.CreateTemp(dirOf(path), ".model-*.gguf")
	if err != nil {
		return err
	}
	err = gguf.Llama(io.MultiWriter(f, h), cfg)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

func dirOf(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[:i+1]
	}
	return "."
}

// maxInfoFile bounds what model info reads into memory.
const maxInfoFile = 4 << 30

func modelInfo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("model info", flag.ContinueOnError)
	pos, code, ok := parseFileArgs(fs, args, 1, modelUsage, stderr)
	if !ok {
		return code
	}
	fi, err := os.Stat(pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "aogo model info: %v\n", err)
		return 1
	}
	if fi.Size() > maxInfoFile {
		fmt.Fprintf(stderr, "aogo model info: %s: %d bytes, above the %d this reads\n", pos[0], fi.Size(), int64(maxInfoFile))
		return 1
	}
	b, err := os.ReadFile(pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "aogo model info: %v\n", err)
		return 1
	}
	f, err := gguf.Parse(b)
	if err != nil {
		fmt.Fprintf(stderr, "aogo model info: %s: %v\n", pos[0], err)
		return 1
	}
	fmt.Fprintf(stdout, "GGUF v%d, %d bytes, alignment %d, tensor data at %d\n", f.Version, len(b), f.Alignment, f.DataOffset)
	for _, kv := range f.KV {
		fmt.Fprintf(stdout, "  %-40s %s\n", kv.Key, shortValue(kv.Value))
	}
	counts := map[string]int{}
	var params uint64
	for _, t := range f.Tensors {
		counts[t.Type.String()]++
		n := uint64(1)
		for _, d := range t.Dims {
			n *= d
		}
		params += n
	}
	var types []string
	for k, v := range counts {
		types = append(types, fmt.Sprintf("%d %s", v, k))
	}
	sort.Strings(types)
	fmt.Fprintf(stdout, "%d tensors (%s), %d parameters\n", len(f.Tensors), strings.Join(types, ", "), params)
	for _, t := range f.Tensors {
		fmt.Fprintf(stdout, "  %-28s %-4s %v\n", t.Name, t.Type, t.Dims)
	}
	return 0
}

// shortValue prints a metadata value, arrays as their length and first elements.
func shortValue(v any) string {
	show := func(n int, first []string) string {
		return fmt.Sprintf("[%d]{%s…}", n, strings.Join(first, " "))
	}
	switch x := v.(type) {
	case []string:
		return show(len(x), quoteAll(x[:min(len(x), 4)]))
	case []float32, []int32, []uint32, []any:
		s := fmt.Sprint(x)
		if len(s) > 60 {
			s = s[:60] + "…"
		}
		return s
	case string:
		return fmt.Sprintf("%q", x)
	}
	return fmt.Sprint(v)
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = fmt.Sprintf("%q", x)
	}
	return out
}
