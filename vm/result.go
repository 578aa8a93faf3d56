package vm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Result is what one message produced, in the reference loader's shape (minus Memory).
//
// JSON: {"Output":…,"Messages":[…],"Spawns":[…],"Assignments":[…],"GasUsed":n} plus "Error" when set and
// "Patches" when the module returned any. The slices encode as [] when empty, never null.
type Result struct {
	Output      json.RawMessage   // the module's Output value (aos: {data, prompt, print}); null when absent
	Messages    []json.RawMessage // outbox messages {Target, Anchor, Tags, Data}
	Spawns      []json.RawMessage // outbox spawns {Anchor, Tags, Data}
	Assignments []json.RawMessage // {Processes, Message, …}
	Patches     []json.RawMessage // newer aos: state patches; omitted when empty
	Error       string            // set when the message failed; the state was rolled back
	GasUsed     uint64            // reference gas (metering.usegas); 0 on formats the reference does not meter
	// FuelUsed is the wasmtime fuel the message consumed (≈ wasm instructions). It is ours, not the
	// reference's, so it is not part of the JSON; the CU can use it for checkpoint heuristics.
	FuelUsed uint64 `json:"-"`
}

type resultJSON struct {
	Output      json.RawMessage   `json:"Output"`
	Messages    []json.RawMessage `json:"Messages"`
	Spawns      []json.RawMessage `json:"Spawns"`
	Assignments []json.RawMessage `json:"Assignments"`
	Patches     []json.RawMessage `json:"Patches,omitempty"`
	Error       *string           `json:"Error,omitempty"`
	GasUsed     uint64            `json:"GasUsed"`
}

var jsonNull = json.RawMessage("null")

func nonNil(s []json.RawMessage) []json.RawMessage {
	if s == nil {
		return []json.RawMessage{}
	}
	return s
}

// MarshalJSON encodes r in the reference result shape. To keep <, > and & unescaped end to end, encode
// with a json.Encoder that has SetEscapeHTML(false) (json.Marshal re-escapes).
func (r Result) MarshalJSON() ([]byte, error) {
	j := resultJSON{
		Output:      r.Output,
		Messages:    nonNil(r.Messages),
		Spawns:      nonNil(r.Spawns),
		Assignments: nonNil(r.Assignments),
		Patches:     r.Patches,
		GasUsed:     r.GasUsed,
	}
	if len(j.Output) == 0 {
		j.Output = jsonNull
	}
	if r.Error != "" {
		e := r.Error
		j.Error = &e
	}
	// Like JSON.stringify, do not escape <, >, & (aos prompts end in "> ").
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(j); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// UnmarshalJSON decodes the shape MarshalJSON writes (and the reference CU's /result bodies).
func (r *Result) UnmarshalJSON(b []byte) error {
	var j struct {
		Output      json.RawMessage   `json:"Output"`
		Messages    []json.RawMessage `json:"Messages"`
		Spawns      []json.RawMessage `json:"Spawns"`
		Assignments []json.RawMessage `json:"Assignments"`
		Patches     []json.RawMessage `json:"Patches"`
		Error       json.RawMessage   `json:"Error"`
		GasUsed     json.Number       `json:"GasUsed"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = Result{Output: j.Output, Messages: j.Messages, Spawns: j.Spawns, Assignments: j.Assignments, Patches: j.Patches}
	r.Error = errorText(j.Error)
	if j.GasUsed != "" {
		g, err := strconv.ParseFloat(string(j.GasUsed), 64)
		if err != nil || g < 0 {
			return fmt.Errorf("bad GasUsed %q", j.GasUsed)
		}
		r.GasUsed = uint64(g)
	}
	return nil
}

// errorText turns a JSON error value into the Error string: a JSON string is unquoted, null/absent is
// "", anything else (the reference loader throws whatever the module put in response) keeps its JSON text.
func errorText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, jsonNull) {
		return ""
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	}
	return string(raw)
}

// ErrBadResponse means the module's handle returned something that is not the JSON-1 envelope.
var ErrBadResponse = errors.New("module returned a malformed response")

// DecodeResponse decodes the C string a JSON-1 module's handle returns: {"ok":bool,"response":…}.
// ok:false becomes Result.Error = response (as the reference loader throws it); ok:true takes Output,
// Messages, Spawns, Assignments, Patches and Error from response. It never panics; anything malformed is
// ErrBadResponse (which the machine reports as the message's Error).
func DecodeResponse(raw []byte) (Result, error) {
	var env struct {
		OK       *bool           `json:"ok"`
		Response json.RawMessage `json:"response"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return Result{}, fmt.Errorf("%w: %v", ErrBadResponse, err)
	}
	if env.OK == nil {
		return Result{}, fmt.Errorf("%w: no \"ok\" field", ErrBadResponse)
	}
	if !*env.OK {
		msg := errorText(env.Response)
		if msg == "" {
			msg = "unknown error"
		}
		return Result{Error: msg}, nil
	}
	resp := bytes.TrimSpace(env.Response)
	if len(resp) == 0 || resp[0] != '{' {
		// The loader reads fields of response; a non-object has none.
		return Result{}, nil
	}
	var body struct {
		Output      json.RawMessage `json:"Output"`
		Messages    json.RawMessage `json:"Messages"`
		Spawns      json.RawMessage `json:"Spawns"`
		Assignments json.RawMessage `json:"Assignments"`
		Patches     json.RawMessage `json:"Patches"`
		Error       json.RawMessage `json:"Error"`
	}
	if err := json.Unmarshal(resp, &body); err != nil {
		return Result{}, fmt.Errorf("%w: %v", ErrBadResponse, err)
	}
	r := Result{Output: body.Output, Error: errorText(body.Error)}
	var err error
	if r.Messages, err = list(body.Messages); err != nil {
		return Result{}, fmt.Errorf("%w: Messages: %v", ErrBadResponse, err)
	}
	if r.Spawns, err = list(body.Spawns); err != nil {
		return Result{}, fmt.Errorf("%w: Spawns: %v", ErrBadResponse, err)
	}
	if r.Assignments, err = list(body.Assignments); err != nil {
		return Result{}, fmt.Errorf("%w: Assignments: %v", ErrBadResponse, err)
	}
	if r.Patches, err = list(body.Patches); err != nil {
		return Result{}, fmt.Errorf("%w: Patches: %v", ErrBadResponse, err)
	}
	if len(r.Patches) == 0 {
		r.Patches = nil
	}
	return r, nil
}

// list decodes a JSON array of values. Lua's json encodes an empty table as {} (an object), which the
// loader passes through; we read any non-array as empty.
func list(raw json.RawMessage) ([]json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '[' {
		return []json.RawMessage{}, nil
	}
	var out []json.RawMessage
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, err
	}
	if out == nil {
		out = []json.RawMessage{}
	}
	return out, nil
}
