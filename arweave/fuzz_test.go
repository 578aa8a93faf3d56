package arweave

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzUnmarshalJSON: decoding never panics, and what decodes re-encodes to JSON that decodes to the same
// transaction.
func FuzzUnmarshalJSON(f *testing.F) {
	tx := sampleTx(f, []byte("fuzz seed"))
	b, _ := json.Marshal(tx)
	f.Add(b)
	f.Add([]byte(`{"format":"2","id":"","last_tx":"","owner":"","tags":[],"target":"","quantity":"0","data":"","data_size":"0","data_root":"","reward":"0","signature":""}`))
	f.Add([]byte(`{"format":2,"tags":[{"name":"QQ","value":"Qg"}],"data":"aGk","data_size":"2","data_root":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var tx Transaction
		if err := json.Unmarshal(b, &tx); err != nil {
			return
		}
		out, err := json.Marshal(&tx)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		var back Transaction
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("re-decode %s: %v", out, err)
		}
		out2, _ := json.Marshal(&back)
		if !bytes.Equal(out, out2) {
			t.Fatalf("not stable:\n%s\n%s", out, out2)
		}
		_ = tx.Verify() // must not panic on any decoded shape
	})
}
