package devnet

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aogo/aogo/dataitem"
)

// BenchResult summarises a message → result benchmark.
type BenchResult struct {
	Messages  int
	Processes int
	P50, P99  time.Duration // latency of one message: POST to the MU, then GET its result from the CU
	Mean      time.Duration
	// PostP50 and ResultP50 split the median: the MU's answer to the POST (the message is durable in the SU),
	// and the wait for the CU's result after it.
	PostP50, ResultP50 time.Duration
	Elapsed            time.Duration
	PerSecond          float64 // messages per second over all processes
	SignPerItem        time.Duration
}

func (r BenchResult) String() string {
	return fmt.Sprintf("%d messages on %d process(es): p50 %s (POST %s + result %s), p99 %s, mean %s, %.0f msgs/s (signing %s/item, not timed)",
		r.Messages, r.Processes, r.P50.Round(time.Microsecond), r.PostP50.Round(time.Microsecond), r.ResultP50.Round(time.Microsecond),
		r.P99.Round(time.Microsecond), r.Mean.Round(time.Microsecond), r.PerSecond, r.SignPerItem.Round(time.Microsecond))
}

// benchHandler is the handler every benchmark message runs: it counts, so the run can check that each
// message was evaluated once, and answers the count to a message tagged Reply: yes (as aoconnect's bench's Inc
// handler does, so the MU has an outbox to crank).
const benchHandler = `Handlers.add("bench", Handlers.utils.hasMatchingTag("Action", "Bench"), function (m)
  BenchCount = (BenchCount or 0) + 1
  if m.Tags.Reply == "yes" then m.reply({ Data = tostring(BenchCount) }) end
end)
return "ok"`

// BenchOptions vary what the benchmark's messages ask for.
type BenchOptions struct {
	// Reply asks each message for a reply (a message to the sender's wallet in the result's outbox, which the
	// MU cranks), checked to carry the process's count.
	Reply bool
	// Pace is the pause before each message (not timed): a client that spends time of its own between
	// messages (aoconnect signs for ~8 ms) meets a server gone idle, which a back-to-back sender never does.
	// The run's msgs/s counts the pauses.
	Pace time.Duration
}

// BenchProcess spawns a process of module (the network's when "") with the benchmark handler and warms it up.
func BenchProcess(ctx context.Context, c *Client, module string) (string, error) {
	pid, err := c.Spawn(ctx, Spawn{Module: module, Tags: []dataitem.Tag{{Name: "Name", Value: "bench"}}})
	if err != nil {
		return "", err
	}
	r, err := c.Eval(ctx, pid, benchHandler)
	if err != nil {
		return "", fmt.Errorf("bench setup: %w", err)
	}
	if r.Error != "" {
		return "", fmt.Errorf("bench setup: %s", r.Error)
	}
	return pid, nil
}

// Bench sends n messages to each process in pids (one sequential sender per process, all at once), each as
// aoconnect does: POST the signed item to the MU, then GET its result from the CU. Items are signed before
// the clock starts. It checks every result and, at the end, that each process counted every message.
func Bench(ctx context.Context, c *Client, pids []string, n int) (BenchResult, error) {
	return BenchWith(ctx, c, pids, n, BenchOptions{})
}

// BenchWith is Bench with options.
func BenchWith(ctx context.Context, c *Client, pids []string, n int, opt BenchOptions) (BenchResult, error) {
	type job struct {
		raw [][]byte
		ids []string
	}
	jobs := make([]job, len(pids))
	signStart := time.Now()
	for i, pid := range pids {
		target, err := dataitem.DecodeB64(pid)
		if err != nil {
			return BenchResult{}, fmt.Errorf("process id %q: %w", pid, err)
		}
		for k := 0; k < n; k++ {
			it := &dataitem.Item{Target: target, Anchor: anchor(), Data: []byte(strconv.Itoa(k)), Tags: []dataitem.Tag{
				{Name: "Data-Protocol", Value: "ao"}, {Name: "Variant", Value: "ao.TN.1"}, {Name: "Type", Value: "Message"},
				{Name: "Action", Value: "Bench"},
			}}
			if opt.Reply {
				it.Tags = append(it.Tags, dataitem.Tag{Name: "Reply", Value: "yes"})
			}
			if err := it.Sign(c.Wallet); err != nil {
				return BenchResult{}, err
			}
			raw, err := it.Bytes()
			if err != nil {
				return BenchResult{}, err
			}
			jobs[i].raw = append(jobs[i].raw, raw)
			jobs[i].ids = append(jobs[i].ids, it.ID())
		}
	}
	signPer := time.Since(signStart) / time.Duration(max(1, n*len(pids)))
	before := make([]int, len(pids))
	for i, pid := range pids {
		var err error
		if before[i], err = benchCount(ctx, c, pid); err != nil {
			return BenchResult{}, err
		}
	}

	lat := make([][]time.Duration, len(pids))
	posts := make([][]time.Duration, len(pids))
	errs := make([]error, len(pids))
	var wg sync.WaitGroup
	start := time.Now()
	for i, pid := range pids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k, raw := range jobs[i].raw {
				if opt.Pace > 0 {
					select {
					case <-time.After(opt.Pace):
					case <-ctx.Done():
						errs[i] = ctx.Err()
						return
					}
				}
				t0 := time.Now()
				var out struct {
					ID string `json:"id"`
				}
				if err := c.postMU(ctx, c.Info.MU, raw, &out); err != nil {
					errs[i] = err
					return
				}
				posts[i] = append(posts[i], time.Since(t0))
				r, err := c.Result(ctx, pid, out.ID)
				if err != nil {
					errs[i] = fmt.Errorf("result of %s: %w", out.ID, err)
					return
				}
				lat[i] = append(lat[i], time.Since(t0))
				if out.ID != jobs[i].ids[k] || r.Error != "" {
					errs[i] = fmt.Errorf("message %s: id %s, error %q", jobs[i].ids[k], out.ID, r.Error)
					return
				}
				if opt.Reply {
					if err := checkReply(r.Messages, strconv.Itoa(before[i]+k+1)); err != nil {
						errs[i] = fmt.Errorf("message %s: %w", out.ID, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	for _, err := range errs {
		if err != nil {
			return BenchResult{}, err
		}
	}
	for i, pid := range pids {
		after, err := benchCount(ctx, c, pid)
		if err != nil {
			return BenchResult{}, err
		}
		if after-before[i] != n {
			return BenchResult{}, fmt.Errorf("process %s counted %d messages, want %d", pid, after-before[i], n)
		}
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	post := slices.Concat(posts...)
	slices.Sort(post)
	var results []time.Duration
	for i := range lat {
		for k := range lat[i] {
			results = append(results, lat[i][k]-posts[i][k])
		}
	}
	slices.Sort(results)
	var sum time.Duration
	for _, d := range all {
		sum += d
	}
	res := BenchResult{Messages: len(all), Processes: len(pids), Elapsed: elapsed, SignPerItem: signPer}
	if len(all) > 0 {
		res.P50 = all[len(all)/2]
		res.PostP50, res.ResultP50 = post[len(post)/2], results[len(results)/2]
		res.P99 = all[min(len(all)-1, len(all)*99/100)]
		res.Mean = sum / time.Duration(len(all))
		res.PerSecond = float64(len(all)) / elapsed.Seconds()
	}
	return res, nil
}

// checkReply checks that an outbox holds one message whose Data is want.
func checkReply(msgs []json.RawMessage, want string) error {
	if len(msgs) != 1 {
		return fmt.Errorf("%d messages in the outbox, want the reply", len(msgs))
	}
	var m struct {
		Data string `json:"Data"`
	}
	if err := json.Unmarshal(msgs[0], &m); err != nil || m.Data != want {
		return fmt.Errorf("reply %s, want Data %q", msgs[0], want)
	}
	return nil
}

// benchCount reads the process's BenchCount through a dry-run Eval.
func benchCount(ctx context.Context, c *Client, pid string) (int, error) {
	r, err := c.DryRun(ctx, pid, []dataitem.Tag{{Name: "Action", Value: "Eval"}}, "return tostring(BenchCount or 0)")
	if err != nil {
		return 0, fmt.Errorf("read BenchCount: %w", err)
	}
	if r.Error != "" {
		return 0, fmt.Errorf("read BenchCount: %s", r.Error)
	}
	n, err := strconv.Atoi(strings.TrimSpace(OutputText(r)))
	if err != nil {
		return 0, fmt.Errorf("read BenchCount: output %s", r.Output)
	}
	return n, nil
}

// anchor is a random 32-byte anchor: identical messages of two runs must still be distinct items.
func anchor() []byte {
	b := make([]byte, 32)
	rand.Read(b)
	return b
}
