package ao

import (
	"strconv"
	"strings"
)

// Cron is one Cron-Interval of a process with the Cron-Tag-* tags that follow it.
type Cron struct {
	Interval string // the tag value as written, e.g. "5-minutes"
	Blocks   uint64 // block interval, or 0
	Millis   uint64 // time interval in milliseconds, or 0
	Tags     []Tag  // Cron-Tag-X: v becomes X: v
}

var cronUnits = map[string]uint64{
	"millisecond": 1, "milliseconds": 1, "ms": 1,
	"second": 1000, "seconds": 1000, "sec": 1000, "secs": 1000, "s": 1000,
	"minute": 60_000, "minutes": 60_000, "min": 60_000, "mins": 60_000, "m": 60_000,
	"hour": 3_600_000, "hours": 3_600_000, "hr": 3_600_000, "hrs": 3_600_000, "h": 3_600_000,
	"day": 86_400_000, "days": 86_400_000, "d": 86_400_000,
	"week": 604_800_000, "weeks": 604_800_000, "w": 604_800_000,
	"month": 2_629_800_000, "months": 2_629_800_000, // 1/12 of a Julian year, as the ms library counts
	"year": 31_557_600_000, "years": 31_557_600_000, "y": 31_557_600_000,
}

// ParseCrons reads every Cron-Interval of a process, in tag order, each with the Cron-Tag-* tags that follow it
// up to the next Cron-Interval. A Cron-Tag before any Cron-Interval is an error, as in the reference CU.
func ParseCrons(tags []Tag) ([]Cron, error) {
	var crons []Cron
	for _, t := range tags {
		switch {
		case t.Name == TagCronInterval:
			c, err := parseInterval(t.Value)
			if err != nil {
				return nil, err
			}
			crons = append(crons, c)
		case strings.HasPrefix(t.Name, TagCronTagPrefix):
			if len(crons) == 0 {
				return nil, invalid("%s appears before any %s", t.Name, TagCronInterval)
			}
			name := strings.TrimPrefix(t.Name, TagCronTagPrefix)
			if name == "" {
				return nil, invalid("empty Cron-Tag name")
			}
			c := &crons[len(crons)-1]
			c.Tags = append(c.Tags, Tag{Name: name, Value: t.Value})
		}
	}
	return crons, nil
}

func parseInterval(v string) (Cron, error) {
	num, unit, ok := strings.Cut(strings.TrimSpace(v), "-")
	if !ok {
		return Cron{}, invalid("Cron-Interval %q: want <n>-<unit>", v)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(num), 10, 64)
	if err != nil || n == 0 {
		return Cron{}, invalid("Cron-Interval %q: interval must be a positive integer", v)
	}
	unit = strings.ToLower(strings.TrimSpace(unit))
	if unit == "block" || unit == "blocks" {
		return Cron{Interval: v, Blocks: n}, nil
	}
	mult, ok := cronUnits[unit]
	if !ok {
		return Cron{}, invalid("Cron-Interval %q: unknown unit %q", v, unit)
	}
	ms := n * mult
	if ms/mult != n {
		return Cron{}, invalid("Cron-Interval %q: too large", v)
	}
	if ms < 1000 {
		return Cron{}, invalid("Cron-Interval %q: time crons must be at least 1 second", v)
	}
	return Cron{Interval: v, Millis: ms}, nil
}
