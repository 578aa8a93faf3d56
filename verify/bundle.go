package verify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/gateway"
)

// Arweave nodes show a bundled item's anchor in GraphQL as its bytes decoded as text, which loses binary anchors
// (the SU's assignments have 32 random bytes), and arlocal shows none at all: such an item cannot be rebuilt
// from GraphQL. Its exact bytes are in the bundle that carried it, the data of a base-layer transaction the node
// serves whole; bundles reads them from there. The bundle is the item's bundledIn when the gateway says it;
// arlocal does not, so the base-layer bundles the scheduler uploaded are then indexed once (every item id of
// every such bundle: about 100 bytes an item).

// maxBundleBytes bounds a bundle read to find an item in it.
const maxBundleBytes = 64 << 20

// bundleCacheSize is how many bundles are kept: a window's slots come from a few neighbouring uploads.
const bundleCacheSize = 4

type bundles struct {
	mu    sync.Mutex
	byID  map[string]*bundleEntry
	order []string

	indexMu sync.Mutex
	index   map[string]string // item id → bundle id, of the bundles uploader uploaded
	indexed string            // the uploader index covers
}

// find returns the id of the base-layer bundle that holds item id among those uploader posted, indexing them on
// first use (again when id is not found: the uploader may have posted more since).
func (b *bundles) find(ctx context.Context, gw *gateway.Client, uploader, id string) (string, error) {
	b.indexMu.Lock()
	defer b.indexMu.Unlock()
	if b.indexed == uploader {
		if bid, ok := b.index[id]; ok {
			return bid, nil
		}
	}
	b.index, b.indexed = map[string]string{}, uploader
	q := gateway.TxQuery{Owners: []string{uploader}, First: maxGraphQLFirst, Tags: []gateway.TagFilter{
		{Name: "Bundle-Format", Values: []string{"binary"}}, {Name: "Bundle-Version", Values: []string{"2.0.0"}}}}
	for {
		page, err := gw.Transactions(ctx, q)
		if err != nil {
			return "", fmt.Errorf("list the bundles of %s: %w", uploader, err)
		}
		for _, e := range page.Edges {
			q.After = e.Cursor
			data, _, err := gw.Raw(ctx, e.Node.ID)
			if err != nil {
				return "", fmt.Errorf("read bundle %s: %w", e.Node.ID, err)
			}
			items, err := splitBundle(data)
			if err != nil {
				continue // not a bundle this reader takes
			}
			for iid := range items {
				b.index[iid] = e.Node.ID
			}
		}
		if !page.HasNextPage || len(page.Edges) == 0 {
			break
		}
	}
	if bid, ok := b.index[id]; ok {
		return bid, nil
	}
	return "", fmt.Errorf("item %s is in none of the bundles %s uploaded", id, uploader)
}

type bundleEntry struct {
	once  sync.Once
	items map[string][]byte // item id → its raw bytes
	err   error
}

// item returns the raw bytes of item id from bundle bundleID, read with raw (the transaction's data).
func (b *bundles) item(ctx context.Context, raw func(context.Context, string) ([]byte, string, error), bundleID, id string) ([]byte, error) {
	b.mu.Lock()
	if b.byID == nil {
		b.byID = map[string]*bundleEntry{}
	}
	e, ok := b.byID[bundleID]
	if !ok {
		e = &bundleEntry{}
		b.byID[bundleID] = e
		b.order = append(b.order, bundleID)
		if len(b.order) > bundleCacheSize {
			delete(b.byID, b.order[0])
			b.order = b.order[1:]
		}
	}
	b.mu.Unlock()
	e.once.Do(func() {
		data, _, err := raw(ctx, bundleID)
		if err != nil {
			e.err = fmt.Errorf("read bundle %s: %w", bundleID, err)
			return
		}
		e.items, e.err = splitBundle(data)
		if e.err != nil {
			e.err = fmt.Errorf("bundle %s: %w", bundleID, e.err)
		}
	})
	if e.err != nil {
		return nil, e.err
	}
	it, ok := e.items[id]
	if !ok {
		return nil, fmt.Errorf("bundle %s does not hold item %s", bundleID, id)
	}
	return it, nil
}

// splitBundle cuts a binary bundle into its items' raw bytes by header id (aliasing data).
func splitBundle(data []byte) (map[string][]byte, error) {
	if len(data) > maxBundleBytes {
		return nil, fmt.Errorf("%d bytes, over the %d this reader takes", len(data), maxBundleBytes)
	}
	br, err := dataitem.NewBundleReader(bytes.NewReader(data), 0)
	if err != nil {
		return nil, err
	}
	off := uint64(32 + 64*len(br.Entries))
	out := make(map[string][]byte, len(br.Entries))
	for _, e := range br.Entries {
		if off > uint64(len(data)) || e.Size > uint64(len(data))-off {
			return nil, errors.New("an item runs past the end of the bundle")
		}
		out[e.ID] = data[off : off+e.Size]
		off += e.Size
	}
	return out, nil
}
