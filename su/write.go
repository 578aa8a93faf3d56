package su

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/dataitem"
)

// Error is a refusal with the HTTP status it maps to.
type Error struct {
	Status int
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

func badRequest(format string, args ...any) error {
	return &Error{Status: 400, Msg: fmt.Sprintf(format, args...)}
}

// Posted is the answer to a write: the slot it got (or already had).
type Posted struct {
	ID        string // the item id, or the assignment id on the assign path
	Slot      Slot
	Duplicate bool
}

// PostItem verifies a signed Process or Message item and schedules it. It returns once the slot is durable.
func (u *Unit) PostItem(ctx context.Context, raw []byte) (Posted, error) {
	u.metrics.posts.Add(1)
	p, err := u.postItem(ctx, raw)
	u.count(p, err)
	return p, err
}

func (u *Unit) count(p Posted, err error) {
	if err != nil {
		u.metrics.postErrors.Add(1)
	} else if p.Duplicate {
		u.metrics.duplicates.Add(1)
	}
}

func (u *Unit) postItem(ctx context.Context, raw []byte) (Posted, error) {
	it, err := dataitem.Decode(raw)
	if err != nil {
		return Posted{}, badRequest("invalid data item: %v", err)
	}
	if err := it.Verify(); err != nil {
		return Posted{}, badRequest("data item %s: %v", it.ID(), err)
	}
	if err := checkUTF8Tags(it.Tags); err != nil {
		return Posted{}, badRequest("data item %s: %v", it.ID(), err)
	}
	// Keep a private copy: Decode aliases the request buffer.
	raw = append([]byte(nil), raw...)
	id := it.ID()
	var r request
	switch typ := typeOf(it); typ {
	case ao.TypeProcess:
		if err := ao.CheckProcess(it); err != nil {
			return Posted{}, badRequest("%v", err)
		}
		if s, _ := it.Tag(ao.TagScheduler); s != u.address {
			return Posted{}, badRequest("process %s names scheduler %s, not this one (%s)", id, s, u.address)
		}
		r = request{pid: id, messageID: id, raw: raw, isProcess: true}
	case ao.TypeMessage:
		if err := ao.CheckMessage(it); err != nil {
			return Posted{}, badRequest("%v", err)
		}
		r = request{pid: it.TargetID(), messageID: id, raw: raw}
		if _, pushed := it.Tag(ao.TagFromProcess); pushed {
			r.contentHash = ContentHash(it)
		}
	case "":
		return Posted{}, badRequest("item %s is not an ao item (Data-Protocol: ao and a Type tag are required)", id)
	default:
		return Posted{}, badRequest("item %s has Type %q; the scheduler takes Process and Message items", id, typ)
	}
	res, err := u.schedule(ctx, r)
	if err != nil {
		return Posted{}, err
	}
	// A content duplicate answers with the id that holds the slot.
	return Posted{ID: res.slot.MessageID, Slot: res.slot, Duplicate: res.duplicate}, nil
}

// typeOf is ao.TypeOf, but a missing Data-Protocol still reports the Type, so the error can say what is wrong.
func typeOf(it *dataitem.Item) string {
	if t := ao.TypeOf(it.Tags); t != "" {
		return t
	}
	if _, ok := it.Tag(ao.TagDataProtocol); !ok {
		return ""
	}
	return "?"
}

// Assign schedules message id, which already exists (in this SU or on the data-availability layer), onto
// process pid. baseLayer requires an Arweave transaction with at least the process's Settlement-Depth (default
// 20) confirmations. exclude becomes one Exclude tag per field.
func (u *Unit) Assign(ctx context.Context, pid, id string, baseLayer bool, exclude []string) (Posted, error) {
	u.metrics.posts.Add(1)
	p, err := u.assign(ctx, pid, id, baseLayer, exclude)
	u.count(p, err)
	return p, err
}

func (u *Unit) assign(ctx context.Context, pid, id string, baseLayer bool, exclude []string) (Posted, error) {
	for name, v := range map[string]string{"process-id": pid, "assign": id} {
		if b, err := dataitem.DecodeB64(v); err != nil || len(b) != 32 {
			return Posted{}, badRequest("%s %q is not a 43-character transaction id", name, v)
		}
	}
	for _, e := range exclude {
		if e == "" || strings.HasSuffix(e, "+link") {
			return Posted{}, badRequest("bad exclude field %q", e)
		}
	}
	if err := u.checkAssignable(ctx, pid, id, baseLayer); err != nil {
		return Posted{}, err
	}
	res, err := u.schedule(ctx, request{pid: pid, messageID: id, exclude: exclude})
	if err != nil {
		return Posted{}, err
	}
	return Posted{ID: res.slot.AssignmentID, Slot: res.slot, Duplicate: res.duplicate}, nil
}

// checkAssignable makes sure the message exists before it gets a slot: in this SU, else on the gateway.
func (u *Unit) checkAssignable(ctx context.Context, pid, id string, baseLayer bool) error {
	if baseLayer {
		if u.cfg.Messages == nil {
			return badRequest("base-layer assignment needs a gateway; this scheduler has none")
		}
		depth := uint64(20)
		if ps, err := u.cfg.Store.Find(ctx, pid, pid); err == nil && ps.Message != nil {
			if it, err := dataitem.Decode(ps.Message); err == nil {
				if v, ok := it.Tag("Settlement-Depth"); ok {
					if d, err := strconv.ParseUint(v, 10, 64); err == nil {
						depth = d
					}
				}
			}
		}
		n, err := u.cfg.Messages.Confirmations(ctx, id)
		if err != nil {
			return badRequest("base-layer transaction %s: %v", id, err)
		}
		if n < depth {
			return badRequest("base-layer transaction %s has %d confirmations, the process requires %d", id, n, depth)
		}
		return nil
	}
	if _, err := u.cfg.Store.Item(ctx, id); err == nil {
		return nil
	} else if !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("look up message %s: %w", id, err)
	}
	if u.cfg.Messages == nil {
		return badRequest("message %s not found on this scheduler", id)
	}
	ok, err := u.cfg.Messages.Exists(ctx, id)
	if err != nil {
		return &Error{Status: 502, Msg: fmt.Sprintf("look up message %s on the gateway: %v", id, err)}
	}
	if !ok {
		return badRequest("message %s not found on this scheduler or the gateway", id)
	}
	return nil
}

// checkUTF8Tags refuses tag names and values that are not UTF-8 text. ANS-104 allows any bytes there, but the
// SU's JSON (the reference's shape, which CUs and aoconnect read) carries tags as JSON strings, where invalid
// UTF-8 can only be shown lossily (U+FFFD): the process would then see other tags than the ones signed, and no
// one could check the signature from the JSON. The reference SU refuses such items for the same reason (its
// Avro tag schema has "string" fields, and decoding them fails on invalid UTF-8), so every tag a log shows is
// byte for byte the signed one. Data is different: it is shown as text lossily, as the reference does, and its
// bytes stay recoverable from the data-availability layer, which receives every item unchanged.
func checkUTF8Tags(tags []dataitem.Tag) error {
	for i, t := range tags {
		if !utf8.ValidString(t.Name) {
			return fmt.Errorf("tag %d name %q is not valid UTF-8: tags must be UTF-8 text", i, t.Name)
		}
		if !utf8.ValidString(t.Value) {
			return fmt.Errorf("tag %d (%s) value %q is not valid UTF-8: tags must be UTF-8 text", i, t.Name, t.Value)
		}
	}
	return nil
}
