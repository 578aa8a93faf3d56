// Package router is the CU fleet's front door (`aogo router`): one address that MUs and clients use as if it
// were one CU, in front of N CUs, the role the reference's ao-ur plays.
//
// Each process is pinned to one CU by rendezvous hashing (quorum.Pick) over the CUs that are healthy now: every
// router with the same list picks the same CU, a CU's death moves only the processes it held (each to the CU
// that ranked second for it), and a CU's return or addition takes back only the processes it wins. A moved
// process is simply evaluated by its new CU from the log (or a checkpoint it trusts); nothing is handed over.
//
// Health is learnt two ways: a probe (GET /) of every CU at an interval, and every forwarded request, whose
// transport failure marks its CU down at once. A request that fails before any answer arrived is tried on the
// next CU in the process's ranking (CU routes are all reads or dry-runs, so a retry is always safe); an answer,
// whatever its status, is passed through untouched, attestation header included, so quorum checks in the MU
// work through the router as they do against a CU.
//
// Bounds: a dry-run body is read whole (so that it can be re-sent) up to MaxBody; answers are streamed, never
// held. The router keeps no state but its health table; any number of routers can stand side by side.
package router
