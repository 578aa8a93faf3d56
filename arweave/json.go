package arweave

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/aogo/aogo/dataitem"
)

// jsonTag is a tag as Arweave's JSON holds it: base64url name and value.
type jsonTag struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// jsonTx is the JSON form POST /tx takes and GET /tx/{id} answers.
type jsonTx struct {
	Format    json.RawMessage `json:"format"`
	ID        string          `json:"id"`
	LastTx    string          `json:"last_tx"`
	Owner     string          `json:"owner"`
	Tags      []jsonTag       `json:"tags"`
	Target    string          `json:"target"`
	Quantity  string          `json:"quantity"`
	Data      string          `json:"data"`
	DataSize  string          `json:"data_size"`
	DataRoot  string          `json:"data_root"`
	Reward    string          `json:"reward"`
	Signature string          `json:"signature"`
}

// MarshalJSON encodes the transaction as Arweave does (data inline; empty when the data goes as chunks).
func (tx *Transaction) MarshalJSON() ([]byte, error) {
	tags := make([]jsonTag, len(tx.Tags))
	for i, t := range tx.Tags {
		tags[i] = jsonTag{Name: dataitem.B64([]byte(t.Name)), Value: dataitem.B64([]byte(t.Value))}
	}
	return json.Marshal(jsonTx{
		Format: json.RawMessage(strconv.Itoa(tx.Format)), ID: tx.ID, LastTx: dataitem.B64(tx.LastTx),
		Owner: dataitem.B64(tx.Owner), Tags: tags, Target: dataitem.B64(tx.Target), Quantity: tx.Quantity,
		Data: dataitem.B64(tx.Data), DataSize: strconv.FormatUint(tx.DataSize, 10),
		DataRoot: dataitem.B64(tx.DataRoot), Reward: tx.Reward, Signature: dataitem.B64(tx.Signature),
	})
}

// UnmarshalJSON decodes Arweave's JSON form and checks the fields' shapes (not the signature: see Verify).
// format may be a number or a string, as nodes take both.
func (tx *Transaction) UnmarshalJSON(b []byte) error {
	var j jsonTx
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&j); err != nil {
		return fmt.Errorf("arweave: transaction JSON: %w", err)
	}
	var out Transaction
	var err error
	if out.Format, err = decodeFormat(j.Format); err != nil {
		return err
	}
	out.ID = j.ID
	fields := []struct {
		name string
		in   string
		out  *[]byte
	}{
		{"last_tx", j.LastTx, &out.LastTx}, {"owner", j.Owner, &out.Owner}, {"target", j.Target, &out.Target},
		{"data", j.Data, &out.Data}, {"data_root", j.DataRoot, &out.DataRoot}, {"signature", j.Signature, &out.Signature},
	}
	for _, f := range fields {
		if *f.out, err = decodeB64(f.in); err != nil {
			return fmt.Errorf("arweave: transaction JSON: %s: %w", f.name, err)
		}
	}
	if len(j.Tags) > 0 {
		out.Tags = make([]dataitem.Tag, len(j.Tags))
	}
	for i, t := range j.Tags {
		name, err := decodeB64(t.Name)
		if err != nil {
			return fmt.Errorf("arweave: transaction JSON: tag %d name: %w", i, err)
		}
		value, err := decodeB64(t.Value)
		if err != nil {
			return fmt.Errorf("arweave: transaction JSON: tag %d value: %w", i, err)
		}
		out.Tags[i] = dataitem.Tag{Name: string(name), Value: string(value)}
	}
	out.Quantity, out.Reward = j.Quantity, j.Reward
	if out.Quantity == "" {
		out.Quantity = "0"
	}
	if j.DataSize == "" {
		j.DataSize = "0"
	}
	if !isWinston(j.DataSize) {
		return fmt.Errorf("arweave: transaction JSON: data_size %q is not a decimal size", j.DataSize)
	}
	if out.DataSize, err = strconv.ParseUint(j.DataSize, 10, 64); err != nil {
		return fmt.Errorf("arweave: transaction JSON: data_size %q: %w", j.DataSize, err)
	}
	if err := out.check(out.ID != "" || len(out.Signature) > 0); err != nil {
		return err
	}
	*tx = out
	return nil
}

func decodeFormat(raw json.RawMessage) (int, error) {
	s := string(raw)
	if len(s) >= 2 && s[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, fmt.Errorf("arweave: transaction JSON: format: %w", err)
		}
	}
	f, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("arweave: transaction JSON: format %s is not a number", raw)
	}
	return f, nil
}

// decodeB64 decodes unpadded base64url, refusing padding and non-canonical trailing bits so that every value has
// one spelling.
func decodeB64(s string) ([]byte, error) {
	b, err := dataitem.DecodeB64(s)
	if err != nil {
		return nil, err
	}
	if dataitem.B64(b) != s {
		return nil, fmt.Errorf("%q is not canonical unpadded base64url", truncate(s))
	}
	return b, nil
}

func truncate(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}
