package dataitem

import (
	"crypto/sha256"
	"encoding/binary"
	"sync"
)

// verified remembers the signatures that verified lately, so the same signature is checked once per process,
// not once per unit: in `aogo dev` the MU, the SU, the CU and the gateway each verify every item they are
// handed, and an RSA-4096 verification costs ~0.4 ms of CPU, most of it on the path of a message to its
// result. Only successes are remembered, under a hash of everything the verification depends on (type,
// owner, signed message, signature), so a hit says exactly what a new verification would say; forging one
// needs a SHA-256 collision. Bounded: the oldest entry goes first. What a VouchingSigner signs is remembered
// when it is signed.
var verified = newSigCache(16384) // 16384 × (32-byte key + map and ring slots) ≈ 1.5 MiB at most

type sigCache struct {
	mu   sync.Mutex
	set  map[[32]byte]struct{}
	ring [][32]byte // insertion order; next is the slot the next entry overwrites
	next int
}

func newSigCache(n int) *sigCache {
	return &sigCache{set: make(map[[32]byte]struct{}, n), ring: make([][32]byte, 0, n)}
}

// sigKey is the cache key of one verification.
func sigKey(t SignatureType, owner, message, sig []byte) [32]byte {
	h := sha256.New()
	var hdr [2 + 3*8]byte
	binary.BigEndian.PutUint16(hdr[0:], uint16(t))
	// Lengths first, so no two different triples hash the same bytes.
	binary.BigEndian.PutUint64(hdr[2:], uint64(len(owner)))
	binary.BigEndian.PutUint64(hdr[10:], uint64(len(message)))
	binary.BigEndian.PutUint64(hdr[18:], uint64(len(sig)))
	h.Write(hdr[:])
	h.Write(owner)
	h.Write(message)
	h.Write(sig)
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// A nil *sigCache remembers nothing (tests and benchmarks of the verification itself).
func (c *sigCache) has(k [32]byte) bool {
	if c == nil {
		return false
	}
	c.mu.Lock()
	_, ok := c.set[k]
	c.mu.Unlock()
	return ok
}

func (c *sigCache) add(k [32]byte) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.set[k]; ok {
		return
	}
	if len(c.ring) < cap(c.ring) {
		c.ring = append(c.ring, k)
	} else {
		delete(c.set, c.ring[c.next])
		c.ring[c.next] = k
		c.next = (c.next + 1) % len(c.ring)
	}
	c.set[k] = struct{}{}
}
