// Package aocore is aogo's AO-Core ("mainnet") front door: the HyperBEAM routes that aoconnect's mainnet mode
// (`connect({ MODE: 'mainnet', URL })`) and today's aos send, served over the same SU, CU and MU as the legacy
// routes. It owns the path grammar (path.go), the devices a user reaches (router.go), patch@1.0 state
// exposure (patch.go) and the reading of request bodies; it holds no unit state of its own: every route is a
// call to a unit through its HTTP API, so the same router is the root of `aogo dev` (in-process) and the
// unit `aogo aocore` in front of production units.
//
// Why a separate package: HyperBEAM runs legacy aos processes through its genesis-wasm@1.0 device, i.e. a
// legacy CU, so the execution semantics are the ones aogo already has. What differs is the door: paths
// such as `/<pid>~process@1.0/compute/results=5`, signed ANS-104 request bodies (`codec-device: ans104@1.0`)
// on every call, and answers read from JSON keys and response headers. Translating that door in one place
// keeps the units untouched, and ao.N.1 processes run beside ao.TN.1 ones on the same machinery: a push is
// the MU's POST /, so an ao.N.1 process's outbox is cranked exactly once by the same durable queue.
//
// # Path grammar (the subset parsed)
//
// HyperBEAM's hb_singleton: a path is a sequence of messages applied left to right,
//
//	/ID~device@ver/key&k=v&k+integer=1/key=value/(sub/path)?k=v
//
// A segment is `key`, `key=value` (compute/results=5, as=execution), `key~device@ver`, `~device@ver` or
// `(…)`, then `&k=v` parameters; `k+type=v` carries a type annotation and `k=(…)` a sub-path value. The query
// string's keys apply to the whole request (HyperBEAM's per-message `N.key` form is read as a plain key).
// Separators are found before unescaping, so %2F, %26, %3D, %7E and %28 stay data. Parsing is bounded by
// MaxPathBytes, MaxSegments, MaxParams and MaxDepth. Sub-paths parse, but no route resolves them: such a
// request is answered 400 naming the sub-path.
//
// # Routes (the subset served)
//
//	GET       /~meta@1.0/info                               node info (JSON: address, authority, devices, …)
//	GET       /~meta@1.0/info/address                       the scheduler's address (text)
//	POST      /push                                         spawn: a signed Process item → header `process`
//	POST      /<pid>~process@1.0/push                       schedule and crank through the MU → {slot, id}
//	POST      /<pid>/~push@1.0/push                         the same
//	POST      /<pid>~process@1.0/schedule                   schedule only (no crank) → headers slot, timestamp, process
//	POST      /<pid>/~scheduler@1.0/schedule                the same: where the reference MU forwards ao.N.1 messages
//	GET       /<pid>~process@1.0/schedule                   the process's log, legacy SU page JSON
//	GET       /~scheduler@1.0/schedule?target=&from=&to=&limit=   the same (from/to are slots, inclusive)
//	GET|POST  /<pid>~process@1.0/compute/results=<slot|id>  {"raw": result}
//	GET|POST  /<pid>~process@1.0/compute&slot=N             (or compute=N, compute/<slot|id>) {"raw": result}
//	GET|POST  /<pid>~process@1.0/now                        {"raw": the latest slot's result, "slot"}
//	GET|POST  /<pid>~process@1.0/slot[/current]             the latest slot (text)
//	POST      /<pid>~process@1.0/as=execution/compute&K=V…  dry-run with tags K=V → {"raw": result}, state unchanged
//	GET|POST  /<pid>~process@1.0/now/cache/<key>[/<key>…]   patch@1.0 state (also …/compute/cache/<key>)
//
// A spawn's device tags, when present, must be the ones this node runs (device process@1.0, scheduler-device
// scheduler@1.0, push-device push@1.0, execution-device genesis-wasm@1.0: processes run on the CU's wasm
// machines, as HyperBEAM's genesis-wasm device runs them on a legacy CU); another is refused 400 naming it.
// The slot → message id of recent pushes is remembered (a bounded ring), so the result request aoconnect sends
// right after a push costs no SU lookup.
//
// `~process@1.0` may be left out after the process id (`/<pid>/slot/current`, as aoconnect's results sends).
// Any other device or key is answered 404 with a JSON error naming it and the supported ones; a malformed
// path 400.
//
// # Request bodies and codecs
//
// A body with Content-Type application/ans104 (or header codec-device: ans104@1.0) is a signed ANS-104
// item: it is decoded and its signature verified before any route runs, and a bad one is refused 400 with
// nothing scheduled. Other body codecs are refused 415. Answers are JSON (json@1.0) or text.
//
// httpsig@1.0 (RFC 9421 HTTP Message Signatures) is a hook, not part of this package: a request carrying
// Signature / Signature-Input headers is verified by Config.Verifier (RequestVerifier) and answered 501 naming
// httpsig@1.0 while none is wired; a request with an accept-codec: httpsig@1.0 header gets its answer signed
// by Config.Signer (ResponseSigner), 501 without one. aoconnect's own spawn and results put accept-codec in
// their signed item's tags instead; those answers go out unsigned until a Signer is wired (aoconnect does not
// check them).
package aocore
