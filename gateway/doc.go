// Package gateway is aogo's Arweave side: a Go client for an Arweave gateway (raw data, signed items, GraphQL,
// uploads, block height, ao's Scheduler-Location and tag lookups) and the embedded gateway that `aogo dev` and
// `aogo gateway` serve.
//
// The embedded gateway stores signed ANS-104 items in SQLite (WAL; items past Config.InlineLimit as files),
// verifying every signature. An item whose tags say Bundle-Format: binary and Bundle-Version: 2.0.0 has its
// nested items indexed too, recursively (bundledIn = the parent); a bare binary bundle is accepted as well (what
// a bundler, or aogo's SU, posts). Re-uploading an item is a no-op that answers 200.
//
// Blocks are simulated: block Config.StartHeight begins at the genesis time (stored on first open) and one
// follows every Config.BlockTime. An item gets the height current when it was posted; its status reports
// current − height + 1 confirmations. Block ids are 48 bytes like Arweave's and end with the height.
//
// Routes (errors are JSON {"error": …}: 400 bad input, 404 unknown, 413 too large):
//
//	POST /tx, /tx/{currency}  signed item, bundle item or bare bundle (octet-stream) → {"id","timestamp","block_height"}
//	GET  /raw/{id}, /{id}     the item's data with its Content-Type tag (default application/octet-stream); HEAD, Range
//	GET  /tx/{id}/data        same
//	GET  /item/{id}           the whole signed item, raw ANS-104 bytes (aogo extension)
//	GET  /tx/{id}             Arweave-style JSON: format, id, last_tx/anchor, owner, tags (base64url), target, data_size…
//	GET  /tx/{id}/status      {"block_height","block_indep_hash","number_of_confirmations"}
//	GET  /info, /             {"network":"aogo.dev","height","current","blocks",…}
//	GET  /block/height/{h}, /block/hash/{id}   {"indep_hash","height","timestamp","previous_block","txs"}
//	POST /graphql, GET /graphql?query=&variables=&operationName=
//
// GraphQL is a hand-written parser and executor for the subset ao tools send, not a general engine: query
// operations (named or anonymous, several with operationName), variables with defaults at any depth of a value,
// aliases, @skip/@include, comments, merged duplicate fields, __typename. Root fields:
//
//	transactions(ids, owners, recipients, tags: [{name, values, op: EQ|NEQ}], bundledIn, block: {min, max},
//	             sort: HEIGHT_DESC|HEIGHT_ASC, first (default 10, at most 1000), after)
//	  { pageInfo { hasNextPage } edges { cursor node { id anchor signature recipient owner { address key }
//	    fee { winston ar } quantity { winston ar } data { size type } tags { name value }
//	    block { id height timestamp previous } bundledIn { id } parent { id } } } }
//	transaction(id) { …node fields… }
//	blocks(ids, height: {min, max}, sort, first, after) { pageInfo { hasNextPage } edges { cursor node { id height timestamp previous } } }
//	block(id | height) { id height timestamp previous }
//
// Fragments, mutations and unknown fields or arguments are refused with HTTP 400 and {"errors":[{"message"}]}.
package gateway
