package explorer

import (
	"fmt"
	"testing"
)

// TestHubBoundsSlowClients: a client that never reads holds at most its buffer; the rest is counted as lost,
// and publishing never blocks on it.
func TestHubBoundsSlowClients(t *testing.T) {
	h := newHub(4, 8)
	stuck, err := h.join("", "")
	if err != nil {
		t.Fatal(err)
	}
	picky, _ := h.join("", "Credit-Notice")
	for i := range 1000 {
		h.publish([]MessageRow{{Seq: int64(i + 1), ID: fmt.Sprint(i), Action: "Ping"}})
	}
	h.publish([]MessageRow{{Seq: 1001, ID: "c", Action: "Credit-Notice"}})
	if len(stuck.ch) != 8 || h.takeLost(stuck) != 993 || h.takeLost(stuck) != 0 {
		t.Errorf("stuck client: %d buffered", len(stuck.ch))
	}
	if len(picky.ch) != 1 || (<-picky.ch).ID != "c" {
		t.Errorf("filtered client got %d events", len(picky.ch))
	}
	h.join("", "")
	h.join("", "")
	if _, err := h.join("", ""); err != errTooManyStreams {
		t.Errorf("fifth stream: %v", err)
	}
	h.leave(stuck)
	if _, err := h.join("", ""); err != nil {
		t.Errorf("after a leave: %v", err)
	}
}

// FuzzPreview: any data gets a bounded preview of a kind, text previews are valid UTF-8 prefixes.
func FuzzPreview(f *testing.F) {
	for _, s := range []string{"", "hello", `{"a":1}`, "[1,2", "\x00\x01\xff", "é" + string(make([]byte, 5000))} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v := preview(data)
		if v.Size != len(data) {
			t.Fatalf("size %d of %d bytes", v.Size, len(data))
		}
		switch v.Kind {
		case "empty":
		case "json":
			if len(data) > previewBytes {
				t.Fatal("json preview over the bound")
			}
		case "text":
			if len(v.Text) > previewBytes || string(data[:len(v.Text)]) != v.Text {
				t.Fatalf("text preview of %d bytes is not a bounded prefix", len(v.Text))
			}
		case "binary":
			if len(v.Hex) > 2*previewHex {
				t.Fatal("hex preview over the bound")
			}
		default:
			t.Fatalf("kind %q", v.Kind)
		}
	})
}
