package verify

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"

	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/cu"
	"github.com/aogo/aogo/dataitem"
)

// Fields a divergence names.
const (
	FieldResult      = "result"      // the CU did not answer the slot's result
	FieldAttestation = "attestation" // the CU sent no attestation
	FieldSignature   = "signature"   // the attestation does not verify, or does not sign the body it came with
	FieldSigner      = "signer"      // the attestation is signed by another wallet than the CU's
	FieldSlot        = "Slot"        // the attestation names another process, message, slot or hash chain
	FieldResultHash  = "Result-Hash"
	FieldMemoryHash  = "Memory-Hash"
)

// Divergence is a disagreement between a CU and the replay at one slot.
type Divergence struct {
	Slot    int64  `json:"slot"`
	Message string `json:"message"`
	CU      string `json:"cu"`             // the CU's URL
	Unit    string `json:"unit,omitempty"` // the CU's wallet address
	Field   string `json:"field"`
	CUValue string `json:"cu_value"` // what the CU said
	Value   string `json:"value"`    // what the replay computed (or what was expected)
}

func (d *Divergence) String() string {
	return fmt.Sprintf("slot %d (message %s): CU %s: %s: CU says %q, replay says %q", d.Slot, d.Message, d.CU, d.Field, d.CUValue, d.Value)
}

// unit is one CU being compared.
type unit struct {
	c       *client.CU
	address string // from GET /
	report  *UnitReport
}

// cuAnswer is what one CU says about one slot: the hash of its result body and its attestation, or why it
// could not be compared (a Divergence with everything but the replay's value).
type cuAnswer struct {
	resultHash string
	att        *cu.Attestation
	bad        *Divergence
}

// fetchAnswers asks every CU for the result of each slot, concurrently (workers requests per CU at once), and
// checks what can be checked without the replay: the attestation is there, verifies, signs the body, is the
// CU's, and names the slot. answers[i][u] is CU u's answer about slots[i].
func fetchAnswers(ctx context.Context, pid string, units []*unit, slots []Slot, workers int) ([][]cuAnswer, error) {
	answers := make([][]cuAnswer, len(slots))
	for i := range answers {
		answers[i] = make([]cuAnswer, len(units))
	}
	if len(units) == 0 {
		return answers, nil
	}
	type job struct{ i, u int }
	jobs := make(chan job)
	var wg sync.WaitGroup
	for range workers * len(units) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				answers[j.i][j.u] = askCU(ctx, pid, units[j.u], &slots[j.i])
			}
		}()
	}
	for i := range slots {
		for u := range units {
			select {
			case jobs <- job{i, u}:
			case <-ctx.Done():
			}
		}
	}
	close(jobs)
	wg.Wait()
	return answers, ctx.Err()
}

func askCU(ctx context.Context, pid string, u *unit, sl *Slot) cuAnswer {
	mid := sl.Node.MessageID()
	nonce := sl.Node.Nonce()
	bad := func(field, got, want string) cuAnswer {
		return cuAnswer{bad: &Divergence{Slot: nonce, Message: mid, CU: u.c.URL(), Unit: u.address, Field: field, CUValue: got, Value: want}}
	}
	r, err := u.c.Result(ctx, pid, mid)
	if err != nil {
		return bad(FieldResult, err.Error(), "a result")
	}
	h := sha256.Sum256(r.Body)
	ans := cuAnswer{resultHash: dataitem.B64(h[:])}
	if r.Attestation == nil {
		return bad(FieldAttestation, "none", "a signed attestation ("+client.AttestationHeader+")")
	}
	a, err := cu.VerifyAttestation(r.Attestation, r.Body)
	if err != nil {
		d := bad(FieldSignature, err.Error(), "a valid attestation of the body")
		if errors.Is(err, cu.ErrAttestation) {
			d.bad.CUValue = err.Error()
		}
		return d
	}
	if u.address != "" && a.Unit != u.address {
		return bad(FieldSigner, a.Unit, u.address)
	}
	want := sl.Node.Assignment.Tag("Hash-Chain")
	if a.Process != pid || a.Message != mid || a.Slot != nonce || a.HashChain != want {
		return bad(FieldSlot, fmt.Sprintf("%s/%s/%d/%s", a.Process, a.Message, a.Slot, a.HashChain),
			fmt.Sprintf("%s/%s/%d/%s", pid, mid, nonce, want))
	}
	ans.att = a
	return ans
}

// compare checks a CU's answer against the replay's evaluation of the slot; nil when they agree.
func compare(u *unit, ans *cuAnswer, ev *cu.Eval) *Divergence {
	if ans.bad != nil {
		return ans.bad
	}
	h := sha256.Sum256(ev.Result)
	mine := dataitem.B64(h[:])
	d := func(field, got, want string) *Divergence {
		return &Divergence{Slot: ev.Nonce, Message: ev.Message, CU: u.c.URL(), Unit: u.address, Field: field, CUValue: got, Value: want}
	}
	if ans.att.ResultHash != mine {
		return d(FieldResultHash, ans.att.ResultHash, mine)
	}
	// Memory hashes of format 3 (vm.HashMemory) are the replay's; older formats hash differently.
	if ans.att.MemoryHash != "" && ans.att.Format == "3" && ev.MemoryHash != nil {
		if m := dataitem.B64(ev.MemoryHash); ans.att.MemoryHash != m {
			return d(FieldMemoryHash, ans.att.MemoryHash, m)
		}
	}
	return nil
}

// wantsMemoryHash reports whether some CU attested a memory hash for the slot the replay can compare.
func wantsMemoryHash(answers []cuAnswer) bool {
	for _, a := range answers {
		if a.bad == nil && a.att != nil && a.att.MemoryHash != "" && a.att.Format == "3" {
			return true
		}
	}
	return false
}
