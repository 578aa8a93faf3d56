package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aogo/aogo/arweave"
	"github.com/aogo/aogo/dataitem"
)

// peerKind is what the client talks to, learned once from GET /info.
type peerKind int

const (
	peerUnknown peerKind = iota
	// peerANS104 is aogo's embedded gateway: POST /tx takes ANS-104 items and bundles, GET /item/{id} serves
	// whole items.
	peerANS104
	// peerL1 is an Arweave node, arlocal, or a public gateway in front of nodes: POST /tx takes base-layer
	// transactions only, data is served at GET /{id}.
	peerL1
)

// MaxInlineData is the most data an upload to an Arweave node carries inside the transaction JSON; larger
// bundles go as the transaction header and then POST /chunk, as Arweave nodes refuse bigger inline data.
const MaxInlineData = 10 << 20

// peer returns the peer's kind, asking GET /info the first time. A gateway without /info is taken for an
// aogo-like one (every Arweave node answers /info); a failed request is not remembered.
func (c *Client) peer(ctx context.Context) (peerKind, string, error) {
	c.peerMu.Lock()
	defer c.peerMu.Unlock()
	if c.kind != peerUnknown {
		return c.kind, c.network, nil
	}
	info, err := c.Info(ctx)
	switch {
	case errors.Is(err, ErrNotFound):
		c.kind = peerANS104
	case err != nil:
		return peerUnknown, "", fmt.Errorf("gateway: learn what %s is: %w", c.base, err)
	case info.Network == Network:
		c.kind, c.network = peerANS104, info.Network
	default:
		c.kind, c.network = peerL1, info.Network
	}
	return c.kind, c.network, nil
}

// checkL1Signer tells why uploads to an Arweave node cannot work with the client's Signer, if they cannot.
func (c *Client) checkL1Signer(network string) error {
	if c.Signer != nil && c.Signer.SignatureType() == dataitem.Arweave {
		return nil
	}
	kind := "no signer"
	if c.Signer != nil {
		kind = "a " + c.Signer.SignatureType().String() + " signer"
	}
	return fmt.Errorf("gateway: %s is an Arweave node (network %q) that takes only base-layer transactions; "+
		"wrapping uploads in one needs an Arweave RSA wallet, and the client has %s", c.base, network, kind)
}

// CheckUploads reports a configuration under which no upload can ever succeed: an Arweave node as the peer and
// no RSA Signer. A unit calls it at start, to refuse to run rather than retry uploads forever. A peer that cannot
// be reached is not an error here (it may come up later; uploads wait in their queue).
func (c *Client) CheckUploads(ctx context.Context) error {
	kind, network, err := c.peer(ctx)
	if err != nil || kind != peerL1 {
		return nil
	}
	return c.checkL1Signer(network)
}

// isL1 reports whether the peer takes only base-layer transactions.
func (c *Client) isL1(ctx context.Context) (bool, error) {
	k, _, err := c.peer(ctx)
	return k == peerL1, err
}

// uploadL1 puts an item or a bare bundle on an Arweave node: as the data of a base-layer transaction tagged as an
// ANS-104 bundle (a single item becomes a bundle of one), signed by c.Signer, anchored on GET /tx_anchor and
// paying GET /price. Items the peer already indexes are left out, and an upload of nothing new is a no-op.
func (c *Client) uploadL1(ctx context.Context, raw []byte, network string) (UploadResult, error) {
	if err := c.checkL1Signer(network); err != nil {
		return UploadResult{}, err
	}
	raws, ids, err := splitUpload(raw)
	if err != nil {
		return UploadResult{}, err
	}
	res := UploadResult{ID: ids[0], Timestamp: time.Now().UnixMilli()}
	raws, ids, err = c.missing(ctx, raws, ids)
	if err != nil {
		return res, err
	}
	if len(raws) == 0 {
		return res, nil
	}
	if strings.HasPrefix(network, "arlocal.") {
		if err := c.arlocalWallets(ctx, raws); err != nil {
			return res, err
		}
	}
	var bundle bytes.Buffer
	if err := dataitem.WriteBundleRaw(&bundle, raws); err != nil {
		return res, fmt.Errorf("gateway: upload: bundle %d items: %w", len(raws), err)
	}
	data := bundle.Bytes()
	tx := arweave.New(data, arweave.BundleTags)
	anchor, _, err := c.get(ctx, "/tx_anchor")
	if err != nil {
		return res, fmt.Errorf("gateway: upload: anchor: %w", err)
	}
	if tx.LastTx, err = dataitem.DecodeB64(strings.TrimSpace(string(anchor))); err != nil {
		return res, fmt.Errorf("gateway: upload: anchor %q: %w", anchor, err)
	}
	price, _, err := c.get(ctx, "/price/"+strconv.Itoa(len(data)))
	if err != nil {
		return res, fmt.Errorf("gateway: upload: price: %w", err)
	}
	tx.Reward = strings.TrimSpace(string(price))
	if err := tx.Sign(c.Signer); err != nil {
		return res, fmt.Errorf("gateway: upload: %w", err)
	}
	inline := c.inlineLimit
	if inline == 0 {
		inline = MaxInlineData
	}
	if len(data) > inline {
		tx.Data = nil
	}
	body, err := json.Marshal(tx)
	if err != nil {
		return res, fmt.Errorf("gateway: upload: encode transaction: %w", err)
	}
	if err := c.postJSON(ctx, "/tx", body); err != nil {
		return res, fmt.Errorf("gateway: upload transaction %s (%d items): %w", tx.ID, len(raws), err)
	}
	if tx.Data == nil {
		tree := arweave.BuildTree(data)
		for i, ch := range tree.Chunks {
			chunk, err := json.Marshal(map[string]string{
				"data_root": dataitem.B64(tx.DataRoot), "data_size": strconv.Itoa(len(data)),
				"data_path": dataitem.B64(tree.Proofs[i].Path), "offset": strconv.Itoa(tree.Proofs[i].Offset),
				"chunk": dataitem.B64(data[ch.Min:ch.Max]),
			})
			if err != nil {
				return res, fmt.Errorf("gateway: upload: encode chunk %d: %w", i, err)
			}
			if err := c.postJSON(ctx, "/chunk", chunk); err != nil {
				return res, fmt.Errorf("gateway: upload transaction %s: chunk %d of %d: %w", tx.ID, i+1, len(tree.Chunks), err)
			}
		}
	}
	return res, nil
}

func (c *Client) postJSON(ctx context.Context, path string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	_, _, err = c.do(req)
	return err
}

// splitUpload reads an upload as ingest does: a bare binary bundle whose ids check out, else one signed item.
func splitUpload(raw []byte) ([][]byte, []string, error) {
	if raws, ids, err := splitBundle(raw); err == nil && len(raws) > 0 && idsMatch(raws, ids) {
		return raws, ids, nil
	}
	it, err := dataitem.Decode(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("gateway: upload: %w", invalid("not an ANS-104 item or bundle: %v", err))
	}
	return [][]byte{raw}, []string{it.ID()}, nil
}

// missing drops the items the peer's GraphQL already lists (arlocal refuses a whole transaction when one of its
// items is a duplicate). A peer without GraphQL (a bare node) cannot tell: everything is sent, as re-posting an
// item there is harmless.
func (c *Client) missing(ctx context.Context, raws [][]byte, ids []string) ([][]byte, []string, error) {
	const page = 100 // the largest page public gateways serve
	have := make(map[string]bool)
	for start := 0; start < len(ids); start += page {
		group := ids[start:min(start+page, len(ids))]
		res, err := c.Transactions(ctx, TxQuery{IDs: group, First: len(group)})
		if err != nil {
			var he *HTTPError
			if errors.As(err, &he) && he.Status == http.StatusNotFound {
				return raws, ids, nil
			}
			return nil, nil, fmt.Errorf("gateway: upload: which items are new: %w", err)
		}
		for _, e := range res.Edges {
			have[e.Node.ID] = true
		}
	}
	var outRaws [][]byte
	var outIDs []string
	for i, id := range ids {
		if !have[id] {
			outRaws, outIDs = append(outRaws, raws[i]), append(outIDs, id)
		}
	}
	return outRaws, outIDs, nil
}

// arlocalWallets makes sure arlocal knows the owner of every item (nested ones too): arlocal silently skips a
// bundled item whose owner has no wallet record, which a real Arweave gateway never does. A zero mint creates the
// record and leaves balances as they are.
func (c *Client) arlocalWallets(ctx context.Context, raws [][]byte) error {
	owners := map[string]bool{}
	var walk func(raws [][]byte, depth int)
	walk = func(raws [][]byte, depth int) {
		for _, raw := range raws {
			it, err := dataitem.Decode(raw)
			if err != nil {
				continue
			}
			owners[it.OwnerAddress()] = true
			if depth < maxBundleDepth && dataitem.IsBundle(it) {
				if nested, _, err := splitBundle(it.Data); err == nil {
					walk(nested, depth+1)
				}
			}
		}
	}
	walk(raws, 0)
	for addr := range owners {
		c.peerMu.Lock()
		done := c.minted[addr]
		c.peerMu.Unlock()
		if done {
			continue
		}
		if _, _, err := c.get(ctx, "/mint/"+url.PathEscape(addr)+"/0"); err != nil {
			return fmt.Errorf("gateway: upload: arlocal wallet record for %s: %w", addr, err)
		}
		c.peerMu.Lock()
		if c.minted == nil {
			c.minted = map[string]bool{}
		}
		c.minted[addr] = true
		c.peerMu.Unlock()
	}
	return nil
}

// itemL1 rebuilds a whole signed item from what a public gateway tells of it (GraphQL: signature, owner, target,
// anchor, tags; GET /{id}: data), and checks it: the result must hash to id and verify.
func (c *Client) itemL1(ctx context.Context, id string) ([]byte, error) {
	tx, err := c.Transaction(ctx, id)
	if err != nil {
		return nil, err
	}
	data, _, err := c.get(ctx, "/"+url.PathEscape(id))
	if err != nil {
		return nil, err
	}
	sig, err1 := dataitem.DecodeB64(tx.Signature)
	owner, err2 := dataitem.DecodeB64(tx.Owner.Key)
	target, err3 := dataitem.DecodeB64(tx.Recipient)
	anchor, err4 := dataitem.DecodeB64(tx.Anchor)
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return nil, fmt.Errorf("gateway: item %s: %w", id, invalid("GraphQL fields are not base64url: %v", err))
	}
	// The owner's length tells the key type; ed25519 and Solana share it, so each is tried.
	var types []dataitem.SignatureType
	for _, t := range []dataitem.SignatureType{dataitem.Arweave, dataitem.ED25519, dataitem.Ethereum, dataitem.Solana} {
		if sl, ol, _ := t.Lengths(); sl == len(sig) && ol == len(owner) {
			types = append(types, t)
		}
	}
	var lastErr error = invalid("owner of %d bytes and signature of %d bytes fit no ANS-104 key type", len(owner), len(sig))
	for _, t := range types {
		it := &dataitem.Item{SignatureType: t, Signature: sig, Owner: owner, Target: target, Anchor: anchor, Tags: tx.Tags, Data: data}
		raw, err := it.Bytes()
		if err != nil {
			lastErr = err
			continue
		}
		back, err := dataitem.Decode(raw)
		if err != nil {
			lastErr = err
			continue
		}
		if err := back.Verify(); err != nil || back.ID() != id {
			lastErr = fmt.Errorf("rebuilt item does not verify as %s (%v): the gateway may have dropped a field such as the anchor", id, err)
			continue
		}
		return raw, nil
	}
	return nil, fmt.Errorf("gateway: item %s: %w", id, lastErr)
}
