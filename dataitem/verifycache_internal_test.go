package dataitem

import "testing"

// TestSigCacheBound: the cache holds at most its capacity, forgetting the oldest first.
func TestSigCacheBound(t *testing.T) {
	c := newSigCache(3)
	key := func(i byte) [32]byte { return sigKey(ED25519, []byte{i}, nil, nil) }
	for i := byte(0); i < 5; i++ {
		c.add(key(i))
		c.add(key(i)) // a repeat takes no second slot
	}
	if len(c.set) != 3 || len(c.ring) != 3 {
		t.Fatalf("holds %d keys in %d slots, want 3", len(c.set), len(c.ring))
	}
	for i := byte(0); i < 5; i++ {
		if got, want := c.has(key(i)), i >= 2; got != want {
			t.Errorf("key %d remembered %v, want %v", i, got, want)
		}
	}
	// Lengths are part of the key: moving a byte from the owner to the message is another verification.
	if sigKey(ED25519, []byte{1, 2}, []byte{3}, nil) == sigKey(ED25519, []byte{1}, []byte{2, 3}, nil) {
		t.Fatal("owner/message boundary not in the key")
	}
	var none *sigCache
	none.add(key(1))
	if none.has(key(1)) {
		t.Fatal("the nil cache remembered")
	}
}
