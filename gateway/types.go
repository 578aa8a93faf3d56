package gateway

import "github.com/aogo/aogo/dataitem"

// Sort orders of the transactions query.
const (
	SortHeightDesc = "HEIGHT_DESC"
	SortHeightAsc  = "HEIGHT_ASC"
)

// TagFilter is one element of the transactions query's tags argument: the item must carry a tag Name whose value
// is one of Values (Op "EQ", the default) or none of them (Op "NEQ").
type TagFilter struct {
	Name   string   `json:"name"`
	Values []string `json:"values"`
	Op     string   `json:"op,omitempty"`
}

// TxQuery holds the arguments of the GraphQL transactions query. Empty fields do not filter.
type TxQuery struct {
	IDs        []string
	Owners     []string // owner addresses
	Recipients []string
	Tags       []TagFilter
	BundledIn  []string
	Sort       string // SortHeightDesc (the default) or SortHeightAsc
	First      int    // page size; 0 means the gateway's default (10)
	After      string // cursor of the last edge of the previous page
}

// Transaction is a transactions-query node, the fields ao tools select.
type Transaction struct {
	ID        string         `json:"id"`
	Anchor    string         `json:"anchor"`
	Signature string         `json:"signature"`
	Recipient string         `json:"recipient"`
	Owner     Owner          `json:"owner"`
	Fee       Amount         `json:"fee"`
	Quantity  Amount         `json:"quantity"`
	Data      MetaData       `json:"data"`
	Tags      []dataitem.Tag `json:"tags"`
	Block     *Block         `json:"block"`
	BundledIn *Ref           `json:"bundledIn"`
}

// Owner is an item's owner: address = base64url(SHA-256(key)), key = base64url public key.
type Owner struct {
	Address string `json:"address"`
	Key     string `json:"key"`
}

// Amount is a token amount; items always carry "0".
type Amount struct {
	Winston string `json:"winston"`
	AR      string `json:"ar"`
}

// MetaData describes an item's data. Size is a decimal string, as in Arweave's schema.
type MetaData struct {
	Size string `json:"size"`
	Type string `json:"type"`
}

// Block is a (simulated) block. Timestamp is in seconds, as Arweave's.
type Block struct {
	ID        string `json:"id"`
	Height    uint64 `json:"height"`
	Timestamp int64  `json:"timestamp"`
	Previous  string `json:"previous"`
}

// Ref is a reference to another item (bundledIn, parent).
type Ref struct {
	ID string `json:"id"`
}

// TxEdge is one result with its paging cursor.
type TxEdge struct {
	Cursor string      `json:"cursor"`
	Node   Transaction `json:"node"`
}

// TxPage is one page of a transactions query.
type TxPage struct {
	Edges       []TxEdge
	HasNextPage bool
}

// Info is the answer of GET /info.
type Info struct {
	Network string `json:"network"`
	Version int    `json:"version"`
	Release int    `json:"release"`
	Height  uint64 `json:"height"`
	Current string `json:"current"`
	Blocks  uint64 `json:"blocks"`
	Peers   int    `json:"peers"`
}

// Status is the answer of GET /tx/{id}/status.
type Status struct {
	BlockHeight           uint64 `json:"block_height"`
	BlockIndepHash        string `json:"block_indep_hash"`
	NumberOfConfirmations uint64 `json:"number_of_confirmations"`
}

// UploadResult is the answer of POST /tx.
type UploadResult struct {
	ID          string `json:"id"`
	Timestamp   int64  `json:"timestamp"` // ms
	BlockHeight uint64 `json:"block_height"`
}
