package mu

import (
	"encoding/json"
	"testing"
)

func TestIsPatch(t *testing.T) {
	for raw, want := range map[string]bool{
		`{"Anchor":"1","Tags":[{"name":"device","value":"patch@1.0"},{"name":"cache","value":{"a":1}}]}`: true,
		`{"Tags":[{"name":"Device","value":"PATCH@1.0"}]}`:                                               true,
		`{"Target":"abc","Tags":[{"name":"device","value":"patch@1.0"}]}`:                                false, // to deliver
		`{"Tags":[{"name":"device","value":"process@1.0"}]}`:                                             false,
		`{"Tags":[{"name":"device","value":{"x":"patch@1.0"}}]}`:                                         false,
		`{"Tags":[]}`: false, `[]`: false, `"x"`: false,
	} {
		if got := isPatch(json.RawMessage(raw)); got != want {
			t.Errorf("isPatch(%s) = %v", raw, got)
		}
	}
}
