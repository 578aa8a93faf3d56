package dataitem

import (
	"crypto/sha512"
	"fmt"
	"io"
	"strconv"
)

// DeepHash chunks: a Blob is hashed as bytes, a List as a sequence of chunks.
type (
	Blob []byte
	List []any // elements are Blob, []byte, string, List or []any
)

// DeepHash computes Arweave's deep hash (SHA-384) of a Blob or List:
//
//	blob:  SHA384(SHA384("blob" ‖ len) ‖ SHA384(data))
//	list:  acc = SHA384("list" ‖ len); for each child: acc = SHA384(acc ‖ deepHash(child))
//
// Elements may also be []byte, string (hashed as its bytes) or []any. Any other type is a programming error and
// panics; no decoded input ever reaches this with one.
func DeepHash(v any) [48]byte {
	switch x := v.(type) {
	case Blob:
		return blobHash(x)
	case []byte:
		return blobHash(x)
	case string:
		return blobHash([]byte(x))
	case List:
		return listHash([]any(x))
	case []any:
		return listHash(x)
	}
	panic(fmt.Sprintf("dataitem: DeepHash of unsupported type %T", v))
}

func listHash(x []any) [48]byte {
	acc := lenTagHash("list", len(x))
	for _, child := range x {
		acc = pairHash(&acc, DeepHash(child))
	}
	return acc
}

// lenTagHash is SHA384(prefix ‖ decimal n) without allocating.
func lenTagHash(prefix string, n int) [48]byte {
	var buf [32]byte
	b := append(buf[:0], prefix...)
	b = strconv.AppendInt(b, int64(n), 10)
	return sha512.Sum384(b)
}

// pairHash is SHA384(a ‖ b), the step that joins two hashes in both blobs and lists.
func pairHash(a *[48]byte, b [48]byte) [48]byte {
	var buf [96]byte
	copy(buf[:48], a[:])
	copy(buf[48:], b[:])
	return sha512.Sum384(buf[:])
}

// blobTags caches SHA384("blob" ‖ n) for the lengths items hash on every verify: short fields (empty target and
// anchor, 32-byte ones, ed25519 and Ethereum owners, small tag sets) and the 512-byte RSA owner.
var blobTags = func() map[int][48]byte {
	m := make(map[int][48]byte, 130)
	for n := 0; n <= 128; n++ {
		m[n] = lenTagHash("blob", n)
	}
	m[512] = lenTagHash("blob", 512)
	return m
}()

// emptyBlob is the deep hash of an empty blob (absent target or anchor).
var emptyBlob = func() [48]byte {
	t := lenTagHash("blob", 0)
	return pairHash(&t, sha512.Sum384(nil))
}()

// blobHash is the deep hash of one byte string.
func blobHash(b []byte) [48]byte {
	if len(b) == 0 {
		return emptyBlob
	}
	t, ok := blobTags[len(b)]
	if !ok {
		t = lenTagHash("blob", len(b))
	}
	return pairHash(&t, sha512.Sum384(b))
}

// blobHashOf finishes a blob's deep hash from its length and the SHA-384 of its bytes, so data that is streamed
// through a hash.Hash never needs to be in memory.
func blobHashOf(n int64, dataSum [48]byte) [48]byte {
	var buf [32]byte
	b := strconv.AppendInt(append(buf[:0], "blob"...), n, 10)
	t := sha512.Sum384(b)
	return pairHash(&t, dataSum)
}

// streamSum384 hashes exactly n bytes of r. Fewer bytes is an error.
func streamSum384(r io.Reader, n int64) ([48]byte, error) {
	var out [48]byte
	h := sha512.New384()
	got, err := io.CopyN(h, r, n)
	if err == io.EOF {
		return out, &FormatError{Field: "data", Reason: fmt.Sprintf("truncated: %d of %d bytes", got, n)}
	}
	if err != nil {
		return out, fmt.Errorf("read data: %d of %d bytes: %w", got, n, err)
	}
	h.Sum(out[:0])
	return out, nil
}
