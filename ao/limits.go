package ao

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

var decimalRe = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

var byteUnits = map[string]uint64{
	"b": 1, "kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30, "tb": 1 << 40, "pb": 1 << 50,
}

// ParseMemoryLimit parses a Memory-Limit value: "536870912-b", "1-gb", "512-mb", or a bare number of bytes.
// Units are binary (1 kb = 1024 b) as in the reference CU's bytes parser.
func ParseMemoryLimit(s string) (uint64, error) {
	v := strings.ToLower(strings.TrimSpace(strings.ReplaceAll(s, "-", "")))
	if v == "" {
		return 0, invalid("empty Memory-Limit")
	}
	i := len(v)
	for i > 0 && (v[i-1] < '0' || v[i-1] > '9') {
		i--
	}
	num, unit := v[:i], strings.TrimSpace(v[i:])
	if unit == "" {
		unit = "b"
	}
	mult, ok := byteUnits[unit]
	if !ok {
		return 0, invalid("Memory-Limit %q: unknown unit %q", s, unit)
	}
	// Digits with an optional fraction, as the bytes parser accepts: no signs, exponents or hex.
	if !decimalRe.MatchString(num) {
		return 0, invalid("Memory-Limit %q: not a size", s)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 {
		return 0, invalid("Memory-Limit %q: not a size", s)
	}
	n := f * float64(mult)
	if n > float64(1<<63) {
		return 0, invalid("Memory-Limit %q: too large", s)
	}
	return uint64(n), nil
}

// ParseComputeLimit parses a Compute-Limit value (an integer, possibly written in exponent form like "9e12").
func ParseComputeLimit(s string) (uint64, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseUint(s, 10, 64); err == nil {
		return n, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > float64(1<<63) || f != float64(uint64(f)) {
		return 0, invalid("Compute-Limit %q: not a non-negative integer", s)
	}
	return uint64(f), nil
}

// LimitsOf resolves Memory-Limit and Compute-Limit from the process tags, falling back to the module tags (the
// process tag wins, as in the reference CU). A limit missing from both is an error.
func LimitsOf(processTags, moduleTags []Tag) (memory, compute uint64, err error) {
	pick := func(name string) (string, bool) {
		if v, ok := getTag(processTags, name); ok {
			return v, true
		}
		return getTag(moduleTags, name)
	}
	mv, ok := pick(TagMemoryLimit)
	if !ok {
		return 0, 0, invalid("no Memory-Limit on the process or its module")
	}
	if memory, err = ParseMemoryLimit(mv); err != nil {
		return 0, 0, err
	}
	cv, ok := pick(TagComputeLimit)
	if !ok {
		return 0, 0, invalid("no Compute-Limit on the process or its module")
	}
	if compute, err = ParseComputeLimit(cv); err != nil {
		return 0, 0, err
	}
	return memory, compute, nil
}

func getTag(tags []Tag, name string) (string, bool) {
	for _, t := range tags {
		if t.Name == name {
			return t.Value, true
		}
	}
	return "", false
}

// FormatMemoryLimit writes bytes in the form dev-cli publishes: "<n>-b".
func FormatMemoryLimit(n uint64) string { return fmt.Sprintf("%d-b", n) }
