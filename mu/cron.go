package mu

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/dataitem"
)

// Monitors: a monitored process's cron results are read from its CU (GET /cron/{pid}?from=<cursor>) and cranked
// like any result. Each result's children and the cursor that moves past it are committed in one transaction,
// so after a crash the MU resumes at the first result it had not cranked: no tick is missed or pushed twice.

// monitor starts monitoring pid. The cursor starts at the process's latest evaluated result, as the reference
// MU does, so cron results from before the subscription are not pushed.
func (m *MU) monitor(ctx context.Context, pid string) error {
	if _, err := m.loc.process(ctx, pid); err != nil {
		if errors.Is(err, errNotProcess) {
			return permanent("%s is not a process known to any SU or the gateway", pid)
		}
		return err
	}
	page, err := m.compute(pid, 0).Results(ctx, pid, client.CUQuery{Sort: "DESC", Limit: 1})
	if err != nil {
		return fmt.Errorf("read the latest result of %s: %w", pid, err)
	}
	cursor := ""
	if len(page.Edges) > 0 {
		cursor = page.Edges[0].Cursor
	}
	if err := m.store.PutMonitor(ctx, Monitor{Process: pid, Cursor: cursor}); err != nil {
		return err
	}
	select {
	case m.cronWake <- struct{}{}:
	default:
	}
	return nil
}

func (m *MU) cronLoop(ctx context.Context) {
	timer := m.cfg.CronInterval
	for {
		var mons []Monitor
		var err error
		if m.shared != nil {
			mons, err = m.shared.LeaseMonitors(ctx) // only the monitors this replica holds
		} else {
			mons, err = m.store.Monitors(ctx)
		}
		if err != nil && ctx.Err() == nil {
			m.log.Error("mu: list monitors", "err", err)
		}
		for _, mon := range mons {
			if ctx.Err() != nil {
				return
			}
			if err := m.tick(ctx, mon); err != nil && ctx.Err() == nil && !errors.Is(err, ErrStale) {
				m.log.Warn("mu: cron tick", "process", mon.Process, "err", err)
			}
		}
		t := time.NewTimer(timer)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-m.cronWake:
		case <-t.C:
		}
		t.Stop()
	}
}

// tick cranks every cron result of mon's process after its cursor.
func (m *MU) tick(ctx context.Context, mon Monitor) error {
	pid, cursor := mon.Process, mon.Cursor
	for {
		page, err := m.compute(pid, 0).Cron(ctx, pid, client.CUQuery{From: cursor, Limit: m.cfg.CronPageSize})
		if err != nil {
			return fmt.Errorf("read cron results of %s after %q: %w", pid, cursor, err)
		}
		for _, e := range page.Edges {
			if e.Cursor == "" || e.Cursor == cursor {
				return fmt.Errorf("cron results of %s: the CU gave a result without a new cursor", pid)
			}
			children, err := m.crank(ctx, e.Node, pid, "", fmt.Sprintf("cron:%s:%s", pid, e.Cursor), 0, 1)
			if err != nil {
				return err
			}
			stored, err := m.store.AdvanceMonitor(ctx, pid, cursor, e.Cursor, children)
			if err != nil {
				return err // ErrStale: unmonitored meanwhile
			}
			m.met.cronResults.Add(1)
			m.enqueue(stored...)
			cursor = e.Cursor
		}
		if !page.PageInfo.HasNextPage || len(page.Edges) == 0 {
			return nil
		}
	}
}

// errForbidden refuses a request whose signer may not do what it asks (HTTP 403).
type errForbidden struct{ msg string }

func (e *errForbidden) Error() string { return e.msg }

// mayUnmonitor decides whether the signer of it may stop pid's cron: the process's owner (the signer of its
// Process item), or the process itself, whose messages reach the outside world only as items this MU signs
// (From-Process: pid). The reference MU lets anyone stop anyone's cron with any item, signed or not.
func (m *MU) mayUnmonitor(ctx context.Context, pid string, it *dataitem.Item) error {
	p, err := m.loc.process(ctx, pid)
	if errors.Is(err, errNotProcess) {
		return permanent("%s is not a process known to any SU or the gateway", pid)
	}
	if err != nil {
		return fmt.Errorf("learn the owner of %s: %w", pid, err)
	}
	signer := dataitem.Address(it.Owner)
	if p.Owner != "" && signer == p.Owner {
		return nil
	}
	if from, _ := it.Tag(ao.TagFromProcess); from == pid && signer == m.Address() {
		return nil
	}
	if p.Owner == "" {
		return &errForbidden{fmt.Sprintf("the owner of %s is not known, so no one may stop its cron here", pid)}
	}
	return &errForbidden{fmt.Sprintf("only the owner of %s (%s) or the process itself may stop its cron; the item is signed by %s", pid, p.Owner, signer)}
}
