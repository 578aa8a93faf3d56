package cu

import (
	"errors"
	"fmt"
	"testing"

	"github.com/aogo/aogo/dataitem"
)

func TestCronGeneration(t *testing.T) {
	tags := []dataitem.Tag{
		{Name: "Cron-Interval", Value: "3-seconds"}, {Name: "Cron-Tag-Action", Value: "Three"},
		{Name: "Cron-Interval", Value: "1-block"}, {Name: "Cron-Tag-Action", Value: "Block"},
		{Name: "Cron-Interval", Value: "2-seconds"}, {Name: "Cron-Tag-Action", Value: "Two"},
	}
	cs, err := newCronSet(tags, 100, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	blocks := []Block{{Height: 102, Timestamp: 15_000}, {Height: 101, Timestamp: 12_000}, {Height: 99, Timestamp: 9_000}}
	var cur cronCursor
	cur.resetAt(10_500, 100, 7)
	var got []string
	emit := func(f firedCron) error {
		got = append(got, fmt.Sprintf("%s@%d/h%d/o%d/%s", f.id, f.ts, f.height, f.ordinate, f.tags[0].Value))
		return nil
	}
	if err := cs.run(&cur, 16_200, blocks, emit); err != nil {
		t.Fatal(err)
	}
	// Worked by hand from the reference algorithm: ticks 10500…15500; block 101 is reached at the 12 s tick,
	// block 102 at the 15 s tick; time crons sorted 2 s before 3 s.
	want := []string{
		"0-1-block@12000/h101/o7/Block",
		"0-2-seconds@12500/h101/o7/Two",
		"1-3-seconds@13500/h101/o7/Three",
		"0-2-seconds@14500/h101/o7/Two",
		"0-1-block@15000/h102/o7/Block",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got  %v\nwant %v", got, want)
	}
	// Running the clock further continues from the next tick: nothing fires twice.
	got = nil
	if err := cs.run(&cur, 18_000, blocks, emit); err != nil {
		t.Fatal(err)
	}
	want = []string{"0-2-seconds@16500/h102/o7/Two", "1-3-seconds@16500/h102/o7/Three"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("continued: got %v, want %v", got, want)
	}
	// A scheduled message moves the left boundary: the clock restarts at its timestamp with its nonce.
	cur.resetAt(18_300, 102, 8)
	got = nil
	if err := cs.run(&cur, 20_400, blocks, emit); err != nil {
		t.Fatal(err)
	}
	want = []string{"0-2-seconds@18300/h102/o8/Two", "1-3-seconds@19300/h102/o8/Three", "0-2-seconds@20300/h102/o8/Two"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after reset: got %v, want %v", got, want)
	}
}

func TestCronParseErrors(t *testing.T) {
	for _, tags := range [][]dataitem.Tag{
		{{Name: "Cron-Tag-Action", Value: "x"}},
		{{Name: "Cron-Interval", Value: "500-ms"}},
		{{Name: "Cron-Interval", Value: "soon"}},
	} {
		if _, err := newCronSet(tags, 0, 0); err == nil || statusOf(err) != 422 {
			t.Errorf("%v: err %v", tags, err)
		}
	}
	if cs, err := newCronSet([]dataitem.Tag{{Name: "Name", Value: "x"}}, 0, 0); cs != nil || err != nil {
		t.Fatalf("no crons: %v %v", cs, err)
	}
}

// TestCronInterruptedTick: an evaluation that fails (say, interrupted at shutdown) on a tick's first cron
// leaves the cursor at that tick, so the retry emits exactly what an uninterrupted run does; one that fails
// after part of a tick was evaluated reports errCronTorn (the caller reloads from its checkpoint).
func TestCronInterruptedTick(t *testing.T) {
	tags := []dataitem.Tag{
		{Name: "Cron-Interval", Value: "1-block"}, {Name: "Cron-Tag-Action", Value: "Block"},
		{Name: "Cron-Interval", Value: "2-seconds"}, {Name: "Cron-Tag-Action", Value: "Two"},
	}
	cs, err := newCronSet(tags, 100, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	blocks := []Block{{Height: 101, Timestamp: 12_000}}
	run := func(failAt string) ([]string, error) {
		var cur cronCursor
		cur.resetAt(10_500, 100, 7)
		var got []string
		emit := func(f firedCron) error {
			id := fmt.Sprintf("%s@%d", f.id, f.ts)
			if id == failAt {
				failAt = ""
				return fmt.Errorf("interrupted")
			}
			got = append(got, id)
			return nil
		}
		if err := cs.run(&cur, 15_000, blocks, emit); err != nil {
			if failAt != "" {
				return got, err
			}
			// Retry from the cursor the failure left, as the next evaluation does.
			if errors.Is(err, errCronTorn) {
				return got, err
			}
			if err := cs.run(&cur, 15_000, blocks, emit); err != nil {
				return got, err
			}
		}
		return got, nil
	}
	want, err := run("")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(want) != "[0-1-block@12000 0-2-seconds@12500 0-2-seconds@14500]" {
		t.Fatalf("uninterrupted: %v", want)
	}
	got, err := run("0-1-block@12000") // the first cron of its tick
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("interrupted at a tick's start, then retried: %v (%v), want %v", got, err, want)
	}
	if _, err := run("0-2-seconds@12500"); !errors.Is(err, errCronTorn) {
		t.Fatalf("interrupted inside a tick: err %v, want errCronTorn", err)
	}
}
