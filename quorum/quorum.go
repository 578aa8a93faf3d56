package quorum

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/aogo/aogo/ao"
)

// Tag is the Process tag that asks for a result quorum: "Compute-Quorum: k-of-n".
const Tag = "Compute-Quorum"

// MaxUnits is the largest n a quorum may name: each result of the process costs n evaluations.
const MaxUnits = 16

// Policy is a k-of-n quorum: n CUs are asked, k must agree. The zero Policy is 1-of-1.
type Policy struct{ K, N int }

// Single is 1-of-1: one CU, unchecked.
var Single = Policy{K: 1, N: 1}

func (p Policy) norm() Policy {
	if p.N == 0 && p.K == 0 {
		return Single
	}
	return p
}

// IsSingle reports whether p is 1-of-1 (or the zero Policy).
func (p Policy) IsSingle() bool { p = p.norm(); return p.N == 1 && p.K == 1 }

// Units is n: how many CUs are asked.
func (p Policy) Units() int { return p.norm().N }

// Need is k: how many must agree.
func (p Policy) Need() int { return p.norm().K }

func (p Policy) String() string { p = p.norm(); return fmt.Sprintf("%d-of-%d", p.K, p.N) }

// Validate checks 1 ≤ k ≤ n ≤ MaxUnits and 2k > n.
func (p Policy) Validate() error {
	p = p.norm()
	switch {
	case p.N < 1 || p.N > MaxUnits:
		return fmt.Errorf("quorum %s: n must be 1 to %d", p, MaxUnits)
	case p.K < 1 || p.K > p.N:
		return fmt.Errorf("quorum %s: k must be 1 to n", p)
	case 2*p.K <= p.N:
		return fmt.Errorf("quorum %s: k must be more than half of n, or two different results could both reach k", p)
	}
	return nil
}

// Parse reads "k-of-n" (e.g. "2-of-3"), exactly: no spaces, decimal numbers, as Validate allows.
func Parse(s string) (Policy, error) {
	ks, ns, ok := strings.Cut(s, "-of-")
	if !ok {
		return Policy{}, fmt.Errorf("quorum %q: want k-of-n, e.g. 2-of-3", s)
	}
	k, err1 := parseSmall(ks)
	n, err2 := parseSmall(ns)
	if err1 != nil || err2 != nil {
		return Policy{}, fmt.Errorf("quorum %q: want k-of-n with k and n numbers 1 to %d", s, MaxUnits)
	}
	p := Policy{K: k, N: n}
	if err := p.Validate(); err != nil {
		return Policy{}, err
	}
	return p, nil
}

func parseSmall(s string) (int, error) {
	if len(s) == 0 || len(s) > 2 || s[0] == '0' {
		return 0, errors.New("not a small number")
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, errors.New("not a small number")
		}
	}
	return strconv.Atoi(s)
}

// Pick returns the n units (CU URLs) that compute key's results, best first: rendezvous hashing, so every
// caller with the same units picks the same ones, and adding or removing a unit moves only the keys it wins
// or held. Duplicates in units count once; fewer than n distinct units return them all.
func Pick(key string, units []string, n int) []string {
	type scored struct {
		unit  string
		score uint64
	}
	seen := map[string]bool{}
	var all []scored
	for _, u := range units {
		if seen[u] {
			continue
		}
		seen[u] = true
		h := sha256.Sum256([]byte(u + "\n" + key))
		all = append(all, scored{u, binary.BigEndian.Uint64(h[:8])})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].score != all[j].score {
			return all[i].score > all[j].score
		}
		return all[i].unit < all[j].unit
	})
	out := make([]string, 0, min(n, len(all)))
	for _, s := range all[:min(n, len(all))] {
		out = append(out, s.unit)
	}
	return out
}

// ErrInvalid marks an answer that does not count because of what the CU sent (no attestation, one that does
// not verify, or one for another process or message), as opposed to a CU that did not answer.
var ErrInvalid = errors.New("invalid answer")

// Check verifies a CU's answer for message mid of process pid: its attestation att must verify against body
// (ao.VerifyAttestation) and name pid and mid. It returns the signer's address and the Result-Hash; an error
// wraps ErrInvalid.
func Check(att, body []byte, pid, mid string) (signer, resultHash string, err error) {
	if len(att) == 0 {
		return "", "", fmt.Errorf("%w: no attestation", ErrInvalid)
	}
	a, err := ao.VerifyAttestation(att, body)
	if err != nil {
		return "", "", fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if a.Process != pid || a.Message != mid {
		return "", "", fmt.Errorf("%w: attestation is for message %q of process %q", ErrInvalid, a.Message, a.Process)
	}
	return a.Unit, a.ResultHash, nil
}

// Vote is one CU's answer.
type Vote struct {
	Unit       string // the CU asked (its URL)
	Signer     string // the attestation's signer; set only when Err is nil
	ResultHash string // set only when Err is nil
	// Err is nil for a valid signed answer. Otherwise the answer does not count: errors wrapping ErrInvalid
	// are the CU's fault, others a failure to answer.
	Err error
}

// Verdict is what became of one vote.
type Verdict string

const (
	For       Verdict = "for"       // valid, and its result is the agreed one
	Against   Verdict = "against"   // valid, but a different result from the agreed one: the CU is flagged
	Split     Verdict = "split"     // valid, but no result reached k (nothing is agreed yet)
	Invalid   Verdict = "invalid"   // its attestation is missing or does not verify: never counts
	Failed    Verdict = "failed"    // the CU did not answer
	Duplicate Verdict = "duplicate" // valid, but its signer already voted: counts once
)

// Outcome is a decision over some votes.
type Outcome struct {
	// Agreed: k valid votes from distinct signers carry ResultHash.
	Agreed     bool
	ResultHash string
	// Winner is the index of the first vote for ResultHash (whose result to use); -1 when not agreed.
	Winner int
	// Verdicts holds one Verdict per vote, in order.
	Verdicts []Verdict
	// Settled: the outcome cannot change with more answers (agreed, or even pending votes could not make k).
	Settled bool
	// Valid is the number of valid votes from distinct signers.
	Valid int
	// Reason says why nothing is agreed ("" when agreed).
	Reason string
}

// Decide decides over votes, with pending more answers still to come.
func Decide(p Policy, votes []Vote, pending int) Outcome {
	p = p.norm()
	out := Outcome{Winner: -1, Verdicts: make([]Verdict, len(votes))}
	signers := map[string]bool{}
	count := map[string]int{}
	var order []string // result hashes in order of first appearance: a deterministic winner and reason
	for i, v := range votes {
		switch {
		case v.Err != nil && errors.Is(v.Err, ErrInvalid):
			out.Verdicts[i] = Invalid
		case v.Err != nil:
			out.Verdicts[i] = Failed
		case v.Signer == "" || v.ResultHash == "":
			out.Verdicts[i] = Invalid // a vote without what it vouches for cannot count
		case signers[v.Signer]:
			out.Verdicts[i] = Duplicate
		default:
			signers[v.Signer] = true
			out.Valid++
			if count[v.ResultHash] == 0 {
				order = append(order, v.ResultHash)
			}
			count[v.ResultHash]++
			out.Verdicts[i] = Split
		}
	}
	best := 0
	for _, h := range order {
		if count[h] >= p.K && !out.Agreed {
			out.Agreed, out.ResultHash = true, h
		}
		best = max(best, count[h])
	}
	if out.Agreed {
		out.Settled = true
		for i, v := range votes {
			if out.Verdicts[i] != Split {
				continue
			}
			if v.ResultHash == out.ResultHash {
				out.Verdicts[i] = For
				if out.Winner < 0 {
					out.Winner = i
				}
			} else {
				out.Verdicts[i] = Against
			}
		}
		return out
	}
	out.Settled = best+pending < p.K
	var parts []string
	for _, h := range order {
		parts = append(parts, fmt.Sprintf("%d for %s", count[h], h))
	}
	invalid, failed := 0, 0
	for _, v := range out.Verdicts {
		switch v {
		case Invalid, Duplicate:
			invalid++
		case Failed:
			failed++
		}
	}
	switch {
	case len(order) > 1:
		out.Reason = fmt.Sprintf("quorum %s not met: CUs disagree (%s)", p, strings.Join(parts, ", "))
	case len(order) == 1:
		out.Reason = fmt.Sprintf("quorum %s not met: only %s", p, parts[0])
	default:
		out.Reason = fmt.Sprintf("quorum %s not met: no valid answer", p)
	}
	if invalid > 0 || failed > 0 {
		out.Reason += fmt.Sprintf("; %d invalid, %d failed to answer", invalid, failed)
	}
	if pending > 0 {
		out.Reason += fmt.Sprintf("; %d still to answer", pending)
	}
	return out
}
