// Package mu is the Messenger Unit: it takes signed items from users, schedules each on its process's SU,
// pulls the result from a CU and pushes every outbox entry onward ("cranking") until nothing is left.
//
// # Routes
//
// See MU.Handler. They are the reference MU's: POST / (a signed Message or Process), POST /?process-id=&assign=,
// POST and DELETE /monitor/{pid}, plus GET / (status JSON) and GET /metrics. Unlike the reference, DELETE
// /monitor/{pid} takes only an item signed by the process's owner (or pushed by this MU for the process
// itself): anyone else gets 403; and a Process whose Module the gateway does not hold is refused with 400 when
// posted (a spawn of one is parked), instead of failing at the CU on every attempt.
//
// # Loops
//
// Every task counts its hops from the root of its cascade; beyond Config.MaxDepth a message is parked, not
// delivered, so two processes answering each other forever stop at the limit, visibly (brake.go).
//
// # Locating
//
// A process's SU is found from its Scheduler tag: a configured hint (scheduler address → URL) first, else the
// gateway's newest Scheduler-Location of that address, cached for its Time-To-Live. A process's tags come from
// the SUs the MU knows (GET /processes/{pid}), else from the gateway. An id nothing knows as a Process is a
// wallet: messages to it are only uploaded to the gateway.
//
// # Cast
//
// An item carrying the tag "Cast: true" (or "1") is scheduled but its result is not pulled or cranked: fire
// and forget. It applies to items posted by users and to outbox messages (the tag is kept on the pushed item).
// The tag is the one aos's token blueprint reads (msg.Cast: "do not send me notices"); from aos, send it as a
// string, Cast = "true", since tag values must be strings.
//
// # Result quorum
//
// A process tagged "Compute-Quorum: k-of-n" (or any process without the tag when Config.Quorum is set) has
// each result asked of n CUs at once and cranked only when k agree, with valid attestations, on Result-Hash
// (quorum.go, package quorum). Until then the task keeps retrying, is never parked for it and is never
// cranked; GET / (operator) lists it under quorum.open with each CU's answer, /metrics counts it, and a CU
// whose answer differs from an agreed result is flagged. A Process whose n exceeds the configured CUs is
// refused (400; a spawn of one is parked). Cron results of monitored processes are read from one CU.
//
// # Exactly once
//
// Work is a durable queue of tasks (Store; store/sqlite is the embedded one) that move write → pull → done.
// A result's outbox entries are validated, built and signed when the result is cranked, and the child tasks,
// holding the signed bytes, are inserted in the same transaction that marks the parent done; the stage change
// is a compare-and-set, so a result is cranked once even if two attempts race. Every later write of a child
// re-posts the same bytes, hence the same id, which the SU de-duplicates (an SU that refuses the duplicate is
// asked whether it holds the id); the SU's content de-duplication of pushed messages is a second guard (a push
// the SU matches to an earlier item is not cranked again). A crash at any point therefore leads to each
// outbox message being scheduled exactly once. Monitors commit each cron result's children with the cursor
// that moves past it. Failed attempts are retried with exponential backoff; a task that keeps failing, or an
// outbox entry that cannot be pushed (bad tags, over the size limit, …), is parked with the reason: it shows
// on GET / and /metrics and is never dropped.
//
// # Replicas
//
// Several MUs may share one store (a SharedStore: store/postgres), each serving the same routes. Every pending
// task and monitor belongs to one replica, the one that created it; a replica that dies stops renewing its lease,
// and the others claim its tasks and monitors once it has run out. Stage changes are fenced by owner on top of
// the compare-and-set, so a replica that lost its work stops at its next commit; the rules above keep each
// outbox message scheduled exactly once across replicas (replica.go).
package mu
