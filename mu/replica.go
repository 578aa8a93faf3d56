package mu

import (
	"context"
	"sync"
	"time"
)

// Replicas: several MUs may share one store (SharedStore, store/postgres), each a replica serving the same
// routes. What a replica holds in memory (its queue, the tasks its workers run) is only what it owns: the tasks it
// created (from requests and from the results it cranked) and those it claimed from a replica whose lease ran
// out. So a replica never loads the whole store at start; it claims, every ClaimInterval, due tasks of dead
// replicas, and renews its own lease at a third of its length. Monitors are owned the same way, so each
// monitored process is ticked by one replica at a time.
//
// What this costs against a single MU: per replica one lease renewal per lease/3 and one claim query per
// ClaimInterval (each a single indexed statement that touches only dead replicas' rows), and a dead replica's
// work waits out its lease before it moves. Work is not rebalanced: a replica keeps the cascades it started.

// runShared is Run for a replica.
func (m *MU) runShared(ctx context.Context) error {
	var wg sync.WaitGroup
	m.startLoops(ctx, &wg)
	wg.Add(2)
	go func() {
		defer wg.Done()
		m.claimLoop(ctx)
	}()
	go func() {
		defer wg.Done()
		m.leaseLoop(ctx)
	}()
	wg.Wait()
	return nil
}

// claimLoop takes over due tasks whose lease ran out, as long as this replica's workers have room.
func (m *MU) claimLoop(ctx context.Context) {
	t := time.NewTicker(m.cfg.ClaimInterval)
	defer t.Stop()
	for {
		if ready, _ := m.q.depth(); ready < m.cfg.Workers {
			tasks, err := m.shared.Claim(ctx, m.cfg.Now(), 2*m.cfg.Workers)
			if err != nil && ctx.Err() == nil {
				m.log.Warn("mu: claim tasks", "err", err)
			}
			if len(tasks) > 0 {
				m.met.claimed.Add(int64(len(tasks)))
				m.log.Info("mu: claimed tasks of another replica", "count", len(tasks))
			}
			for _, t := range tasks {
				if !m.isInflight(t.ID) {
					m.q.push(t)
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// leaseLoop renews this replica's lease and takes dead replicas' monitors over, waking the cron loop when it
// gains one.
func (m *MU) leaseLoop(ctx context.Context) {
	every := max(m.shared.Lease()/3, 10*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	held := map[string]bool{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := m.shared.Heartbeat(ctx); err != nil && ctx.Err() == nil {
			m.log.Warn("mu: renew the replica's lease", "err", err)
		}
		mons, err := m.shared.LeaseMonitors(ctx)
		if err != nil {
			if ctx.Err() == nil {
				m.log.Warn("mu: take monitors over", "err", err)
			}
			continue
		}
		now := map[string]bool{}
		wake := false
		for _, mon := range mons {
			now[mon.Process] = true
			wake = wake || !held[mon.Process]
		}
		held = now
		if wake {
			select {
			case m.cronWake <- struct{}{}:
			default:
			}
		}
	}
}
