package weavedrive

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/aogo/aogo/vm"
)

// FuzzTxJSON: any gateway answer gives valid JSON with ownerAddress last, or an error; never a panic.
func FuzzTxJSON(f *testing.F) {
	f.Add([]byte(`{"format":2,"id":"x","owner":"AAAA","tags":[]}`))
	f.Add([]byte(`{"owner":"AAAA","owner":"BBBB","ownerAddress":"z"}`))
	f.Add([]byte(`[1,2]`))
	f.Add([]byte(`{"owner":5}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		out, err := TxJSON(raw)
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("invalid JSON %q from %q", out, raw)
		}
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatal(err)
		}
		if _, ok := m["ownerAddress"].(string); !ok {
			t.Fatalf("no ownerAddress in %s", out)
		}
	})
}

// FuzzOpenPath: any path the guest passes is answered, never a panic, and nothing outside the drive's
// (empty) directory is ever opened.
func FuzzOpenPath(f *testing.F) {
	f.Add("/data/DATA_ID_000000000000000000000000000000000000")
	f.Add("/block/12")
	f.Add("/tx/../../etc/passwd")
	f.Add("/data/../../../../../etc/passwd/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
	dir := f.TempDir()
	d := New(Dir(dir), Options{})
	f.Fuzz(func(t *testing.T, p string) {
		file, err := d.Open(context.Background(), p)
		if err != nil && !errors.Is(err, vm.ErrFileNotFound) {
			t.Fatalf("%q: %v", p, err)
		}
		if file != nil {
			t.Fatalf("%q opened a file of an empty directory (size %d)", p, file.Size())
		}
	})
}
