package cu

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
)

// cursorJSON is the reference CU's results cursor, base64(JSON{timestamp, ordinate, cron, sort}), plus the
// evaluation's Seq, which orders results exactly (reference clients treat cursors as opaque).
type cursorJSON struct {
	Timestamp int64   `json:"timestamp"`
	Ordinate  string  `json:"ordinate"`
	Cron      *string `json:"cron"`
	Sort      string  `json:"sort"`
	Seq       *int64  `json:"seq,omitempty"`
}

func encodeCursor(ev *Eval, sort string) string {
	c := cursorJSON{Timestamp: ev.Timestamp, Ordinate: strconv.FormatInt(ev.Nonce, 10), Sort: sort, Seq: &ev.Seq}
	if ev.Cron != "" {
		c.Cron = &ev.Cron
	}
	b, _ := json.Marshal(c)
	return base64.StdEncoding.EncodeToString(b)
}

// bound is one end of a results range: a Seq (from our cursors) or a timestamp (plain numbers and the
// reference's cursors).
type bound struct {
	seq, ts *int64
}

// parseBound reads a from/to value: a cursor, or a timestamp in ms. "" is unbounded.
func parseBound(s string) (bound, error) {
	if s == "" {
		return bound{}, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return bound{ts: &n}, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		b, err := enc.DecodeString(strings.TrimSpace(s))
		if err != nil {
			continue
		}
		var c cursorJSON
		if json.Unmarshal(b, &c) != nil {
			continue
		}
		if c.Seq != nil {
			return bound{seq: c.Seq}, nil
		}
		ts := c.Timestamp
		return bound{ts: &ts}, nil
	}
	return bound{}, badRequest("%q is neither a cursor nor a timestamp", s)
}
