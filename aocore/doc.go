// Package aocore is aogo's AO-Core ("mainnet") front door: the HyperBEAM routes that aoconnect's mainnet mode
// (`connect({ MODE: 'mainnet' })`) and today's aos send, served over the same SU, CU and MU as the legacy
// routes. It owns the path grammar (path.go), the devices a user reaches (router.go) and the request codecs
// it reads; it holds no state of its own: every route is a call to a unit through its HTTP API, so the
// same router fronts `aogo dev` (in-process) and production units (`aogo aocore`).
//
// Why a separate package: HyperBEAM runs legacy aos processes through its genesis-wasm@1.0 device, i.e. a
// legacy CU, so the execution semantics are the ones aogo already has. What differs is the door: paths
// such as `/<pid>~process@1.0/compute/results=5`, signed ANS-104 request bodies (`codec-device: ans104@1.0`)
// on every call, and answers read from JSON keys and response headers. Translating that door in one place
// keeps the units untouched, and ao.N.1 processes run beside ao.TN.1 ones on the same machinery.
//
// # Path grammar (the subset we parse)
//
// HyperBEAM's hb_singleton: a path is a sequence of messages applied left to right.
//
//		/ID~device@ver/key&k=v&k+integer=1/key=value/(sub/path)?k=v
//
//	  - a segment is `key`, `key=value` (compute/results=5, as=execution), `key~device@ver`, `~device@ver`
//	    or `(…)`, then `&k=v` parameters; `k+type=v` carries a type annotation; `k=(…)` a sub-path value;
//	  - the query string's keys apply to the whole request (HyperBEAM's N.key per-message form is parsed as
//	    a plain key);
//	  - separators are found before unescaping, so %2F, %26, %3D, %7E, %28 stay data;
//	  - bounded: MaxPathBytes, MaxSegments, MaxParams, MaxDepth.
//
// Sub-paths parse, but no route resolves them yet: such a request gets a 400 naming `(…)`.
//
// # Routes (the subset we serve)
//
//	GET       /~meta@1.0/info                               node info (JSON)
//	GET       /~meta@1.0/info/address                       the scheduler's address (text)
//	POST      /push                                         spawn: a signed Process item → header `process`
//	POST      /<pid>~process@1.0/push                       schedule and crank through the MU → {slot, id}
//	POST      /<pid>~process@1.0/schedule                   schedule only (no crank) → headers slot, timestamp, process
//	POST      /<pid>/~scheduler@1.0/schedule                the same, the route the reference MU forwards ao.N.1 to
//	GET       /<pid>~process@1.0/schedule                   the process's log, legacy SU page JSON
//	GET       /~scheduler@1.0/schedule?target=&from=&to=&limit=   the same (from/to are slots, inclusive)
//	GET|POST  /<pid>~process@1.0/compute/results=<slot|id>  {"raw": result}
//	GET|POST  /<pid>~process@1.0/compute&slot=N             (or compute=N, compute/N) {"raw": result}
//	GET|POST  /<pid>~process@1.0/now                        {"raw": latest result, "slot"}
//	GET|POST  /<pid>~process@1.0/slot[/current]             the latest slot (text)
//	POST      /<pid>~process@1.0/as=execution/compute&K=V…  dry-run with tags K=V → {"raw": result}
//
// The `~process@1.0` may be left out after the process id (`/<pid>/slot/current`, as aoconnect's results
// sends). Any other device, key or a sub-path is answered 400/404 with a JSON error naming what is not
// supported.
//
// # Request bodies
//
// A body with Content-Type application/ans104 (or codec-device: ans104@1.0) is a signed ANS-104 item: it is
// decoded and its signature verified before anything else, and a bad one is refused 400 with nothing
// scheduled. A request signed with HTTP Message Signatures (Signature / Signature-Input headers) needs a
// RequestVerifier (the httpsig@1.0 codec, wired with Config.Verifier); without one it is answered 501 naming
// httpsig@1.0. A request carrying an accept-codec: httpsig@1.0 header gets its answer signed by
// Config.Signer, and 501 without one; aoconnect's own calls put accept-codec in their signed item's tags
// instead, and those answers go out unsigned until a Signer is wired (aoconnect does not check them).
package aocore
