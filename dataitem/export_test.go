package dataitem

import "testing"

// NoVerifyCache makes every verification of the test (or benchmark) check the signature itself.
func NoVerifyCache(tb testing.TB) {
	old := verified
	verified = nil
	tb.Cleanup(func() { verified = old })
}

// VerifyCacheHas reports whether the cache remembers a verification of sig.
func VerifyCacheHas(t SignatureType, owner, message, sig []byte) bool {
	return verified.has(sigKey(t, owner, message, sig))
}
