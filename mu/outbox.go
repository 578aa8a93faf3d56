package mu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/dataitem"
)

// Outbox entries come from process code (aos Lua through the CU) and are untrusted: every decoder here returns
// a precise error instead of guessing, so an entry the MU cannot push is parked with the reason (permaweb/aos
// #446: a number as a tag value used to make messages vanish).

// outMessage is one entry of a result's Messages.
type outMessage struct {
	Target string
	Anchor string
	Tags   []dataitem.Tag
	Data   []byte
}

// outSpawn is one entry of a result's Spawns.
type outSpawn struct {
	Anchor string
	Tags   []dataitem.Tag
	Data   []byte
}

// outAssign is one entry of a result's Assignments.
type outAssign struct {
	Processes []string
	Message   string
	BaseLayer bool
	Exclude   []string
}

func jsonKind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || bytes.Equal(raw, []byte("null"))
}

// decodeTags reads an outbox Tags value: an array of {name, value} objects whose names and values are strings.
// An empty Lua table encodes as {} and means no tags.
func decodeTags(raw json.RawMessage) ([]dataitem.Tag, error) {
	if isNull(raw) || bytes.Equal(bytes.TrimSpace(raw), []byte("{}")) {
		return nil, nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("Tags is %s, want an array of {name, value}", jsonKind(raw))
	}
	tags := make([]dataitem.Tag, 0, len(list))
	for i, e := range list {
		var kv map[string]json.RawMessage
		if err := json.Unmarshal(e, &kv); err != nil || kv == nil {
			return nil, fmt.Errorf("tag %d is %s, want {name, value}", i, jsonKind(e))
		}
		// encoding/json turns invalid UTF-8 into U+FFFD without a word: the pushed tag would silently differ
		// from what the process wrote (Lua strings are bytes). An SU refuses tags that are not UTF-8 text.
		if !utf8.Valid(kv["name"]) || !utf8.Valid(kv["value"]) {
			return nil, fmt.Errorf("tag %d is not valid UTF-8: tags must be UTF-8 text", i)
		}
		var name, value string
		if err := json.Unmarshal(kv["name"], &name); err != nil {
			return nil, fmt.Errorf("tag %d: name is %s, want a string", i, jsonKind(kv["name"]))
		}
		if name == "" {
			return nil, fmt.Errorf("tag %d has an empty name", i)
		}
		if err := json.Unmarshal(kv["value"], &value); err != nil {
			return nil, fmt.Errorf("tag %d (%q): value is %s, want a string (use tostring in Lua)", i, name, jsonKind(kv["value"]))
		}
		tags = append(tags, dataitem.Tag{Name: name, Value: value})
	}
	return tags, nil
}

// decodeData reads an outbox Data value. A string is taken as is; absent or null is empty; any other JSON value
// is sent as its JSON text (what a process that puts a table in Data means).
func decodeData(raw json.RawMessage) []byte {
	if isNull(raw) {
		return nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return []byte(s)
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) == nil {
		return buf.Bytes()
	}
	return []byte(raw)
}

func decodeString(raw json.RawMessage, field string) (string, error) {
	if isNull(raw) {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("%s is %s, want a string", field, jsonKind(raw))
	}
	return s, nil
}

func decodeMessage(raw json.RawMessage) (outMessage, error) {
	var f map[string]json.RawMessage
	if err := json.Unmarshal(raw, &f); err != nil || f == nil {
		return outMessage{}, fmt.Errorf("outbox message is %s, want an object", jsonKind(raw))
	}
	var m outMessage
	var err error
	if m.Target, err = decodeString(f["Target"], "Target"); err != nil {
		return m, err
	}
	if m.Anchor, err = decodeString(f["Anchor"], "Anchor"); err != nil {
		return m, err
	}
	if m.Tags, err = decodeTags(f["Tags"]); err != nil {
		return m, err
	}
	m.Data = decodeData(f["Data"])
	return m, nil
}

func decodeSpawn(raw json.RawMessage) (outSpawn, error) {
	var f map[string]json.RawMessage
	if err := json.Unmarshal(raw, &f); err != nil || f == nil {
		return outSpawn{}, fmt.Errorf("outbox spawn is %s, want an object", jsonKind(raw))
	}
	var s outSpawn
	var err error
	if s.Anchor, err = decodeString(f["Anchor"], "Anchor"); err != nil {
		return s, err
	}
	if s.Tags, err = decodeTags(f["Tags"]); err != nil {
		return s, err
	}
	s.Data = decodeData(f["Data"])
	return s, nil
}

func decodeAssign(raw json.RawMessage) (outAssign, error) {
	var f struct {
		Processes json.RawMessage
		Message   json.RawMessage
		BaseLayer json.RawMessage
		Exclude   json.RawMessage
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		return outAssign{}, fmt.Errorf("outbox assignment is %s, want an object", jsonKind(raw))
	}
	var a outAssign
	var err error
	if a.Message, err = decodeString(f.Message, "Message"); err != nil {
		return a, err
	}
	if a.Message == "" {
		return a, fmt.Errorf("assignment has no Message")
	}
	if err := json.Unmarshal(f.Processes, &a.Processes); err != nil {
		return a, fmt.Errorf("assignment Processes is %s, want an array of process ids", jsonKind(f.Processes))
	}
	if !isNull(f.BaseLayer) {
		if err := json.Unmarshal(f.BaseLayer, &a.BaseLayer); err != nil {
			return a, fmt.Errorf("assignment BaseLayer is %s, want a boolean", jsonKind(f.BaseLayer))
		}
	}
	if !isNull(f.Exclude) && !bytes.Equal(bytes.TrimSpace(f.Exclude), []byte("{}")) {
		if err := json.Unmarshal(f.Exclude, &a.Exclude); err != nil {
			return a, fmt.Errorf("assignment Exclude is %s, want an array of field names", jsonKind(f.Exclude))
		}
	}
	for _, p := range a.Processes {
		if err := checkID(p, "assignment process"); err != nil {
			return a, err
		}
	}
	return a, checkID(a.Message, "assignment Message")
}

// checkID checks a base64url id of 32 bytes, in its canonical spelling (the last character carries 2 unused
// bits; an id with them set would name the same bytes as another id).
func checkID(id, what string) error {
	b, err := dataitem.DecodeB64(id)
	if err != nil || len(b) != 32 || dataitem.B64(b) != id {
		return fmt.Errorf("%s %q is not a 43-character base64url id", what, id)
	}
	return nil
}

// anchorBytes turns an outbox Anchor into item anchor bytes: empty, or exactly 32 bytes (aos writes the
// zero-padded 32-digit reference counter).
func anchorBytes(a string) ([]byte, error) {
	if a == "" {
		return nil, nil
	}
	if len(a) != 32 {
		return nil, fmt.Errorf("Anchor %q is %d bytes, want 32", a, len(a))
	}
	return []byte(a), nil
}

// isCast reports whether an item is marked "Cast: true": schedule it, but do not crank its result.
func isCast(tags []dataitem.Tag) bool {
	v, ok := dataitem.Get(tags, "Cast")
	return ok && (strings.EqualFold(v, "true") || v == "1")
}

// isExternal reports the reference MU's "External: true" tag: the message only goes to the gateway.
func isExternal(tags []dataitem.Tag) bool {
	v, ok := dataitem.Get(tags, "External")
	return ok && strings.EqualFold(v, "true")
}

// parseAssignments reads the outbox tag Assignments: a JSON array of process ids or a comma-separated list.
func parseAssignments(v string) ([]string, error) {
	v = strings.TrimSpace(v)
	var pids []string
	if strings.HasPrefix(v, "[") {
		if err := json.Unmarshal([]byte(v), &pids); err != nil {
			return nil, fmt.Errorf("Assignments tag %q: not a JSON array of ids", v)
		}
	} else {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				pids = append(pids, p)
			}
		}
	}
	for _, p := range pids {
		if err := checkID(p, "Assignments process"); err != nil {
			return nil, err
		}
	}
	return pids, nil
}

func without(tags []dataitem.Tag, names ...string) []dataitem.Tag {
	out := make([]dataitem.Tag, 0, len(tags)+6)
outer:
	for _, t := range tags {
		for _, n := range names {
			if t.Name == n {
				continue outer
			}
		}
		out = append(out, t)
	}
	return out
}

// builder builds and signs the items the MU pushes.
type builder struct {
	signer  dataitem.Signer
	maxSize int
}

// finish signs it and checks its size, returning the signed bytes.
func (b *builder) finish(it *dataitem.Item) ([]byte, error) {
	if err := dataitem.CheckTags(it.Tags); err != nil {
		return nil, err
	}
	if err := it.Sign(b.signer); err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	raw, err := it.Bytes()
	if err != nil {
		return nil, err
	}
	if len(raw) > b.maxSize {
		return nil, fmt.Errorf("item is %d bytes, over the %d-byte limit", len(raw), b.maxSize)
	}
	return raw, nil
}

// pushed is a built outbox message.
type pushed struct {
	item     *dataitem.Item
	raw      []byte
	assignTo []string
}

// buildMessage builds the item for an outbox message of process from, exactly as the reference MU does: the
// outbox tags minus Data-Protocol, Type, From-Process, From-Module and Assignments, then Data-Protocol: ao,
// Type: Message, From-Process, From-Module and Pushed-For (the user item at the root of the cascade).
func (b *builder) buildMessage(m outMessage, from *procInfo, pushedFor string) (pushed, error) {
	if err := checkID(m.Target, "Target"); err != nil {
		return pushed{}, err
	}
	anchor, err := anchorBytes(m.Anchor)
	if err != nil {
		return pushed{}, err
	}
	var assignTo []string
	if v, ok := dataitem.Get(m.Tags, "Assignments"); ok {
		if assignTo, err = parseAssignments(v); err != nil {
			return pushed{}, err
		}
	}
	tags := without(m.Tags, ao.TagDataProtocol, ao.TagType, ao.TagFromProcess, ao.TagFromModule, "Assignments")
	tags = append(tags,
		dataitem.Tag{Name: ao.TagDataProtocol, Value: ao.DataProtocol},
		dataitem.Tag{Name: ao.TagType, Value: ao.TypeMessage},
		dataitem.Tag{Name: ao.TagFromProcess, Value: from.ID},
		dataitem.Tag{Name: ao.TagFromModule, Value: from.Module},
	)
	if pushedFor != "" {
		tags = append(tags, dataitem.Tag{Name: ao.TagPushedFor, Value: pushedFor})
	}
	target, _ := dataitem.DecodeB64(m.Target)
	it := &dataitem.Item{Target: target, Anchor: anchor, Tags: tags, Data: m.Data}
	raw, err := b.finish(it)
	if err != nil {
		return pushed{}, err
	}
	return pushed{item: it, raw: raw, assignTo: assignTo}, nil
}

// buildSpawn builds the Process item for an outbox spawn of process parent: the outbox tags minus
// Data-Protocol, Type, Variant, From-Process and From-Module, then Data-Protocol: ao, Type: Process, Variant,
// From-Process, From-Module (the parent's Module) and Pushed-For; Scheduler defaults to the parent's.
func (b *builder) buildSpawn(s outSpawn, parent *procInfo, pushedFor string) (pushed, error) {
	anchor, err := anchorBytes(s.Anchor)
	if err != nil {
		return pushed{}, err
	}
	if v, ok := dataitem.Get(s.Tags, ao.TagModule); !ok || v == "" {
		return pushed{}, fmt.Errorf("spawn has no Module tag")
	}
	tags := without(s.Tags, ao.TagDataProtocol, ao.TagType, ao.TagVariant, ao.TagFromProcess, ao.TagFromModule, ao.TagPushedFor)
	tags = append(tags,
		dataitem.Tag{Name: ao.TagDataProtocol, Value: ao.DataProtocol},
		dataitem.Tag{Name: ao.TagType, Value: ao.TypeProcess},
		dataitem.Tag{Name: ao.TagVariant, Value: ao.Variant},
		dataitem.Tag{Name: ao.TagFromProcess, Value: parent.ID},
		dataitem.Tag{Name: ao.TagFromModule, Value: parent.Module},
	)
	if pushedFor != "" {
		tags = append(tags, dataitem.Tag{Name: ao.TagPushedFor, Value: pushedFor})
	}
	if v, ok := dataitem.Get(tags, ao.TagScheduler); !ok || v == "" {
		tags = append(without(tags, ao.TagScheduler), dataitem.Tag{Name: ao.TagScheduler, Value: parent.Scheduler})
	}
	data := s.Data
	if len(data) == 0 {
		data = []byte("NODATA") // what aos puts in a spawn without Data; an empty body is not a valid process
	}
	it := &dataitem.Item{Anchor: anchor, Tags: tags, Data: data}
	raw, err := b.finish(it)
	if err != nil {
		return pushed{}, err
	}
	return pushed{item: it, raw: raw}, nil
}

// buildSpawned builds the notice sent to parent once its spawn was scheduled, as the reference MU does: the
// spawn's tags minus Data-Protocol, Variant and Type, then Data-Protocol: ao, Type: Message, Process: <new
// pid>, Action: Spawned, Variant. The spawn's From-Process (the parent) stays, so aos sees From = itself and its
// spawn's receive() matches on Reference.
func (b *builder) buildSpawned(spawn *dataitem.Item, parent string) (pushed, error) {
	variant, ok := spawn.Tag(ao.TagVariant)
	if !ok {
		variant = ao.Variant
	}
	tags := without(spawn.Tags, ao.TagDataProtocol, ao.TagVariant, ao.TagType)
	tags = append(tags,
		dataitem.Tag{Name: ao.TagDataProtocol, Value: ao.DataProtocol},
		dataitem.Tag{Name: ao.TagType, Value: ao.TypeMessage},
		dataitem.Tag{Name: ao.TagProcess, Value: spawn.ID()},
		dataitem.Tag{Name: ao.TagAction, Value: "Spawned"},
		dataitem.Tag{Name: ao.TagVariant, Value: variant},
	)
	target, err := dataitem.DecodeB64(parent)
	if err != nil || len(target) != 32 {
		return pushed{}, fmt.Errorf("parent %q is not a process id", parent)
	}
	it := &dataitem.Item{Target: target, Tags: tags}
	raw, err := b.finish(it)
	if err != nil {
		return pushed{}, err
	}
	return pushed{item: it, raw: raw}, nil
}
