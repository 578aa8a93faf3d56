// Package gateway is aogo's Arweave side: a Go client for an Arweave gateway (raw data, signed items, GraphQL,
// uploads, block height) and the embedded gateway that `aogo dev` and `aogo gateway` serve.
//
// The embedded gateway stores signed ANS-104 items (and the items nested in ANS-104 bundles) in SQLite, gives
// each the simulated block height current when it was posted, and answers the subset of the Arweave HTTP and
// GraphQL APIs that ao's units and clients use:
//
//	POST /tx                 signed ANS-104 item, or a binary bundle (application/octet-stream); also /tx/{currency}
//	GET  /raw/{id}, /{id}    the item's data with its Content-Type tag
//	GET  /item/{id}          the whole signed item, raw ANS-104 bytes (aogo extension)
//	GET  /tx/{id}            Arweave-style transaction JSON
//	GET  /tx/{id}/status     {"block_height","block_indep_hash","number_of_confirmations"}
//	GET  /info               {"network":"aogo.dev","height",…}
//	GET  /block/height/{h}   a minimal block
//	POST /graphql            the transactions and blocks queries (see graphql_parse.go for the subset)
package gateway
