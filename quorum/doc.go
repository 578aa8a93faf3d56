// Package quorum is the pure decision behind result quorums: it reads a process's Compute-Quorum tag
// ("k-of-n"), chooses the n Compute Units that compute its results (rendezvous hashing, the same choice on
// every MU configured with the same CUs), checks each CU's signed answer and decides whether k of them agree.
// It does no I/O: the MU asks the CUs and feeds their answers in.
//
// # The rule
//
// A result is final when k answers carry the same Result-Hash, each with a valid attestation (ao.Attestation:
// a signature that verifies, for this process and this message, whose Result-Hash is the SHA-256 of the body
// that came with it) from k different signers. An answer whose attestation is missing or does not verify
// never counts, whatever it says; a second answer signed by a wallet that has already answered counts once
// (two URLs of one CU are one vote). k must be a strict majority of n (2k > n), so two different results can
// never both reach k.
//
// Tag (on the Process item; the MU's default applies to processes without it):
//
//	Compute-Quorum: 2-of-3
//
// 1-of-1, the default, is a single CU's word, unchecked: today's behaviour at no extra cost.
package quorum
