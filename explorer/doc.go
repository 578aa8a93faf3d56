// Package explorer is the network's web explorer: a small JSON API and the pages over it (embedded, plain
// JS/CSS, no build step) that show what processes did, the way ao.link does for the public network.
//
// It owns no protocol state. It reads the SU's log (processes, messages, signed assignments), the CU's
// results and attestations, and the MU's crank links (which message's result caused which message), through
// the small interfaces declared in sources.go, and keeps one thing of its own: an Index of the log (processes
// by owner and parent, messages by id, assignment id, owner and tag), because the SU's store answers only by
// process and slot while an explorer is asked "where is this id" and "who sent what". The Index is derived
// data: it is fed from the log (Notify after each SU commit, gathered for Config.Gather so that a busy log costs
// one read and one index transaction per window, not per message; and a catch-up of every known process when
// Run starts), so losing it loses nothing but the time to rebuild it. The SU's store cannot list its processes, so a
// process whose log predates the index (a data dir from before the explorer) appears at its next message, and
// is then indexed from slot 0.
//
// New index rows are also pushed to the live stream: server-sent events, one connection per browser tab,
// filtered by process and Action; each client has a bounded buffer (a client that stops reading loses events
// and is told so, never costing more memory) and the number of streams is capped (Config.MaxStreams).
//
// API.md beside this file documents every endpoint.
package explorer
