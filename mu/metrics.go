package mu

import (
	"context"
	"fmt"
	"io"
	"sort"
	"sync/atomic"
)

// metrics are the MU's counters since start; gauges (queue depth, tasks per stage) are read when scraped.
type metrics struct {
	items, assigns  atomic.Int64 // accepted requests
	pushed, spawned atomic.Int64 // outbox items written to an SU
	assigned        atomic.Int64 // assign calls made
	uploaded        atomic.Int64 // wallet messages sent to the gateway
	results         atomic.Int64 // results pulled from a CU
	retries         atomic.Int64 // failed attempts that will be retried
	parked          atomic.Int64 // tasks parked (failed for good)
	invalidOutbox   atomic.Int64 // outbox entries that could not be pushed (parked with the reason)
	deduplicated    atomic.Int64 // pushes the SU matched to an earlier item with the same content
	cronResults     atomic.Int64 // cron results cranked
	depthLimited    atomic.Int64 // tasks parked by the loop brake (brake.go)
	claimed         atomic.Int64 // tasks taken over from another replica whose lease ran out (replica.go)
}

func (m *MU) writeMetrics(ctx context.Context, w io.Writer) error {
	counters := []struct {
		name, help string
		v          int64
	}{
		{"aogo_mu_items_total", "Signed items accepted on POST /.", m.met.items.Load()},
		{"aogo_mu_assigns_total", "Assignments accepted on POST /?assign=.", m.met.assigns.Load()},
		{"aogo_mu_pushed_total", "Outbox messages and notices written to an SU.", m.met.pushed.Load()},
		{"aogo_mu_spawned_total", "Processes written to an SU.", m.met.spawned.Load()},
		{"aogo_mu_assigned_total", "Assign calls made to an SU.", m.met.assigned.Load()},
		{"aogo_mu_uploaded_total", "Messages to wallets uploaded to the gateway.", m.met.uploaded.Load()},
		{"aogo_mu_results_total", "Results pulled from a CU.", m.met.results.Load()},
		{"aogo_mu_retries_total", "Failed task attempts that were retried.", m.met.retries.Load()},
		{"aogo_mu_failures_total", "Tasks parked after failing for good.", m.met.parked.Load()},
		{"aogo_mu_invalid_outbox_total", "Outbox entries that could not be pushed (parked with the reason).", m.met.invalidOutbox.Load()},
		{"aogo_mu_deduplicated_total", "Pushes the SU matched to an earlier item with the same content.", m.met.deduplicated.Load()},
		{"aogo_mu_cron_results_total", "Cron results cranked for monitored processes.", m.met.cronResults.Load()},
		{"aogo_mu_depth_limited_total", "Messages parked, not delivered, because their cascade was deeper than --max-depth (a message loop?).", m.met.depthLimited.Load()},
		{"aogo_mu_claimed_total", "Tasks this replica took over from another whose lease ran out (a store shared by replicas).", m.met.claimed.Load()},
	}
	for _, c := range counters {
		if _, err := fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n%s %d\n", c.name, c.help, c.name, c.name, c.v); err != nil {
			return err
		}
	}
	ready, delayed := m.q.depth()
	fmt.Fprintf(w, "# HELP aogo_mu_queue_depth Tasks in memory, due now or waiting for a retry.\n# TYPE aogo_mu_queue_depth gauge\n")
	fmt.Fprintf(w, "aogo_mu_queue_depth{state=\"ready\"} %d\naogo_mu_queue_depth{state=\"retrying\"} %d\n", ready, delayed)
	counts, err := m.store.Counts(ctx)
	if err != nil {
		return err
	}
	stages := []string{string(StageWrite), string(StagePull), string(StageDone), string(StageParked)}
	for s := range counts {
		if !contains(stages, string(s)) {
			stages = append(stages, string(s))
		}
	}
	sort.Strings(stages)
	fmt.Fprintf(w, "# HELP aogo_mu_tasks Stored tasks per stage; parked ones failed for good and wait for an operator.\n# TYPE aogo_mu_tasks gauge\n")
	for _, s := range stages {
		fmt.Fprintf(w, "aogo_mu_tasks{stage=%q} %d\n", s, counts[Stage(s)])
	}
	m.writeQuorumMetrics(w)
	mons, err := m.store.Monitors(ctx)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "# HELP aogo_mu_monitors Monitored processes (cron).\n# TYPE aogo_mu_monitors gauge\naogo_mu_monitors %d\n", len(mons))
	return err
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
