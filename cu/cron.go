package cu

import (
	"errors"
	"fmt"
	"sort"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/dataitem"
)

// Cron messages are generated exactly as the reference CU does (servers/cu domain/lib/loadMessages.js
// cronMessagesBetweenWith): between two consecutive scheduled messages L and R, a clock ticks from L's
// timestamp in steps of 1000 ms while it is before R's timestamp. On each tick:
//
//  1. if the next block (Arweave blocks with L.ts < block.ts < R.ts) has a timestamp second <= the tick's
//     second, it becomes the current block and each block cron whose (height - origin height) is a multiple of
//     its interval fires, with that block's timestamp and height;
//  2. each time cron, in ascending order of interval, fires when (tick second - origin second) is a positive
//     multiple of its interval, with the tick as Timestamp and the current block's height.
//
// The origin is the process's own block and timestamp; the current block starts as L's. Crons fired between
// L and R carry L's nonce as their ordinate and "<index>-<interval>" as their id (index within the block or
// time group). A reference quirk follows from this and is kept for identical results: a tick of the L→R span
// and R itself can fall in the same second, so a cron on that second fires in both spans.
//
// Unlike the reference, the generator's position (cronCursor) is saved, so an evaluation that ran the clock
// to "now" (GET /cron) continues from where it stopped instead of ticking the same seconds again.

type cronSpec struct {
	id       string
	interval string
	blocks   int64
	seconds  int64
	tags     []dataitem.Tag
}

type cronSet struct {
	block []cronSpec
	time  []cronSpec
	// origin: the process's block and timestamp.
	originHeight, originTs int64
}

func newCronSet(processTags []dataitem.Tag, originHeight, originTs int64) (*cronSet, error) {
	crons, err := ao.ParseCrons(processTags)
	if err != nil {
		return nil, unprocessable("process crons: %v", err)
	}
	if len(crons) == 0 {
		return nil, nil
	}
	cs := &cronSet{originHeight: originHeight, originTs: originTs}
	for _, c := range crons {
		s := cronSpec{interval: c.Interval, blocks: int64(c.Blocks), seconds: int64(c.Millis / 1000), tags: c.Tags}
		if c.Blocks > 0 {
			cs.block = append(cs.block, s)
		} else {
			cs.time = append(cs.time, s)
		}
	}
	// The reference sorts time crons from most to least granular (a stable sort: equal intervals keep tag
	// order) and numbers each group separately.
	sort.SliceStable(cs.time, func(i, j int) bool { return cs.time[i].seconds < cs.time[j].seconds })
	for i := range cs.block {
		cs.block[i].id = fmt.Sprintf("%d-%s", i, cs.block[i].interval)
	}
	for i := range cs.time {
		cs.time[i].id = fmt.Sprintf("%d-%s", i, cs.time[i].interval)
	}
	return cs, nil
}

// cronCursor is the generator's position: the left boundary (the last scheduled message) and how far the
// clock has run past it.
type cronCursor struct {
	LeftTs       int64 `json:"leftTs"`
	LeftHeight   int64 `json:"leftHeight"`
	LeftOrdinate int64 `json:"leftOrdinate"`
	NextTick     int64 `json:"nextTick"`
	CurHeight    int64 `json:"curHeight"`
	// Consumed is the height of the last block the clock has passed (blocks at or below are not reused).
	Consumed int64 `json:"consumed"`
}

// resetAt moves the left boundary to a scheduled message.
func (c *cronCursor) resetAt(ts, height, nonce int64) {
	*c = cronCursor{LeftTs: ts, LeftHeight: height, LeftOrdinate: nonce, NextTick: ts, CurHeight: height, Consumed: max(c.Consumed, 0)}
}

// firedCron is one generated cron message.
type firedCron struct {
	id       string
	tags     []dataitem.Tag
	ts       int64
	height   int64
	ordinate int64
}

// errCronTorn wraps an error that stopped the cron clock inside a tick after some of its crons were evaluated.
var errCronTorn = errors.New("cron tick evaluated in part")

// run advances the clock up to (not including) rightTs, calling emit for each cron that fires. blocks are
// candidate blocks (any order or range; the ones that do not apply are ignored).
func (cs *cronSet) run(cur *cronCursor, rightTs int64, blocks []Block, emit func(firedCron) error) error {
	var inRange []Block
	for _, b := range blocks {
		if b.Timestamp > cur.LeftTs && b.Timestamp < rightTs && b.Height > cur.Consumed {
			inRange = append(inRange, b)
		}
	}
	sort.Slice(inRange, func(i, j int) bool { return inRange[i].Height < inRange[j].Height })
	originSec := cs.originTs / 1000
	for ; cur.NextTick < rightTs; cur.NextTick += 1000 {
		tick := cur.NextTick
		// A tick's crons are all evaluated or none: emit fails (say, the evaluation was interrupted) before
		// the tick's first one, the cursor goes back to the tick's start and a retry redoes it; after, some
		// are in the machine and the cursor cannot say which, so the caller must reload (errCronTorn).
		saved, emitted := *cur, 0
		emitInTick := func(f firedCron) error {
			if err := emit(f); err != nil {
				if emitted == 0 {
					*cur = saved
					return err
				}
				return fmt.Errorf("%w: %w", errCronTorn, err)
			}
			emitted++
			return nil
		}
		if len(inRange) > 0 && tick/1000 >= inRange[0].Timestamp/1000 {
			b := inRange[0]
			inRange = inRange[1:]
			cur.CurHeight, cur.Consumed = b.Height, b.Height
			for _, c := range cs.block {
				if b.Height != cs.originHeight && (b.Height-cs.originHeight)%c.blocks == 0 {
					if err := emitInTick(firedCron{id: c.id, tags: c.tags, ts: b.Timestamp, height: b.Height, ordinate: cur.LeftOrdinate}); err != nil {
						return err
					}
				}
			}
		}
		sec := tick / 1000
		for _, c := range cs.time {
			if sec != originSec && (sec-originSec)%c.seconds == 0 {
				if err := emitInTick(firedCron{id: c.id, tags: c.tags, ts: tick, height: cur.CurHeight, ordinate: cur.LeftOrdinate}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
