package su

import (
	"fmt"
	"strconv"

	"github.com/aogo/aogo/dataitem"
)

// The reference SU's JSON shapes (its json.rs): a slot is {message, assignment}; a page is {page_info, edges};
// a process is ProcessInner.

type jsonOwner struct {
	Address string `json:"address"`
	Key     string `json:"key"`
}

type jsonMessageInner struct {
	ID        string         `json:"id"`
	Owner     jsonOwner      `json:"owner"`
	Data      *string        `json:"data"`
	Tags      []dataitem.Tag `json:"tags"`
	Signature string         `json:"signature"`
	Anchor    *string        `json:"anchor"`
	Target    *string        `json:"target"`
}

type jsonAssignment struct {
	ID        string         `json:"id"`
	Owner     jsonOwner      `json:"owner"`
	Tags      []dataitem.Tag `json:"tags"`
	Signature string         `json:"signature"`
	Anchor    *string        `json:"anchor"`
	Target    *string        `json:"target"`
}

type jsonMessage struct {
	Message    *jsonMessageInner `json:"message"`
	Assignment jsonAssignment    `json:"assignment"`
}

type jsonEdge struct {
	Node   jsonMessage `json:"node"`
	Cursor string      `json:"cursor"`
}

type jsonPageInfo struct {
	HasNextPage bool `json:"has_next_page"`
}

type jsonPage struct {
	PageInfo jsonPageInfo `json:"page_info"`
	Edges    []jsonEdge   `json:"edges"`
}

type jsonProcess struct {
	ProcessID string         `json:"process_id"`
	Block     string         `json:"block"`
	Owner     jsonOwner      `json:"owner"`
	Tags      []dataitem.Tag `json:"tags"`
	Timestamp int64          `json:"timestamp"`
	Data      *string        `json:"data"`
	Anchor    *string        `json:"anchor"`
	Signature *string        `json:"signature"`
	Target    *string        `json:"target"`
}

func ownerOf(it *dataitem.Item) jsonOwner {
	return jsonOwner{Address: dataitem.Address(it.Owner), Key: dataitem.B64(it.Owner)}
}

func ptr(s string) *string { return &s }

// textAnchor shows an anchor the way the reference does: its bytes as text, null when empty. (aos and aoconnect
// anchors are printable strings.)
func textAnchor(a []byte) *string {
	if len(a) == 0 {
		return nil
	}
	return ptr(string(a))
}

// messageJSON renders a slot. The Process's own slot (nonce 0) shows its target as null when it has none, as
// the reference's process edge does; other messages show "" then.
func messageJSON(s *Slot, showAnchor bool) (jsonMessage, error) {
	a, err := dataitem.Decode(s.Assignment)
	if err != nil {
		return jsonMessage{}, fmt.Errorf("stored assignment %s: %w", s.AssignmentID, err)
	}
	out := jsonMessage{Assignment: jsonAssignment{
		ID: a.ID(), Owner: ownerOf(a), Tags: a.Tags, Signature: dataitem.B64(a.Signature), Target: ptr(""),
	}}
	if showAnchor && len(a.Anchor) > 0 {
		out.Assignment.Anchor = ptr(dataitem.B64(a.Anchor))
	}
	if s.Message == nil {
		return out, nil
	}
	m, err := dataitem.Decode(s.Message)
	if err != nil {
		return jsonMessage{}, fmt.Errorf("stored item %s: %w", s.MessageID, err)
	}
	// Invalid UTF-8 in data becomes U+FFFD in the JSON, like the reference's lossy conversion.
	inner := &jsonMessageInner{
		ID: m.ID(), Owner: ownerOf(m), Data: ptr(string(m.Data)), Tags: m.Tags,
		Signature: dataitem.B64(m.Signature), Anchor: textAnchor(m.Anchor), Target: ptr(m.TargetID()),
	}
	if s.MessageID == s.Process && m.TargetID() == "" {
		inner.Target = nil
	}
	if inner.Tags == nil {
		inner.Tags = []dataitem.Tag{}
	}
	out.Message = inner
	return out, nil
}

func processJSON(s *Slot) (jsonProcess, error) {
	m, err := dataitem.Decode(s.Message)
	if err != nil {
		return jsonProcess{}, fmt.Errorf("stored process %s: %w", s.Process, err)
	}
	out := jsonProcess{
		ProcessID: m.ID(), Block: fmt.Sprintf("%012d", s.BlockHeight), Owner: ownerOf(m), Tags: m.Tags,
		Timestamp: s.Timestamp, Data: ptr(string(m.Data)), Anchor: textAnchor(m.Anchor),
		Signature: ptr(dataitem.B64(m.Signature)),
	}
	if t := m.TargetID(); t != "" {
		out.Target = &t
	}
	if out.Tags == nil {
		out.Tags = []dataitem.Tag{}
	}
	return out, nil
}

func cursorOf(s *Slot, byNonce bool) string {
	if byNonce {
		return strconv.FormatUint(s.Nonce, 10)
	}
	return strconv.FormatInt(s.Timestamp, 10)
}
