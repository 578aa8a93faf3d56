// Package arweave implements Arweave base-layer (L1) transactions, format 2: the only thing an Arweave node (or
// arlocal) takes at POST /tx. aogo needs them to put its ANS-104 bundles on such a node: the bundle is the data
// of a transaction tagged Bundle-Format: binary, Bundle-Version: 2.0.0.
//
// A transaction signs the deep hash (package dataitem's) of
//
//	["2", owner, target, quantity, reward, last_tx, [[name, value], …], data_size, data_root]
//
// where quantity, reward and data_size are decimal strings and the rest raw bytes, with RSA-PSS (SHA-256, salt
// 32) under a 4096-bit Arweave key; the id is base64url(SHA-256(signature)).
//
// data_root is the root of Arweave's merkle tree over the data cut into chunks of 256 KiB, the last two chunks
// rebalanced so that none is smaller than 32 KiB: when what is left after a full chunk would be shorter than
// that, the two are split in halves (the first rounded up). A leaf is SHA-256(SHA-256(chunk hash) ‖
// SHA-256(end offset)), a branch SHA-256(SHA-256(left) ‖ SHA-256(right) ‖ SHA-256(left's end offset)), offsets
// as 32-byte big-endian numbers; an odd node at the end of a layer goes up unchanged. Empty data has an empty
// data_root. The tests compare all of it with the npm arweave package.
//
// The JSON form is Arweave's: byte fields base64url without padding, amounts in winston and data_size as decimal
// strings, tags as base64url name/value pairs.
//
// The package is pure: no I/O, no clocks (signing draws randomness through the signer).
package arweave
