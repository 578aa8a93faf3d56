package cu

import (
	"encoding/json"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/wallet"
)

// msgJSON is the message object handed to handle(msg, env), in the reference CU's shape
// (servers/cu effects/ao-su.js mapNode + the cron and dry-run variants). Pointer fields without omitempty
// are null when the SU sends null; omitempty fields are the ones the reference leaves undefined.
type msgJSON struct {
	ID          string         `json:"Id,omitempty"`
	Signature   *string        `json:"Signature,omitempty"`
	Data        *string        `json:"Data"`
	Owner       string         `json:"Owner"`
	Target      string         `json:"Target"`
	Anchor      *string        `json:"Anchor"`
	From        string         `json:"From"`
	ForwardedBy string         `json:"Forwarded-By,omitempty"`
	Tags        []dataitem.Tag `json:"Tags"`
	Message     string         `json:"Message,omitempty"`
	Epoch       *int64         `json:"Epoch,omitempty"`
	Nonce       *int64         `json:"Nonce,omitempty"`
	Timestamp   int64          `json:"Timestamp"`
	BlockHeight int64          `json:"Block-Height"`
	HashChain   string         `json:"Hash-Chain,omitempty"`
	Cron        bool           `json:"Cron"`
	ReadOnly    bool           `json:"Read-Only"`
}

// envJSON is handle's second argument (the reference's AoGlobal).
type envJSON struct {
	Process envEntity `json:"Process"`
	Module  envEntity `json:"Module"`
}

type envEntity struct {
	ID    string         `json:"Id"`
	Owner string         `json:"Owner"`
	Tags  []dataitem.Tag `json:"Tags"`
}

// ownerAddress is the reference's addressFrom: the address of the owner key, an Ethereum checksum address
// for secp256k1 keys. It falls back to the address the SU gave when the key is missing or malformed.
func ownerAddress(o client.SUOwner) string {
	key, err := dataitem.DecodeB64(o.Key)
	if err != nil || len(key) == 0 {
		return o.Address
	}
	if len(key) == 65 {
		return ethAddress(key)
	}
	return dataitem.Address(key)
}

// fromOf is the reference's mapFrom: the From-Process tag when present, else the owner.
func fromOf(tags []dataitem.Tag, owner string) string {
	if v, ok := dataitem.Get(tags, ao.TagFromProcess); ok {
		return v
	}
	return owner
}

// forwardedByOf is mapForwardedBy: the owner (the pushing MU) when the message carries From-Process.
func forwardedByOf(tags []dataitem.Tag, owner string) string {
	if _, ok := dataitem.Get(tags, ao.TagFromProcess); ok {
		return owner
	}
	return ""
}

// handleTags removes the tags named From and Owner, as the reference evaluate step does before handle.
func handleTags(tags []dataitem.Tag) []dataitem.Tag {
	out := make([]dataitem.Tag, 0, len(tags))
	for _, t := range tags {
		if t.Name == "From" || t.Name == "Owner" {
			continue
		}
		out = append(out, t)
	}
	return out
}

// slotMeta is what an assignment says about a slot.
type slotMeta = ao.Assignment

func assignmentMeta(a *client.SUItem) (slotMeta, error) { return ao.ParseAssignment(a.Tags) }

// scheduledMsg builds handle's msg for a slot whose message the SU holds.
func scheduledMsg(node *client.SUMessage, meta slotMeta) msgJSON {
	m := node.Message
	owner := ownerAddress(m.Owner)
	sig := m.Signature
	epoch, nonce := meta.Epoch, meta.Nonce
	return msgJSON{
		ID:          m.ID,
		Signature:   &sig,
		Data:        m.Data,
		Owner:       owner,
		Target:      meta.Process,
		Anchor:      m.Anchor,
		From:        fromOf(m.Tags, owner),
		ForwardedBy: forwardedByOf(m.Tags, owner),
		Tags:        handleTags(m.Tags),
		Message:     meta.Message,
		Epoch:       &epoch,
		Nonce:       &nonce,
		Timestamp:   meta.Timestamp,
		BlockHeight: meta.BlockHeight,
		HashChain:   meta.HashChain,
	}
}

// cronMsg builds handle's msg for a generated cron message.
func cronMsg(pid, procOwner string, tags []dataitem.Tag, ts, height int64) msgJSON {
	return msgJSON{
		Owner:       procOwner,
		Target:      pid,
		From:        procOwner,
		Tags:        handleTags(tags),
		Timestamp:   ts,
		BlockHeight: height,
		Cron:        true,
	}
}

// dryRunMsg builds handle's msg for a dry-run from the posted body: the body's fields, plus Target = the
// process, From from its tags and Owner, the Timestamp and Block-Height of the last evaluated message, and
// Read-Only = true.
func dryRunMsg(body []byte, pid string, ts, height int64) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return nil, badRequest("dry-run body must be a JSON message object")
	}
	var tags []dataitem.Tag
	if raw, ok := m["Tags"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &tags); err != nil {
			return nil, badRequest("dry-run Tags must be a list of {name, value}: %v", err)
		}
	}
	if tags == nil {
		tags = []dataitem.Tag{}
	}
	var owner string
	if raw, ok := m["Owner"]; ok {
		if err := json.Unmarshal(raw, &owner); err != nil {
			return nil, badRequest("dry-run Owner must be a string")
		}
	}
	set := func(k string, v any) {
		b, _ := json.Marshal(v)
		m[k] = b
	}
	set("Tags", handleTags(tags))
	set("Target", pid)
	set("From", fromOf(tags, owner))
	set("Timestamp", ts)
	set("Block-Height", height)
	set("Cron", false)
	set("Read-Only", true)
	return stringify(m)
}

func ethAddress(pub []byte) string { return wallet.EthereumAddress(pub) }
