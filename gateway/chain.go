package gateway

import (
	"crypto/sha512"
	"encoding/binary"
	"strconv"
	"time"

	"github.com/aogo/aogo/dataitem"
)

// Network is the name GET /info reports.
const Network = "aogo.dev"

// chain is the simulated block sequence: block StartHeight starts at genesis and one block follows every
// interval. A block exists once its start time has passed, so the current height advances with the clock.
type chain struct {
	genesis  time.Time
	interval time.Duration
	start    uint64
	now      func() time.Time
}

// height is the current block height.
func (c *chain) height() uint64 { return c.heightAt(c.now()) }

func (c *chain) heightAt(t time.Time) uint64 {
	d := t.Sub(c.genesis)
	if d < 0 {
		return c.start
	}
	return c.start + uint64(d/c.interval)
}

// timestamp is the start of block h in Unix seconds, as Arweave block timestamps are.
func (c *chain) timestamp(h uint64) int64 {
	if h < c.start {
		h = c.start
	}
	return c.genesis.Add(time.Duration(h-c.start) * c.interval).Unix()
}

// blockID is the block's indep_hash: 48 bytes like Arweave's, the last 8 of which are the height, so an id can
// be mapped back to its height without a table.
func blockID(h uint64) string {
	sum := sha512.Sum384([]byte(Network + " block " + strconv.FormatUint(h, 10)))
	binary.BigEndian.PutUint64(sum[40:], h)
	return dataitem.B64(sum[:])
}

// blockHeightOf returns the height encoded in a block id and whether id is one of ours.
func blockHeightOf(id string) (uint64, bool) {
	b, err := dataitem.DecodeB64(id)
	if err != nil || len(b) != 48 {
		return 0, false
	}
	h := binary.BigEndian.Uint64(b[40:])
	return h, blockID(h) == id
}

// block returns block h (which must exist).
func (c *chain) block(h uint64) Block {
	b := Block{ID: blockID(h), Height: h, Timestamp: c.timestamp(h)}
	if h > c.start {
		b.Previous = blockID(h - 1)
	}
	return b
}

// noModTime is the zero time: items are immutable, ServeContent needs no Last-Modified.
var noModTime time.Time
