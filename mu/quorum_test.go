package mu_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/mu"
	"github.com/aogo/aogo/quorum"
	"github.com/aogo/aogo/wallet"
)

// lie is what a lyingCU does to the result it lies about.
type lie int32

const (
	honest lie = iota
	// resign flips one byte of the result and signs a new attestation for it with the liar's own key: a valid
	// answer for a different result.
	resign
	// forge flips the byte and edits the CU's attestation to name the new Result-Hash, keeping the CU's
	// signature, which then does not verify.
	forge
	// down answers 503, as a CU that is unreachable.
	down
)

// lyingCU is a test double in front of a real CU: honest until told to lie about one message's result.
type lyingCU struct {
	next   http.Handler
	key    *wallet.Wallet
	mu     sync.Mutex
	target string // the message id to lie about
	how    lie
	lies   atomic.Int64
}

func (l *lyingCU) set(target string, how lie) {
	l.mu.Lock()
	l.target, l.how = target, how
	l.mu.Unlock()
}

func (l *lyingCU) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	target, how := l.target, l.how
	l.mu.Unlock()
	if how == honest || r.URL.Path != "/result/"+target {
		l.next.ServeHTTP(w, r)
		return
	}
	if how == down {
		l.lies.Add(1)
		http.Error(w, `{"error":"down"}`, http.StatusServiceUnavailable)
		return
	}
	rec := httptest.NewRecorder()
	l.next.ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	// One byte of the first outbox message's data: "hello" becomes "helln", still valid JSON.
	i := bytes.Index(body, []byte(`"Messages"`))
	j := bytes.Index(body[max(i, 0):], []byte("hello"))
	if rec.Code != http.StatusOK || i < 0 || j < 0 {
		panic(fmt.Sprintf("lyingCU: nothing to flip in %d %s", rec.Code, body))
	}
	body[i+j+4] ^= 1
	att, err := dataitem.DecodeB64(rec.Header().Get(client.AttestationHeader))
	if err != nil {
		panic(err)
	}
	it, err := dataitem.Decode(att)
	if err != nil {
		panic(err)
	}
	tags := make([]dataitem.Tag, len(it.Tags))
	for k, tg := range it.Tags {
		if tg.Name == ao.TagResultHash {
			tg.Value = ao.ResultHash(body)
		}
		tags[k] = tg
	}
	it.Tags = tags
	if how == resign {
		it = &dataitem.Item{Tags: tags}
		if err := it.Sign(l.key); err != nil {
			panic(err)
		}
	}
	if att, err = it.Bytes(); err != nil {
		panic(err)
	}
	l.lies.Add(1)
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Set(client.AttestationHeader, dataitem.B64(att))
	w.WriteHeader(rec.Code)
	w.Write(body)
}

// quorumNet is a realNet with cus CUs, each behind a lyingCU (honest until told otherwise), and an MU whose
// operator routes answer testOperatorToken.
func quorumNet(t *testing.T, cus int) (*realNet, []*lyingCU) {
	t.Helper()
	liars := make([]*lyingCU, cus)
	n := newAOSNetWith(t, netOptions{
		cus: cus,
		wrap: func(i int, h http.Handler) http.Handler {
			k, _ := wallet.Generate(wallet.ED25519)
			liars[i] = &lyingCU{next: h, key: k}
			return liars[i]
		},
		mu: func(c *mu.Config) { c.OperatorToken, c.MaxAttempts = testOperatorToken, 3 },
	})
	return n, liars
}

// prepare signs a message to pid without posting it, so a liar can be told its id first.
func (n *realNet) prepare(pid, data string, tags ...dataitem.Tag) ([]byte, string) {
	n.t.Helper()
	target, _ := dataitem.DecodeB64(pid)
	it := &dataitem.Item{Target: target, Anchor: []byte(fmt.Sprintf("%032d", n.seq.Add(1))), Data: []byte(data), Tags: append([]dataitem.Tag{
		{Name: "Data-Protocol", Value: "ao"}, {Name: "Variant", Value: "ao.TN.1"}, {Name: "Type", Value: "Message"},
	}, tags...)}
	return n.sign(it), it.ID()
}

// operator GETs an operator route of the MU.
func (n *realNet) operator(path string) []byte {
	n.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, n.muURL+path, nil)
	req.Header.Set("Authorization", "Bearer "+testOperatorToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		n.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return b
}

type quorumStatus struct {
	Agreed, Unmet, Resolved int64
	Open                    []struct {
		Task             int64
		Process, Message string
		Quorum, Reason   string
		Attempts         int
		Votes            []struct{ CU, Signer, Verdict, Error string }
	}
	Dissents []struct {
		Process, Message, CU, Signer, Verdict, Error string
		ResultHash                                   string `json:"result_hash"`
		AgreedHash                                   string `json:"agreed_hash"`
	}
}

func (n *realNet) quorumStatus() quorumStatus {
	n.t.Helper()
	var s struct{ Quorum quorumStatus }
	if err := json.Unmarshal(n.operator("/"), &s); err != nil {
		n.t.Fatal(err)
	}
	return s.Quorum
}

// waitOpen waits until the result of mid waits for its quorum after more failed attempts than the MU's
// MaxAttempts (3), which would have parked any other failing task.
func (n *realNet) waitOpen(mid string) (q quorumStatus, i int) {
	n.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		q = n.quorumStatus()
		for i, o := range q.Open {
			if o.Message == mid && o.Attempts > 4 {
				return q, i
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	n.t.Fatalf("the result of %s is not waiting for its quorum: %+v", mid, q)
	return
}

// noteTaker spawns a process (with extra tags) that sends "hello" to a fresh receiver when told, and returns
// both; the receiver keeps what it gets in Got.
func (n *realNet) noteTaker(extra ...dataitem.Tag) (sender, receiver string) {
	n.t.Helper()
	sender, receiver = n.spawn(extra...), n.spawn()
	n.idle()
	n.eval(receiver, `Got = {}; Handlers.add("note", "Note", function(msg) table.insert(Got, msg.Data) end)`)
	n.idle()
	return sender, receiver
}

func (n *realNet) sendHello(sender, receiver string) ([]byte, string) {
	return n.prepare(sender, fmt.Sprintf(`ao.send({Target = %q, Action = "Note", Data = "hello"})`, receiver), dataitem.Tag{Name: "Action", Value: "Eval"})
}

func quorumTag(v string) dataitem.Tag { return dataitem.Tag{Name: quorum.Tag, Value: v} }

// TestQuorum2of3Liar: a process tagged Compute-Quorum 2-of-3 on three CUs, one of which lies about one result
// (one byte flipped, re-signed with its own key, or with the CU's signature left invalid): the honest result
// is cranked, once, and the liar is flagged on GET / and /metrics. Then two liars (one valid, one with an
// invalid signature) vouch for the same wrong result against one honest CU: the invalid one does not count,
// so nothing is cranked until the forger is fixed.
func TestQuorum2of3Liar(t *testing.T) {
	if testing.Short() {
		t.Skip("runs aos processes on three CUs")
	}
	n, liars := quorumNet(t, 3)
	a, b := n.noteTaker(quorumTag("2-of-3"))
	if got := n.value(a, "1+1"); got != "2" {
		t.Fatalf("a quorum process evaluates: %q", got)
	}

	for _, c := range []struct {
		how     lie
		verdict string
	}{{resign, "against"}, {forge, "invalid"}} {
		raw, mid := n.sendHello(a, b)
		liars[2].set(mid, c.how)
		n.postMU(raw)
		n.idle()
		if liars[2].lies.Load() == 0 {
			t.Fatal("the liar was never asked")
		}
		if got := n.value(b, "table.concat(Got, ',')"); got != "hello" {
			t.Fatalf("%v: b got %q, want the honest hello once", c.how, got)
		}
		n.eval(b, "Got = {}")
		q := n.quorumStatus()
		if len(q.Dissents) == 0 || q.Dissents[0].Message != mid || q.Dissents[0].CU != n.cuURLs[2] || q.Dissents[0].Verdict != c.verdict {
			t.Fatalf("%v: the liar is not flagged: %+v", c.how, q.Dissents)
		}
		if c.how == resign && (q.Dissents[0].Signer != liars[2].key.Address() || q.Dissents[0].ResultHash == q.Dissents[0].AgreedHash) {
			t.Fatalf("the dissent does not name the liar's key and its result: %+v", q.Dissents[0])
		}
		liars[2].set("", honest)
	}
	metrics := string(n.operator("/metrics"))
	for _, want := range []string{
		fmt.Sprintf("aogo_mu_quorum_dissents_total{cu=%q} 1", n.cuURLs[2]),
		fmt.Sprintf("aogo_mu_quorum_invalid_total{cu=%q} 1", n.cuURLs[2]),
		fmt.Sprintf("aogo_mu_quorum_dissents_total{cu=%q} 0", n.cuURLs[0]),
		"aogo_mu_quorum_open 0",
	} {
		if !strings.Contains(metrics, want) {
			t.Fatalf("metrics lack %q:\n%s", want, metrics)
		}
	}

	// Two wrong answers for the same flipped result, one validly signed by its liar, one with a forged
	// signature: had the forged one counted, the flipped result would have 2 of 3.
	raw, mid := n.sendHello(a, b)
	liars[1].set(mid, forge)
	liars[2].set(mid, resign)
	n.postMU(raw)
	q, i := n.waitOpen(mid)
	if o := q.Open[i]; !strings.Contains(o.Reason, "CUs disagree (1 for") || !strings.Contains(o.Reason, "1 invalid") || o.Quorum != "2-of-3" {
		t.Fatalf("the open quorum does not say why: %+v", o)
	}
	if got := n.dryValue(b, "#Got"); got != "0" {
		t.Fatalf("b got %s notes while the quorum was not met", got)
	}
	liars[1].set("", honest)
	n.idle()
	if got := n.value(b, "table.concat(Got, ',')"); got != "hello" {
		t.Fatalf("after the forger was fixed, b got %q, want hello once", got)
	}
	if q := n.quorumStatus(); len(q.Open) != 0 || q.Resolved != 1 {
		t.Fatalf("the disagreement did not clear: %+v", q)
	}
	if p := n.parked(); len(p) != 0 {
		t.Fatalf("parked: %+v", p)
	}
}

// TestQuorum2of2Liar: 2-of-2 with one liar cranks nothing, for longer than MaxAttempts, and says why on GET /
// and /metrics; the liar going down keeps it waiting; the CU coming back honest resumes the crank, once.
func TestQuorum2of2Liar(t *testing.T) {
	if testing.Short() {
		t.Skip("runs aos processes on three CUs")
	}
	n, liars := quorumNet(t, 3)
	a, b := n.noteTaker(quorumTag("2-of-2"))
	picked := quorum.Pick(a, n.cuURLs, 2)
	var liar *lyingCU
	for i, u := range n.cuURLs {
		if u == picked[1] {
			liar = liars[i]
		}
	}
	raw, mid := n.sendHello(a, b)
	liar.set(mid, resign)
	n.postMU(raw)
	q, i := n.waitOpen(mid)
	o := q.Open[i]
	if o.Process != a || o.Quorum != "2-of-2" || !strings.Contains(o.Reason, "quorum 2-of-2 not met: CUs disagree") || len(o.Votes) != 2 {
		t.Fatalf("the open quorum does not say why: %+v", o)
	}
	for _, v := range o.Votes {
		if v.Verdict != "split" || v.Signer == "" {
			t.Fatalf("votes: %+v", o.Votes)
		}
	}
	metrics := string(n.operator("/metrics"))
	if !strings.Contains(metrics, "aogo_mu_quorum_open 1") || strings.Contains(metrics, "aogo_mu_quorum_unmet_total 0") {
		t.Fatalf("metrics do not show the unmet quorum:\n%s", metrics)
	}
	task, err := n.store.Get(context.Background(), o.Task)
	// The store may say write: a write followed by a pull is committed with the pull's outcome (Task.stored).
	if err != nil || (task.Stage != mu.StagePull && task.Stage != mu.StageWrite) || !strings.Contains(task.LastError, "CUs disagree") {
		t.Fatalf("task %d: %+v %v", o.Task, task, err)
	}
	if got := n.dryValue(b, "#Got"); got != "0" {
		t.Fatalf("b got %s notes from a result without its quorum", got)
	}

	liar.set(mid, down)
	before := liar.lies.Load()
	for deadline := time.Now().Add(time.Minute); liar.lies.Load() < before+2; {
		if time.Now().After(deadline) {
			task, _ := n.store.Get(context.Background(), o.Task)
			t.Fatalf("the MU stopped asking: %+v\n%+v", n.quorumStatus(), task)
		}
		time.Sleep(20 * time.Millisecond)
	}
	q, i = n.waitOpen(mid)
	if !strings.Contains(q.Open[i].Reason, "only 1 for") || !strings.Contains(q.Open[i].Reason, "1 failed to answer") {
		t.Fatalf("with the CU down: %+v", q.Open[i])
	}
	liar.set("", honest)
	n.idle()
	if got := n.value(b, "table.concat(Got, ',')"); got != "hello" {
		t.Fatalf("after agreement appeared, b got %q, want hello once", got)
	}
	if q := n.quorumStatus(); len(q.Open) != 0 || q.Resolved != 1 {
		t.Fatalf("the disagreement did not clear: %+v", q)
	}
}

// dryValue evaluates expr on pid's latest state at the first CU without sending anything.
func (n *realNet) dryValue(pid, expr string) string {
	n.t.Helper()
	r, err := n.cu.DryRun(context.Background(), pid, client.DryRunMessage{Owner: n.user.Address(), Target: pid, Data: "return " + expr,
		Tags: []dataitem.Tag{{Name: "Action", Value: "Eval"}}})
	if err != nil {
		n.t.Fatal(err)
	}
	var o struct {
		Data json.RawMessage `json:"data"`
	}
	json.Unmarshal(r.Output, &o)
	var s string
	if json.Unmarshal(o.Data, &s) != nil {
		s = string(o.Data)
	}
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
