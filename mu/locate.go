package mu

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/quorum"
)

// procInfo is what the MU needs to know about a process: where it is scheduled and which module it runs.
// A process's tags never change, so it is cached for good.
type procInfo struct {
	ID        string
	Tags      []dataitem.Tag
	Owner     string // address of the Process item's signer ("" when the source did not say)
	Scheduler string // the Scheduler tag: the SU's wallet address
	Module    string
	Quorum    string // the Compute-Quorum tag ("" when absent)
}

func newProcInfo(id, owner string, tags []dataitem.Tag) *procInfo {
	p := &procInfo{ID: id, Owner: owner, Tags: tags}
	p.Scheduler, _ = dataitem.Get(tags, ao.TagScheduler)
	p.Module, _ = dataitem.Get(tags, ao.TagModule)
	p.Quorum, _ = dataitem.Get(tags, quorum.Tag)
	return p
}

// errNotProcess means no SU and no gateway knows the id as a Process: it is a wallet (or nothing).
var errNotProcess = errors.New("not a known process")

type schedEntry struct {
	url     string
	expires time.Time
}

// locator finds processes and their SUs: process tags from the SUs it knows (then the gateway), SU URLs from the
// configured hints (then the gateway's Scheduler-Location, cached for its Time-To-Live). No URL is built in.
type locator struct {
	gw           Gateway
	newScheduler func(url string) Scheduler
	hints        map[string]string
	walletTTL    time.Duration
	now          func() time.Time

	mu      sync.Mutex
	procs   map[string]*procInfo
	wallets map[string]time.Time // id → until when "not a process" holds
	scheds  map[string]schedEntry
	suURLs  []string // every SU URL seen, hints first
	clients map[string]Scheduler
}

func newLocator(gw Gateway, newScheduler func(string) Scheduler, hints map[string]string, now func() time.Time) *locator {
	l := &locator{
		gw: gw, newScheduler: newScheduler, hints: hints, walletTTL: time.Minute, now: now,
		procs: map[string]*procInfo{}, wallets: map[string]time.Time{}, scheds: map[string]schedEntry{},
		clients: map[string]Scheduler{},
	}
	for _, u := range hints {
		l.addSU(u)
	}
	return l
}

// addSU remembers an SU URL; callers hold no lock.
func (l *locator) addSU(url string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.addSULocked(url)
}

func (l *locator) addSULocked(url string) {
	if _, ok := l.clients[url]; ok {
		return
	}
	l.clients[url] = l.newScheduler(url)
	l.suURLs = append(l.suURLs, url)
}

// client returns the Scheduler client of url.
func (l *locator) client(url string) Scheduler {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.addSULocked(url)
	return l.clients[url]
}

// remember caches a process the MU itself wrote (or learnt elsewhere).
func (l *locator) remember(p *procInfo) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.procs[p.ID] = p
	delete(l.wallets, p.ID)
}

// process returns the process pid, errNotProcess when nothing knows it as one, or another error when that
// could not be decided (an SU or the gateway did not answer).
func (l *locator) process(ctx context.Context, pid string) (*procInfo, error) {
	l.mu.Lock()
	if p, ok := l.procs[pid]; ok {
		l.mu.Unlock()
		return p, nil
	}
	if until, ok := l.wallets[pid]; ok && l.now().Before(until) {
		l.mu.Unlock()
		return nil, errNotProcess
	}
	urls := append([]string(nil), l.suURLs...)
	l.mu.Unlock()

	var undecided error
	for _, u := range urls {
		sp, err := l.client(u).Process(ctx, pid)
		if err == nil {
			p := newProcInfo(pid, sp.Owner.Address, sp.Tags)
			l.remember(p)
			return p, nil
		}
		if !isNotFound(err) {
			undecided = errors.Join(undecided, fmt.Errorf("ask SU %s for process %s: %w", u, pid, err))
		}
	}
	if l.gw != nil {
		tags, owner, err := l.gw.Tags(ctx, pid)
		switch {
		case err == nil && ao.TypeOf(tags) == ao.TypeProcess:
			p := newProcInfo(pid, owner, tags)
			l.remember(p)
			return p, nil
		case err != nil && !isNotFound(err):
			undecided = errors.Join(undecided, fmt.Errorf("ask gateway for process %s: %w", pid, err))
		}
	}
	if undecided != nil {
		return nil, undecided
	}
	l.mu.Lock()
	l.wallets[pid] = l.now().Add(l.walletTTL)
	l.mu.Unlock()
	return nil, errNotProcess
}

// schedulerURL returns the SU URL of a scheduler wallet address: a hint, else its Scheduler-Location.
func (l *locator) schedulerURL(ctx context.Context, address string) (string, error) {
	if address == "" {
		return "", permanent("no Scheduler tag")
	}
	if u, ok := l.hints[address]; ok {
		return u, nil
	}
	l.mu.Lock()
	e, ok := l.scheds[address]
	l.mu.Unlock()
	if ok && l.now().Before(e.expires) {
		return e.url, nil
	}
	if l.gw == nil {
		return "", permanent("scheduler %s: no hint for it and no gateway to find its Scheduler-Location", address)
	}
	u, ttl, err := l.gw.SchedulerLocation(ctx, address)
	if err != nil {
		if isNotFound(err) {
			// The SU may not have published its location yet: retry, and park only after the retries.
			return "", fmt.Errorf("scheduler %s has no Scheduler-Location: %w", address, err)
		}
		return "", fmt.Errorf("locate scheduler %s: %w", address, err)
	}
	l.mu.Lock()
	l.scheds[address] = schedEntry{url: u, expires: l.now().Add(ttl)}
	l.addSULocked(u)
	l.mu.Unlock()
	return u, nil
}

// scheduler returns the client of the SU that schedules process p.
func (l *locator) scheduler(ctx context.Context, p *procInfo) (Scheduler, string, error) {
	u, err := l.schedulerURL(ctx, p.Scheduler)
	if err != nil {
		return nil, "", fmt.Errorf("process %s: %w", p.ID, err)
	}
	return l.client(u), u, nil
}
