package cu

import (
	"fmt"
	"io"
	"sync/atomic"
)

// metrics are the CU's counters, written in the Prometheus text format on /metrics.
type metrics struct {
	evals, cronEvals, evalErrors atomic.Int64
	evalNanos                    atomic.Int64
	coldStarts, restores         atomic.Int64
	openNanos                    atomic.Int64
	checkpoints, checkpointNanos atomic.Int64
	evictions                    atomic.Int64
	saves                        atomic.Int64
	dryRuns, attestations        atomic.Int64
	warmRuns                     atomic.Int64
	requests, requestErrors      atomic.Int64
	archived, archiveErrors      atomic.Int64
	archiveRestores              atomic.Int64
	pagesStored, pageBytes       atomic.Int64 // checkpoint pages written (pages.go), and their stored size
	pagesCollected               atomic.Int64
}

func (c *CU) writeMetrics(w io.Writer) {
	m := &c.metrics
	var hot, hotBytes int64
	for _, p := range c.snapshotProcs() {
		if n := p.memSize.Load(); n > 0 {
			hot++
			hotBytes += int64(n)
		}
	}
	line := func(name, typ, help string, v any) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %v\n", name, help, name, typ, name, v)
	}
	line("ao_cu_evaluations_total", "counter", "Scheduled messages evaluated.", m.evals.Load())
	line("ao_cu_cron_evaluations_total", "counter", "Cron messages evaluated.", m.cronEvals.Load())
	line("ao_cu_evaluation_errors_total", "counter", "Evaluations whose result carries an Error.", m.evalErrors.Load())
	line("ao_cu_evaluation_seconds_total", "counter", "Time spent in the VM evaluating messages.", float64(m.evalNanos.Load())/1e9)
	line("ao_cu_cold_starts_total", "counter", "Machines started from the module (no checkpoint).", m.coldStarts.Load())
	line("ao_cu_restores_total", "counter", "Machines restored from a checkpoint.", m.restores.Load())
	line("ao_cu_machine_open_seconds_total", "counter", "Time spent opening and restoring machines.", float64(m.openNanos.Load())/1e9)
	line("ao_cu_checkpoints_total", "counter", "Checkpoints written.", m.checkpoints.Load())
	line("ao_cu_checkpoint_seconds_total", "counter", "Time spent writing checkpoints.", float64(m.checkpointNanos.Load())/1e9)
	line("ao_cu_checkpoints_published_total", "counter", "Checkpoint items uploaded to the gateway.", m.archived.Load())
	line("ao_cu_checkpoint_publish_errors_total", "counter", "Checkpoint items that could not be built or uploaded.", m.archiveErrors.Load())
	line("ao_cu_checkpoint_item_restores_total", "counter", "Processes restored from a Checkpoint item on the gateway.", m.archiveRestores.Load())
	line("ao_cu_checkpoint_pages_stored_total", "counter", "Memory pages checkpoints stored (pages already stored are not).", m.pagesStored.Load())
	line("ao_cu_checkpoint_page_bytes_total", "counter", "Bytes of the memory pages checkpoints stored (compressed).", m.pageBytes.Load())
	line("ao_cu_checkpoint_pages_collected_total", "counter", "Memory pages deleted because no checkpoint uses them.", m.pagesCollected.Load())
	line("ao_cu_evictions_total", "counter", "Hot machines closed to stay within the memory budget.", m.evictions.Load())
	line("ao_cu_store_saves_total", "counter", "Transactions that saved evaluations in the background.", m.saves.Load())
	line("ao_cu_dry_runs_total", "counter", "Dry-runs evaluated.", m.dryRuns.Load())
	line("ao_cu_attestations_total", "counter", "Result attestations signed.", m.attestations.Load())
	line("ao_cu_ahead_evaluations_total", "counter", "Evaluation runs started by a scheduler's notification (Notify), before any request.", m.warmRuns.Load())
	line("ao_cu_http_requests_total", "counter", "HTTP requests served.", m.requests.Load())
	line("ao_cu_http_errors_total", "counter", "HTTP requests answered with an error.", m.requestErrors.Load())
	line("ao_cu_hot_machines", "gauge", "Processes with a hot machine.", hot)
	line("ao_cu_hot_memory_bytes", "gauge", "Linear memory held by hot machines.", hotBytes)
}
