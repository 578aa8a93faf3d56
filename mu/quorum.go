package mu

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/quorum"
)

// Result quorum (see package quorum for the rule): a process tagged "Compute-Quorum: k-of-n" (or every process
// without the tag, when Config.Quorum says so) has each result asked of n CUs at once, chosen by rendezvous
// hashing over Config.CUs, and cranked only when k of them return the same Result-Hash with valid attestations
// from distinct signers. Until then the task stays in the pull stage: retried with the usual backoff, never
// parked for it, never cranked; the disagreement is on GET / (operator) and /metrics, and it clears by itself
// when agreement appears (a lying CU fixed, a CU back up). A CU whose valid answer differs from an agreed one
// is flagged (dissents), and so is one whose attestation does not verify (invalid). 1-of-1 takes the old path:
// one CU, no attestation check, nothing extra.
//
// Fewer than n CUs configured: a Process posted with such a tag is refused (400) and a spawn of one parked, as
// the MU could never crank it; a process that arrives otherwise (another MU's spawn, or the MU restarted with
// fewer CUs) has its results held as an unmet quorum until the MU is configured with enough CUs.

// maxOpenQuorums bounds the disagreements listed on GET / (the tasks themselves are in the store).
const maxOpenQuorums = 1000

// maxDissents is how many flagged answers GET / keeps, newest first.
const maxDissents = 100

// unmetError is a result without agreement: retried, never parked for it.
type unmetError struct{ reason string }

func (e *unmetError) Error() string { return e.reason }

func isUnmet(err error) bool {
	var u *unmetError
	return errors.As(err, &u)
}

// voteView is one CU's answer as GET / shows it.
type voteView struct {
	CU         string         `json:"cu"`
	Signer     string         `json:"signer,omitempty"`
	ResultHash string         `json:"result_hash,omitempty"`
	Verdict    quorum.Verdict `json:"verdict"`
	Error      string         `json:"error,omitempty"`
}

// openQuorum is a result waiting for agreement.
type openQuorum struct {
	Task     int64      `json:"task"`
	Process  string     `json:"process"`
	Message  string     `json:"message"`
	Quorum   string     `json:"quorum"`
	Reason   string     `json:"reason"`
	Votes    []voteView `json:"votes"`
	Attempts int        `json:"attempts"`
	Since    time.Time  `json:"since"`
	Last     time.Time  `json:"last"`
}

// dissent is a flagged answer: valid but against the agreed result, or invalid.
type dissent struct {
	Process    string         `json:"process"`
	Message    string         `json:"message"`
	CU         string         `json:"cu"`
	Signer     string         `json:"signer,omitempty"`
	Verdict    quorum.Verdict `json:"verdict"`
	ResultHash string         `json:"result_hash,omitempty"`
	AgreedHash string         `json:"agreed_hash,omitempty"`
	Error      string         `json:"error,omitempty"`
	At         time.Time      `json:"at"`
}

// cuCounts are one CU's quorum counters.
type cuCounts struct{ against, invalid, failed int64 }

// quorums is the MU's record of quorum decisions, for GET / and /metrics.
type quorums struct {
	mu       sync.Mutex
	agreed   int64
	unmet    int64
	resolved int64 // disagreements that ended in agreement
	open     map[string]*openQuorum
	dissents []dissent // newest last, at most maxDissents
	perCU    map[string]*cuCounts
}

func (q *quorums) counts(cu string) *cuCounts {
	if q.perCU == nil {
		q.perCU = map[string]*cuCounts{}
	}
	c := q.perCU[cu]
	if c == nil {
		c = &cuCounts{}
		q.perCU[cu] = c
	}
	return c
}

// record notes one decision about the result of message mid in pid.
func (q *quorums) record(now time.Time, t Task, pol quorum.Policy, votes []quorum.Vote, o quorum.Outcome) {
	q.mu.Lock()
	defer q.mu.Unlock()
	key := t.Process + "/" + t.ItemID
	views := make([]voteView, len(votes))
	for i, v := range votes {
		views[i] = voteView{CU: v.Unit, Signer: v.Signer, ResultHash: v.ResultHash, Verdict: o.Verdicts[i]}
		if v.Err != nil {
			views[i].Error = truncate(v.Err.Error(), 300)
		}
		switch o.Verdicts[i] {
		case quorum.Against:
			q.counts(v.Unit).against++
		case quorum.Invalid, quorum.Duplicate:
			q.counts(v.Unit).invalid++
		case quorum.Failed:
			q.counts(v.Unit).failed++
		}
		if o.Verdicts[i] == quorum.Against || o.Verdicts[i] == quorum.Invalid || o.Verdicts[i] == quorum.Duplicate {
			q.dissents = append(q.dissents, dissent{
				Process: t.Process, Message: t.ItemID, CU: v.Unit, Signer: v.Signer, Verdict: o.Verdicts[i],
				ResultHash: v.ResultHash, AgreedHash: o.ResultHash, Error: views[i].Error, At: now,
			})
			if len(q.dissents) > maxDissents {
				q.dissents = append(q.dissents[:0], q.dissents[len(q.dissents)-maxDissents:]...)
			}
		}
	}
	if o.Agreed {
		q.agreed++
		if _, ok := q.open[key]; ok {
			delete(q.open, key)
			q.resolved++
		}
		return
	}
	q.unmet++
	if q.open == nil {
		q.open = map[string]*openQuorum{}
	}
	e := q.open[key]
	if e == nil {
		if len(q.open) >= maxOpenQuorums {
			q.evictOldest()
		}
		e = &openQuorum{Task: t.ID, Process: t.Process, Message: t.ItemID, Since: now}
		q.open[key] = e
	}
	e.Quorum, e.Reason, e.Votes, e.Attempts, e.Last = pol.String(), o.Reason, views, t.Attempts+1, now
}

func (q *quorums) evictOldest() {
	var oldest string
	var at time.Time
	for k, e := range q.open {
		if oldest == "" || e.Last.Before(at) {
			oldest, at = k, e.Last
		}
	}
	delete(q.open, oldest)
}

// forget drops the open entry of a task that no longer waits (parked, or cranked by another run).
func (q *quorums) forget(t Task) {
	q.mu.Lock()
	delete(q.open, t.Process+"/"+t.ItemID)
	q.mu.Unlock()
}

// quorumStatus is the "quorum" section of GET /.
type quorumStatus struct {
	Default  string        `json:"default"`
	CUs      int           `json:"cus"`
	Agreed   int64         `json:"agreed"`
	Unmet    int64         `json:"unmet"`
	Resolved int64         `json:"resolved"`
	Open     []*openQuorum `json:"open"`
	Dissents []dissent     `json:"dissents"`
}

func (q *quorums) status(def quorum.Policy, cus int) quorumStatus {
	q.mu.Lock()
	defer q.mu.Unlock()
	s := quorumStatus{Default: def.String(), CUs: cus, Agreed: q.agreed, Unmet: q.unmet, Resolved: q.resolved,
		Open: []*openQuorum{}, Dissents: []dissent{}}
	for _, e := range q.open {
		c := *e
		s.Open = append(s.Open, &c)
	}
	sort.Slice(s.Open, func(i, j int) bool { return s.Open[i].Since.Before(s.Open[j].Since) })
	for i := len(q.dissents) - 1; i >= 0; i-- {
		s.Dissents = append(s.Dissents, q.dissents[i])
	}
	return s
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// policy is the quorum of process pid: its Compute-Quorum tag, else Config.Quorum. An id no one knows as a
// process gets the default (the CU will say what it is).
func (m *MU) policy(ctx context.Context, pid string) (quorum.Policy, error) {
	p, err := m.loc.process(ctx, pid)
	if errors.Is(err, errNotProcess) {
		return m.cfg.Quorum, nil
	}
	if err != nil {
		return quorum.Policy{}, fmt.Errorf("learn the quorum of %s: %w", pid, err)
	}
	return m.policyOf(p)
}

func (m *MU) policyOf(p *procInfo) (quorum.Policy, error) {
	if p.Quorum == "" {
		return m.cfg.Quorum, nil
	}
	pol, err := quorum.Parse(p.Quorum)
	if err != nil {
		return quorum.Policy{}, permanent("process %s: tag %s: %v", p.ID, quorum.Tag, err)
	}
	return pol, nil
}

// checkQuorum refuses a Process whose quorum this MU can never meet: a malformed tag, or more CUs than it has.
func (m *MU) checkQuorum(p *procInfo) error {
	pol, err := m.policyOf(p)
	if err != nil {
		return err
	}
	if pol.Units() > len(m.cus) {
		return permanent("process %s: %s %s needs %d CUs; this MU is configured with %d", p.ID, quorum.Tag, pol, pol.Units(), len(m.cus))
	}
	return nil
}

// answer is one CU's reply to a quorum pull.
type answer struct {
	i   int
	res *client.CUResult
	v   quorum.Vote
}

// pullQuorum asks the process's n CUs for the result of t at once and returns the agreed one, or an unmetError
// (or, when no CU gave a valid answer at all, the plain failure, which retries and parks as any other).
func (m *MU) pullQuorum(ctx context.Context, t Task, pol quorum.Policy) (*client.CUResult, error) {
	units := quorum.Pick(t.Process, m.cfg.CUs, pol.Units())
	if len(units) < pol.Units() {
		err := &unmetError{fmt.Sprintf("quorum %s of process %s needs %d CUs; this MU is configured with %d", pol, t.Process, pol.Units(), len(units))}
		m.quorum.record(m.cfg.Now(), t, pol, nil, quorum.Outcome{Reason: err.reason})
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	answers := make(chan answer, len(units))
	for i, u := range units {
		go func() {
			res, err := m.cuByURL[u].Result(ctx, t.Process, t.ItemID)
			a := answer{i: i, res: res, v: quorum.Vote{Unit: u, Err: err}}
			if err == nil {
				a.v.Signer, a.v.ResultHash, a.v.Err = quorum.Check(res.Attestation, res.Body, t.Process, t.ItemID)
			}
			answers <- a
		}()
	}
	var got []answer
	var votes []quorum.Vote
	var grace <-chan time.Time
	pending := len(units)
collect:
	for pending > 0 {
		select {
		case a := <-answers:
			pending--
			got, votes = append(got, a), append(votes, a.v)
			if o := quorum.Decide(pol, votes, pending); o.Settled && grace == nil && pending > 0 {
				// Decided: the others may still answer for a moment, so that a dissenter is flagged and a
				// disagreement shows every answer, but a CU that hangs holds nothing up for long.
				tm := time.NewTimer(m.cfg.QuorumGrace)
				defer tm.Stop()
				grace = tm.C
			}
		case <-grace:
			break collect
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	answered := map[string]bool{}
	for _, v := range votes {
		answered[v.Unit] = true
	}
	for _, u := range units {
		if !answered[u] {
			votes = append(votes, quorum.Vote{Unit: u, Err: fmt.Errorf("no answer within %v of the decision", m.cfg.QuorumGrace)})
		}
	}
	o := quorum.Decide(pol, votes, 0)
	m.quorum.record(m.cfg.Now(), t, pol, votes, o)
	if o.Agreed {
		return got[o.Winner].res, nil
	}
	failed := 0
	for _, v := range o.Verdicts {
		if v == quorum.Failed {
			failed++
		}
	}
	if failed == len(votes) {
		// No CU answered at all: an outage, retried and parked as any failed pull.
		var errs []error
		for _, v := range votes {
			errs = append(errs, fmt.Errorf("%s: %w", v.Unit, v.Err))
		}
		return nil, fmt.Errorf("%s: %w", o.Reason, errors.Join(errs...))
	}
	m.log.Warn("mu: result quorum not met", "process", t.Process, "message", t.ItemID, "quorum", pol.String(), "reason", o.Reason)
	return nil, &unmetError{o.Reason}
}

func (m *MU) writeQuorumMetrics(w io.Writer) {
	q := &m.quorum
	q.mu.Lock()
	defer q.mu.Unlock()
	fmt.Fprintf(w, "# HELP aogo_mu_quorum_agreed_total Results whose quorum was met (k CUs agreed).\n# TYPE aogo_mu_quorum_agreed_total counter\naogo_mu_quorum_agreed_total %d\n", q.agreed)
	fmt.Fprintf(w, "# HELP aogo_mu_quorum_unmet_total Pull attempts whose quorum was not met (nothing cranked; retried).\n# TYPE aogo_mu_quorum_unmet_total counter\naogo_mu_quorum_unmet_total %d\n", q.unmet)
	fmt.Fprintf(w, "# HELP aogo_mu_quorum_resolved_total Disagreements that later ended in agreement.\n# TYPE aogo_mu_quorum_resolved_total counter\naogo_mu_quorum_resolved_total %d\n", q.resolved)
	fmt.Fprintf(w, "# HELP aogo_mu_quorum_open Results waiting for their quorum (listed on GET /).\n# TYPE aogo_mu_quorum_open gauge\naogo_mu_quorum_open %d\n", len(q.open))
	// Every configured CU, flagged or not (the labels are bounded by the configuration).
	units := append([]string(nil), m.cfg.CUs...)
	sort.Strings(units)
	units = slices.Compact(units)
	for _, c := range []struct {
		name, help string
		v          func(*cuCounts) int64
	}{
		{"aogo_mu_quorum_dissents_total", "Valid answers of a CU that differed from the agreed result (a lying or broken CU).", func(c *cuCounts) int64 { return c.against }},
		{"aogo_mu_quorum_invalid_total", "Answers of a CU whose attestation was missing or did not verify (never counted).", func(c *cuCounts) int64 { return c.invalid }},
		{"aogo_mu_quorum_failed_total", "Quorum requests a CU did not answer.", func(c *cuCounts) int64 { return c.failed }},
	} {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n", c.name, c.help, c.name)
		for _, u := range units {
			var v int64
			if cc := q.perCU[u]; cc != nil {
				v = c.v(cc)
			}
			fmt.Fprintf(w, "%s{cu=%q} %d\n", c.name, u, v)
		}
	}
}
