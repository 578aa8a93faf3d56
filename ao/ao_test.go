package ao

import (
	"errors"
	"strings"
	"testing"

	"github.com/aogo/aogo/dataitem"
)

func tags(kv ...string) []Tag {
	var out []Tag
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, Tag{Name: kv[i], Value: kv[i+1]})
	}
	return out
}

func TestTypeOf(t *testing.T) {
	cases := []struct {
		name string
		tags []Tag
		want string
	}{
		{"message", tags("Data-Protocol", "ao", "Type", "Message"), TypeMessage},
		{"lowercase type", tags("Data-Protocol", "ao", "type", "Process"), TypeProcess},
		{"first type wins", tags("Type", "Module", "Data-Protocol", "ao", "Type", "Message"), TypeModule},
		{"not ao", tags("Data-Protocol", "other", "Type", "Message"), ""},
		{"no protocol", tags("Type", "Message"), ""},
		{"ao among others", tags("Data-Protocol", "x", "Data-Protocol", "ao", "Type", "Assignment"), TypeAssignment},
		{"no type", tags("Data-Protocol", "ao"), ""},
	}
	for _, c := range cases {
		if got := TypeOf(c.tags); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}

func TestCheckProcessAndMessage(t *testing.T) {
	target := make([]byte, 32)
	base := []string{"Data-Protocol", "ao", "Variant", "ao.TN.1"}
	cases := []struct {
		name  string
		check func(*dataitem.Item) error
		item  *dataitem.Item
		want  string // "" = valid
	}{
		{"process ok", CheckProcess, &dataitem.Item{Tags: tags(append(base, "Type", "Process", "Module", "m", "Scheduler", "s")...)}, ""},
		{"process no module", CheckProcess, &dataitem.Item{Tags: tags(append(base, "Type", "Process", "Scheduler", "s")...)}, "no Module"},
		{"process empty module", CheckProcess, &dataitem.Item{Tags: tags(append(base, "Type", "Process", "Module", "", "Scheduler", "s")...)}, "no Module"},
		{"process no scheduler", CheckProcess, &dataitem.Item{Tags: tags(append(base, "Type", "Process", "Module", "m")...)}, "no Scheduler"},
		{"process wrong type", CheckProcess, &dataitem.Item{Tags: tags(append(base, "Type", "Message", "Module", "m", "Scheduler", "s")...)}, "not an ao Process"},
		{"process not ao", CheckProcess, &dataitem.Item{Tags: tags("Type", "Process", "Module", "m", "Scheduler", "s")}, "not an ao Process"},
		{"process +link name", CheckProcess, &dataitem.Item{Tags: tags(append(base, "Type", "Process", "Module", "m", "Scheduler", "s", "X+link", "v")...)}, "+link"},
		{"message ok", CheckMessage, &dataitem.Item{Target: target, Tags: tags(append(base, "Type", "Message")...)}, ""},
		{"message no target", CheckMessage, &dataitem.Item{Tags: tags(append(base, "Type", "Message")...)}, "no target"},
		{"message wrong type", CheckMessage, &dataitem.Item{Target: target, Tags: tags(append(base, "Type", "Process")...)}, "not an ao Message"},
		{"message +link value", CheckMessage, &dataitem.Item{Target: target, Tags: tags(append(base, "Type", "Message", "Data", "x+link")...)}, "+link"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.check(c.item)
			if c.want == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want a ValidationError containing %q", err, c.want)
			}
		})
	}
}

func TestParseMemoryLimit(t *testing.T) {
	cases := []struct {
		in   string
		want uint64
		err  bool
	}{
		{"536870912-b", 536870912, false},
		{"1-gb", 1 << 30, false},
		{"512-mb", 512 << 20, false},
		{"4-KB", 4096, false},
		{"1.5-kb", 1536, false},
		{"1-tb", 1 << 40, false},
		{"1-pb", 1 << 50, false},
		{"1024", 1024, false},
		{" 16-mb ", 16 << 20, false},
		{"", 0, true},
		{"mb", 0, true},
		{"1-xb", 0, true},
		{"1e3-b", 0, true},
		{"0x10-b", 0, true},
		{"-1-gb", 1 << 30, false}, // the CU strips dashes before parsing: "-1-gb" reads as "1gb"
		{"99999999999-pb", 0, true},
		{"1.2.3-mb", 0, true},
	}
	for _, c := range cases {
		got, err := ParseMemoryLimit(c.in)
		if (err != nil) != c.err || (!c.err && got != c.want) {
			t.Errorf("ParseMemoryLimit(%q) = %d, %v; want %d, err %v", c.in, got, err, c.want, c.err)
		}
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Errorf("ParseMemoryLimit(%q): error %T is not a ValidationError", c.in, err)
			}
		}
	}
	if got := FormatMemoryLimit(536870912); got != "536870912-b" {
		t.Errorf("FormatMemoryLimit = %q", got)
	}
	if n, _ := ParseMemoryLimit(FormatMemoryLimit(123456)); n != 123456 {
		t.Error("FormatMemoryLimit does not round-trip")
	}
}

func TestParseComputeLimit(t *testing.T) {
	cases := []struct {
		in   string
		want uint64
		err  bool
	}{
		{"9000000000000", 9_000_000_000_000, false},
		{"9e12", 9_000_000_000_000, false},
		{" 42 ", 42, false},
		{"0", 0, false},
		{"18446744073709551615", 18446744073709551615, false},
		{"1.5", 0, true},
		{"-1", 0, true},
		{"1e30", 0, true},
		{"abc", 0, true},
		{"", 0, true},
	}
	for _, c := range cases {
		got, err := ParseComputeLimit(c.in)
		if (err != nil) != c.err || (!c.err && got != c.want) {
			t.Errorf("ParseComputeLimit(%q) = %d, %v; want %d, err %v", c.in, got, err, c.want, c.err)
		}
	}
}

func TestLimitsOf(t *testing.T) {
	mod := tags("Memory-Limit", "1-gb", "Compute-Limit", "9000")
	cases := []struct {
		name         string
		proc, module []Tag
		mem, compute uint64
		err          string
	}{
		{"module only", nil, mod, 1 << 30, 9000, ""},
		{"process wins", tags("Memory-Limit", "16-mb", "Compute-Limit", "5"), mod, 16 << 20, 5, ""},
		{"mixed", tags("Compute-Limit", "7"), mod, 1 << 30, 7, ""},
		{"no memory", tags("Compute-Limit", "7"), nil, 0, 0, "no Memory-Limit"},
		{"no compute", tags("Memory-Limit", "1-mb"), nil, 0, 0, "no Compute-Limit"},
		{"bad process value", tags("Memory-Limit", "lots"), mod, 0, 0, "unknown unit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, cl, err := LimitsOf(c.proc, c.module)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("got %v, want error containing %q", err, c.err)
				}
				return
			}
			if err != nil || m != c.mem || cl != c.compute {
				t.Fatalf("got %d, %d, %v", m, cl, err)
			}
		})
	}
}

func TestParseCrons(t *testing.T) {
	cases := []struct {
		name string
		tags []Tag
		want []Cron
		err  string
	}{
		{"none", tags("Name", "x"), nil, ""},
		{"blocks", tags("Cron-Interval", "10-blocks"), []Cron{{Interval: "10-blocks", Blocks: 10}}, ""},
		{"one block", tags("Cron-Interval", "1-block"), []Cron{{Interval: "1-block", Blocks: 1}}, ""},
		{"minutes with tags", tags("Cron-Interval", "5-minutes", "Cron-Tag-Action", "Tick", "Other", "x", "Cron-Tag-Foo", "Bar"),
			[]Cron{{Interval: "5-minutes", Millis: 300_000, Tags: tags("Action", "Tick", "Foo", "Bar")}}, ""},
		{"two crons", tags("Cron-Interval", "1-hour", "Cron-Tag-A", "1", "Cron-Interval", "2-days", "Cron-Tag-B", "2"),
			[]Cron{{Interval: "1-hour", Millis: 3_600_000, Tags: tags("A", "1")}, {Interval: "2-days", Millis: 172_800_000, Tags: tags("B", "2")}}, ""},
		{"seconds", tags("Cron-Interval", "1-second"), []Cron{{Interval: "1-second", Millis: 1000}}, ""},
		{"weeks", tags("Cron-Interval", "1-week"), []Cron{{Interval: "1-week", Millis: 604_800_000}}, ""},
		{"years", tags("Cron-Interval", "1-year"), []Cron{{Interval: "1-year", Millis: 31_557_600_000}}, ""},
		{"upper case unit", tags("Cron-Interval", "3-Minutes"), []Cron{{Interval: "3-Minutes", Millis: 180_000}}, ""},
		{"orphan tag", tags("Cron-Tag-A", "1", "Cron-Interval", "1-hour"), nil, "before any Cron-Interval"},
		{"empty tag name", tags("Cron-Interval", "1-hour", "Cron-Tag-", "1"), nil, "empty Cron-Tag name"},
		{"sub-second", tags("Cron-Interval", "500-milliseconds"), nil, "at least 1 second"},
		{"zero", tags("Cron-Interval", "0-minutes"), nil, "positive integer"},
		{"no unit", tags("Cron-Interval", "5"), nil, "want <n>-<unit>"},
		{"unknown unit", tags("Cron-Interval", "5-fortnights"), nil, "unknown unit"},
		{"overflow", tags("Cron-Interval", "18446744073709551615-years"), nil, "too large"},
		{"negative", tags("Cron-Interval", "-5-minutes"), nil, "positive integer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseCrons(c.tags)
			if c.err != "" {
				var ve *ValidationError
				if !errors.As(err, &ve) || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("got %v, want ValidationError containing %q", err, c.err)
				}
				return
			}
			if err != nil || len(got) != len(c.want) {
				t.Fatalf("got %+v, %v", got, err)
			}
			for i := range got {
				g, w := got[i], c.want[i]
				if g.Interval != w.Interval || g.Blocks != w.Blocks || g.Millis != w.Millis || len(g.Tags) != len(w.Tags) {
					t.Fatalf("cron %d: got %+v, want %+v", i, g, w)
				}
				for j := range g.Tags {
					if g.Tags[j] != w.Tags[j] {
						t.Fatalf("cron %d tag %d: got %+v", i, j, g.Tags[j])
					}
				}
			}
		})
	}
}

func TestHashChain(t *testing.T) {
	// Independent computation: SHA-256 of the decoded id bytes, base64url.
	pid := dataitem.B64([]byte("0123456789abcdef0123456789abcdef"))
	first, err := FirstHashChain(pid)
	if err != nil {
		t.Fatal(err)
	}
	if want := dataitem.IDFromSignature([]byte("0123456789abcdef0123456789abcdef")); first != want {
		t.Fatalf("first hash chain %s, want %s", first, want)
	}
	aid := dataitem.B64([]byte("assignment-id-bytes-32-long-abcd"))
	next, err := NextHashChain(first, aid)
	if err != nil {
		t.Fatal(err)
	}
	prev, _ := dataitem.DecodeB64(first)
	want := dataitem.IDFromSignature(append([]byte("assignment-id-bytes-32-long-abcd"), prev...))
	if next != want {
		t.Fatalf("next hash chain %s, want %s (id first, then previous)", next, want)
	}
	for _, bad := range [][2]string{{"!!", aid}, {first, "!!"}} {
		if _, err := NextHashChain(bad[0], bad[1]); err == nil {
			t.Errorf("NextHashChain(%q, %q) accepted bad base64url", bad[0], bad[1])
		}
	}
	if _, err := FirstHashChain("@@@"); err == nil {
		t.Error("FirstHashChain accepted bad base64url")
	}
}

func TestAssignmentTags(t *testing.T) {
	got := AssignmentTags("P", 7, "HC", 1393008, 1700000000000, "M", []string{"Data", "Tags"})
	want := tags("Process", "P", "Epoch", "0", "Nonce", "7", "Hash-Chain", "HC", "Block-Height", "000001393008",
		"Timestamp", "1700000000000", "Data-Protocol", "ao", "Type", "Assignment", "Variant", "ao.TN.1",
		"Message", "M", "Exclude", "Data", "Exclude", "Tags")
	if len(got) != len(want) {
		t.Fatalf("got %d tags: %+v", len(got), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("tag %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	if p := AssignmentTags("P", 0, "HC", 1, 1, "", nil); len(p) != 9 {
		t.Fatalf("process assignment has %d tags, want 9 (no Message)", len(p))
	}
	if err := dataitem.CheckTags(got); err != nil {
		t.Fatal(err)
	}
}
