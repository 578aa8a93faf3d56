package arweave

import (
	"crypto/sha256"
	"encoding/binary"
)

// Chunk sizes of Arweave's data layout.
const (
	MaxChunkSize = 256 * 1024
	MinChunkSize = 32 * 1024
)

// Chunk is one piece of a transaction's data: bytes [Min, Max) and the SHA-256 of those bytes.
type Chunk struct {
	Min, Max int
	Hash     [32]byte
}

// Chunks cuts data as Arweave does: 256 KiB chunks, except that when a full chunk would leave a remainder
// shorter than 32 KiB, the rest is split in two halves (the first one rounded up). The last chunk may be empty
// (data whose length is a multiple of 256 KiB); it is part of the tree but is never uploaded.
func Chunks(data []byte) []Chunk {
	var chunks []Chunk
	cursor := 0
	for len(data)-cursor >= MaxChunkSize {
		rest := len(data) - cursor
		size := MaxChunkSize
		if next := rest - MaxChunkSize; next > 0 && next < MinChunkSize {
			size = (rest + 1) / 2
		}
		chunks = append(chunks, Chunk{Min: cursor, Max: cursor + size, Hash: sha256.Sum256(data[cursor : cursor+size])})
		cursor += size
	}
	return append(chunks, Chunk{Min: cursor, Max: len(data), Hash: sha256.Sum256(data[cursor:])})
}

// Proof is the data_path of one chunk: the branch notes from the root down, then the chunk hash and its end
// offset. Offset is the chunk's last byte (Max-1), as POST /chunk wants it.
type Proof struct {
	Offset int
	Path   []byte
}

// Tree is the merkle tree of a transaction's data.
type Tree struct {
	Root   []byte  // data_root; nil for empty data
	Chunks []Chunk // the chunks to upload (a trailing empty chunk is left out)
	Proofs []Proof // one per element of Chunks
}

// node is a tree node: a leaf (left and right nil) or a branch. max is the end offset of its range; split is
// a branch's boundary (its left child's end).
type node struct {
	id          [32]byte
	max, split  int
	left, right *node
	hash        [32]byte // leaves: the chunk hash
}

// note is an offset as the tree hashes it: 32 bytes, big-endian.
func note(n int) [32]byte {
	var b [32]byte
	binary.BigEndian.PutUint64(b[24:], uint64(n))
	return b
}

// hashOfHashes is SHA-256 of the concatenated SHA-256 of each part.
func hashOfHashes(parts ...[]byte) [32]byte {
	buf := make([]byte, 0, 32*len(parts))
	for _, p := range parts {
		h := sha256.Sum256(p)
		buf = append(buf, h[:]...)
	}
	return sha256.Sum256(buf)
}

func buildRoot(chunks []Chunk) *node {
	layer := make([]*node, len(chunks))
	for i, c := range chunks {
		n := note(c.Max)
		layer[i] = &node{id: hashOfHashes(c.Hash[:], n[:]), max: c.Max, hash: c.Hash}
	}
	for len(layer) > 1 {
		next := make([]*node, 0, (len(layer)+1)/2)
		for i := 0; i < len(layer); i += 2 {
			if i+1 == len(layer) {
				next = append(next, layer[i])
				continue
			}
			l, r := layer[i], layer[i+1]
			n := note(l.max)
			next = append(next, &node{id: hashOfHashes(l.id[:], r.id[:], n[:]), max: r.max, split: l.max, left: l, right: r})
		}
		layer = next
	}
	return layer[0]
}

// DataRoot returns the data_root of data (nil for empty data).
func DataRoot(data []byte) []byte {
	if len(data) == 0 {
		return nil
	}
	root := buildRoot(Chunks(data))
	return root.id[:]
}

// BuildTree returns the data_root of data with its chunks and their proofs, what a chunked upload needs.
func BuildTree(data []byte) Tree {
	if len(data) == 0 {
		return Tree{}
	}
	chunks := Chunks(data)
	root := buildRoot(chunks)
	var proofs []Proof
	var walk func(n *node, path []byte)
	walk = func(n *node, path []byte) {
		if n.left == nil {
			end := note(n.max)
			p := make([]byte, 0, len(path)+64)
			p = append(append(append(p, path...), n.hash[:]...), end[:]...)
			proofs = append(proofs, Proof{Offset: n.max - 1, Path: p})
			return
		}
		split := note(n.split)
		p := make([]byte, 0, len(path)+96)
		p = append(append(append(append(p, path...), n.left.id[:]...), n.right.id[:]...), split[:]...)
		walk(n.left, p)
		walk(n.right, p)
	}
	walk(root, nil)
	if last := chunks[len(chunks)-1]; last.Max == last.Min {
		chunks, proofs = chunks[:len(chunks)-1], proofs[:len(proofs)-1]
	}
	return Tree{Root: root.id[:], Chunks: chunks, Proofs: proofs}
}
