// Package dataitem implements ANS-104 data items and bundles: the binary format every ao message, process,
// module and assignment travels in.
//
// An item is: signature type (u16 LE) ‖ signature ‖ owner ‖ target presence (1) [‖ target (32)] ‖ anchor
// presence (1) [‖ anchor (32)] ‖ tag count (u64 LE) ‖ tag bytes length (u64 LE) ‖ Avro-encoded tags ‖ data.
// The signature covers the deep hash (SHA-384) of ["dataitem", "1", type, owner, target, anchor, tags, data];
// the id is base64url(SHA-256(signature)) and the owner's address is base64url(SHA-256(owner)).
//
// Compatibility choices, each checked against arbundles in the tests (testdata/ holds its vectors; regenerate
// with go test -update, which runs scripts/node/ans104.cjs):
//
//   - Signature types 1 (Arweave RSA-PSS), 2 (ed25519), 3 (Ethereum, EIP-191 over the deep hash) and 4 (Solana:
//     ed25519 over the hex text of the deep hash, as arbundles' HexSolanaSigner) are supported.
//   - Tags: at most 128, names 1..1024 bytes, values ≤ 3072 bytes, and at most 4096 encoded bytes in all
//     (arbundles' limit: it neither builds nor verifies items with more). Decoding keeps the tag bytes as
//     written, so items whose encoder chose another valid Avro block layout verify and re-encode unchanged.
//   - A tag count of 0 with tag bytes that hold no tags (the one-byte empty Avro array) is accepted, as arbundles
//     does.
//   - Ethereum signatures must be canonical (low s, v 27 or 28 naming the owner key), so an item has one id.
//
// Decoding never copies the data and never hashes it; Verify does. For items or bundles too big for memory,
// ReadHeader, Item.VerifyReader, Item.SignReader, Item.WriteHeader, BundleReader.NextReader and BundleWriter
// stream the data. Malformed input is a *FormatError naming the field; a wrong signature is ErrBadSignature.
//
// The package is pure: no I/O beyond io.Reader/io.Writer handed in, no clocks, no mutable globals.
package dataitem
