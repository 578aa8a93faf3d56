// Package gguf owns the GGUF v3 file format (ggml's model files, read by llama.cpp) as far as aogo needs
// it: Write lays out a file (header, typed metadata, tensor infos, 32-byte aligned tensor data), Parse reads
// one back with every length and offset checked against the input, and Llama generates a tiny llama-
// architecture model with seeded random weights and a SentencePiece-style vocabulary, byte for byte the
// same for the same Config, so tests and benchmarks of AI processes need no download.
//
// Only the tensor types F32 and F16 are written or sized; Parse reports other types as unknown.
package gguf
