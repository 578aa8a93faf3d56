package mu

import (
	"encoding/json"
	"strings"
)

// isPatch reports whether an outbox message is a patch@1.0 state update (aos's `Send({ device = 'patch@1.0',
// cache = … })`): no Target and a device tag patch@1.0. It is not a message to deliver: HyperBEAM's
// genesis-wasm device merges it into the process's state, and aogo's AO-Core router (package aocore) serves
// that state from the CU's results. The MU skips it instead of parking it as an invalid message.
func isPatch(raw json.RawMessage) bool {
	var m struct {
		Target *string
		Tags   []struct {
			Name  string          `json:"name"`
			Value json.RawMessage `json:"value"`
		}
	}
	if json.Unmarshal(raw, &m) != nil || m.Target != nil && *m.Target != "" {
		return false
	}
	for _, t := range m.Tags {
		var v string
		if strings.EqualFold(t.Name, "device") && json.Unmarshal(t.Value, &v) == nil && strings.EqualFold(v, "patch@1.0") {
			return true
		}
	}
	return false
}
