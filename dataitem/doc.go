// Package dataitem implements ANS-104 data items and bundles: the binary format every ao message, process,
// module and assignment travels in.
//
// An item is: signature type (u16 LE) ‖ signature ‖ owner ‖ target presence (1) [‖ target (32)] ‖ anchor
// presence (1) [‖ anchor (32)] ‖ tag count (u64 LE) ‖ tag bytes length (u64 LE) ‖ Avro-encoded tags ‖ data.
// The signature covers the deep hash (SHA-384) of ["dataitem", "1", type, owner, target, anchor, tags, data];
// the id is base64url(SHA-256(signature)) and the owner's address is base64url(SHA-256(owner)).
//
// The package is pure: no I/O beyond io.Reader/io.Writer handed in, no clocks, no globals.
package dataitem
