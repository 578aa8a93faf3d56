package dataitem

import (
	"crypto/sha512"
	"hash"
	"strconv"
)

// DeepHash chunks: a Blob is hashed as bytes, a List as a sequence of chunks.
type (
	Blob []byte
	List []any // elements are Blob or List
)

// DeepHash computes Arweave's deep hash (SHA-384) of a Blob or List.
//
//	blob:  SHA384(SHA384("blob" ‖ len) ‖ SHA384(data))
//	list:  acc = SHA384("list" ‖ len); for each child: acc = SHA384(acc ‖ deepHash(child))
func DeepHash(v any) [48]byte {
	h := sha512.New384()
	return deepHash(h, v)
}

func deepHash(h hash.Hash, v any) [48]byte {
	var out [48]byte
	switch x := v.(type) {
	case Blob:
		tag := sum384(h, append([]byte("blob"), strconv.Itoa(len(x))...))
		data := sum384(h, x)
		h.Reset()
		h.Write(tag[:])
		h.Write(data[:])
		h.Sum(out[:0])
	case List:
		acc := sum384(h, append([]byte("list"), strconv.Itoa(len(x))...))
		for _, child := range x {
			c := deepHash(h, child)
			h.Reset()
			h.Write(acc[:])
			h.Write(c[:])
			h.Sum(acc[:0])
		}
		out = acc
	default:
		panic("dataitem: DeepHash of unsupported type")
	}
	return out
}

func sum384(h hash.Hash, b []byte) [48]byte {
	var out [48]byte
	h.Reset()
	h.Write(b)
	h.Sum(out[:0])
	return out
}
