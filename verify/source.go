package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/gateway"
)

// Slot is one slot of a process's log as a Source delivers it, not yet checked.
type Slot struct {
	// Node is the slot as an SU's JSON shows it and the CU consumes it. Node.Message is nil for an assignment of
	// a message the SU does not hold with it (a message assigned from Arweave).
	Node client.SUMessage
	// Message is the scheduled message as a signed item, when the source has it whole (nil otherwise: its
	// signature is then checked from Node.Message's fields).
	Message []byte
	// Err is why the source could not produce the slot's items as signed (missing, or not verifying): the
	// log fails its check at this slot.
	Err error
	// messageVerified: the source verified Message (signature and id) already.
	messageVerified bool
}

// errInvalidItem marks an item a source found but that does not verify as the id it was asked for.
var errInvalidItem = errors.New("item does not verify")

// dataProblem reports whether err says the data layer lacks or garbles an item (the log's fault), as opposed to
// a failure to reach it.
func dataProblem(err error) bool {
	return errors.Is(err, errInvalidItem) || errors.Is(err, gateway.ErrNotFound) || errors.Is(err, gateway.ErrInvalid)
}

// Source is where a process's log comes from: a gateway (the data layer: what the SU uploaded) or an SU.
type Source interface {
	// Process returns the process as an SU's GET /processes/{pid} shows it.
	Process(ctx context.Context, pid string) (*client.SUProcess, error)
	// Slots returns the slots with from <= nonce < from+n that the source holds, in nonce order, from slot
	// from on; fewer than n at the end of what it holds or to bound the bytes it returns (none: the end). Two different slots for one nonce are an *EquivocationError, returned
	// with the slots before that nonce.
	Slots(ctx context.Context, pid string, from int64, n int) ([]Slot, error)
	// Has reports whether the source holds slot nonce: the verifier finds the log's length with it.
	Has(ctx context.Context, pid string, nonce int64) (bool, error)
}

// ErrEquivocation is a log with two different signed assignments for one nonce.
var ErrEquivocation = errors.New("two different assignments for one nonce")

// EquivocationError names the slot of an equivocation; Slots returns the slots before it with it.
type EquivocationError struct {
	Slot   int64
	First  string
	Second string
}

func (e *EquivocationError) Error() string {
	return fmt.Sprintf("slot %d: assignments %s and %s: %v", e.Slot, e.First, e.Second, ErrEquivocation)
}

func (e *EquivocationError) Unwrap() error { return ErrEquivocation }

// Items fetches whole signed items by id. *gateway.Client implements it.
type Items interface {
	Item(ctx context.Context, id string) ([]byte, error)
}

// GatewaySource reads a log from a gateway alone: the Assignment items the SU uploaded, found with GraphQL by
// their Process, Type and Nonce tags and their owner (the process's Scheduler), and the messages they assign,
// read as signed items. No SU is involved.
type GatewaySource struct {
	GW *gateway.Client
	// Fetchers is how many items are fetched at once (default 16).
	Fetchers int

	mu        sync.Mutex
	scheduler map[string]string // pid → Scheduler tag, learnt by Process
	after     map[string]string // pid → where the next window's assignments start (see Slots)
	bundles   bundles
}

// rawItem reads item id whole: from the gateway (aogo's serves items; others are rebuilt from GraphQL), else
// from the bundle that carried it: its bundledIn (tx is its GraphQL node; nil: looked up), else the one among
// the bundles uploader (the process's scheduler) posted.
func (s *GatewaySource) rawItem(ctx context.Context, id, uploader string, tx *gateway.Transaction) ([]byte, error) {
	raw, err := s.GW.Item(ctx, id)
	if err == nil {
		if _, verr := verifiedItem(raw, id); verr == nil {
			return raw, nil
		} else {
			err = fmt.Errorf("%w: %v", errInvalidItem, verr)
		}
	}
	if tx == nil {
		tx, _ = s.GW.Transaction(ctx, id)
	}
	var bundleID string
	if tx != nil && tx.BundledIn != nil && tx.BundledIn.ID != "" {
		bundleID = tx.BundledIn.ID
	} else if uploader != "" && !strings.HasPrefix(uploader, "0x") {
		var ferr error
		if bundleID, ferr = s.bundles.find(ctx, s.GW, uploader, id); ferr != nil {
			return nil, fmt.Errorf("%w; %v", err, ferr)
		}
	} else {
		// Say why no bundle was read: a gateway that lists the item without its bundle or its tags (seen once
		// from arlocal, under load) is then told apart from one that has no such item.
		listed := "does not list the item"
		if tx != nil {
			listed = fmt.Sprintf("lists the item with %d tags and no bundle", len(tx.Tags))
		}
		return nil, fmt.Errorf("%w; no bundle to read it from: the gateway %s, and its uploader %q is unknown", err, listed, uploader)
	}
	raw, berr := s.bundles.item(ctx, s.GW.Raw, bundleID, id)
	if berr != nil {
		return nil, fmt.Errorf("%w; from its bundle: %v", err, berr)
	}
	if _, verr := verifiedItem(raw, id); verr != nil {
		return nil, fmt.Errorf("item %s in bundle %s: %w: %v", id, bundleID, errInvalidItem, verr)
	}
	return raw, nil
}

// maxGraphQLFirst is the page size of the assignment queries: Arweave gateways allow 100.
const maxGraphQLFirst = 100

// maxPagesPerWindow bounds the GraphQL pages one window of nonces may take: more are a gateway full of
// assignments for the same nonces (an equivocating scheduler, or spam under its key).
const maxPagesPerWindow = 4

// Process reads the Process item and the Timestamp and Block-Height of its first slot.
func (s *GatewaySource) Process(ctx context.Context, pid string) (*client.SUProcess, error) {
	// The Process item names its scheduler, which uploaded it (with the first slot): read its tags first.
	tags, _, err := s.GW.Tags(ctx, pid)
	if err != nil {
		return nil, fmt.Errorf("read process %s from the gateway: %w", pid, err)
	}
	uploader, _ := dataitem.Get(tags, ao.TagScheduler)
	raw, err := s.rawItem(ctx, pid, uploader, nil)
	if err != nil {
		return nil, fmt.Errorf("read process %s from the gateway: %w", pid, err)
	}
	it, err := verifiedItem(raw, pid)
	if err != nil {
		return nil, fmt.Errorf("process %s: %w", pid, err)
	}
	if err := ao.CheckProcess(it); err != nil {
		return nil, fmt.Errorf("process %s: %w", pid, err)
	}
	sched, _ := it.Tag(ao.TagScheduler)
	s.mu.Lock()
	if s.scheduler == nil {
		s.scheduler = map[string]string{}
	}
	s.scheduler[pid] = sched
	s.mu.Unlock()
	as, _, err := s.assignments(ctx, pid, 0, 1, "")
	if err != nil {
		return nil, err
	}
	if len(as[0]) == 0 {
		return nil, fmt.Errorf("process %s: the gateway holds no assignment of slot 0 signed by its scheduler %s", pid, sched)
	}
	a, err := ao.ParseAssignment(as[0][0].Tags)
	if err != nil {
		return nil, fmt.Errorf("process %s: slot 0: %w", pid, err)
	}
	sp := &client.SUProcess{ProcessID: pid, Block: ao.FormatBlockHeight(uint64(max(a.BlockHeight, 0))), Owner: suOwner(it.Owner),
		Tags: nonNil(it.Tags), Timestamp: a.Timestamp, Data: ptr(string(it.Data)), Anchor: textAnchor(it.Anchor),
		Signature: ptr(dataitem.B64(it.Signature))}
	if t := it.TargetID(); t != "" {
		sp.Target = &t
	}
	return asJSON(sp)
}

// asJSON passes v through JSON as an SU's answer does: the replay must see exactly what a CU reading the SU
// sees (text that is not UTF-8 becomes U+FFFD, byte by byte), or its memory would differ from the CU's.
func asJSON[T any](v *T) (*T, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	out := new(T)
	if err := json.Unmarshal(b, out); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *GatewaySource) schedulerOf(pid string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sched, ok := s.scheduler[pid]
	if !ok {
		return "", fmt.Errorf("process %s: read the process first", pid)
	}
	return sched, nil
}

// assignments returns the distinct Assignment nodes for nonces from..from+n-1, indexed by nonce-from, in the
// gateway's upload order from after (a cursor; "" from the start), and the cursor of the earliest of them.
func (s *GatewaySource) assignments(ctx context.Context, pid string, from int64, n int, after string) ([][]gateway.Transaction, string, error) {
	sched, err := s.schedulerOf(pid)
	if err != nil {
		return nil, "", err
	}
	nonces := make([]string, n)
	for i := range nonces {
		nonces[i] = strconv.FormatInt(from+int64(i), 10)
	}
	q := gateway.TxQuery{
		// Type: Assignment is checked here, not asked: on aogo's gateway every tag asked lists all the items
		// that carry it, and every assignment of every process carries that one.
		Tags: []gateway.TagFilter{
			{Name: ao.TagProcess, Values: []string{pid}},
			{Name: ao.TagNonce, Values: nonces},
		},
		First: maxGraphQLFirst, Sort: gateway.SortHeightAsc, After: after,
	}
	earliest := ""
	// An Ethereum scheduler's address is not the gateway's owner address (SHA-256 of the key): filter after.
	if !strings.HasPrefix(sched, "0x") {
		q.Owners = []string{sched}
	}
	out := make([][]gateway.Transaction, n)
	seen := map[string]bool{}
	for page := 0; ; page++ {
		if page == maxPagesPerWindow {
			return nil, "", fmt.Errorf("nonces %d..%d: more than %d assignments on the gateway: %w", from, from+int64(n)-1, maxPagesPerWindow*maxGraphQLFirst, ErrEquivocation)
		}
		res, err := s.GW.Transactions(ctx, q)
		if err != nil {
			return nil, "", fmt.Errorf("find the assignments of %s, nonces %d..%d: %w", pid, from, from+int64(n)-1, err)
		}
		for _, e := range res.Edges {
			q.After = e.Cursor
			if earliest == "" {
				earliest = e.Cursor
			}
			tx := e.Node
			if seen[tx.ID] {
				continue
			}
			seen[tx.ID] = true
			if strings.HasPrefix(sched, "0x") && ownerAddressB64(tx.Owner.Key) != sched {
				continue
			}
			if ao.TypeOf(tx.Tags) != ao.TypeAssignment {
				continue
			}
			v, _ := dataitem.Get(tx.Tags, ao.TagNonce)
			nonce, err := strconv.ParseInt(v, 10, 64)
			if err != nil || nonce < from || nonce >= from+int64(n) {
				continue // a gateway that ignored the filter
			}
			out[nonce-from] = append(out[nonce-from], tx)
		}
		if !res.HasNextPage || len(res.Edges) == 0 {
			return out, earliest, nil
		}
	}
}

// Has reports whether the gateway holds an assignment of slot nonce by the process's scheduler.
func (s *GatewaySource) Has(ctx context.Context, pid string, nonce int64) (bool, error) {
	as, _, err := s.assignments(ctx, pid, nonce, 1, "")
	if err != nil {
		return false, err
	}
	return len(as[0]) > 0, nil
}

// Slots reads the assignments of nonces from..from+n-1 and the messages they assign.
func (s *GatewaySource) Slots(ctx context.Context, pid string, from int64, n int) ([]Slot, error) {
	var txs []gateway.Transaction
	var stop error
outer:
	for lo := from; lo < from+int64(n); lo += maxGraphQLFirst {
		k := int(min(int64(maxGraphQLFirst), from+int64(n)-lo))
		// The SU uploads a process's slots in nonce order, so the next nonces' assignments come after the
		// earliest of the previous ones: the query starts there (a gateway that orders by height scans from
		// there instead of from the first item). A nonce not found after it is looked for from the start.
		s.mu.Lock()
		after := s.after[pid]
		s.mu.Unlock()
		as, earliest, err := s.assignments(ctx, pid, lo, k, after)
		if err != nil {
			return nil, err
		}
		if after != "" && !complete(as) {
			if as, earliest, err = s.assignments(ctx, pid, lo, k, ""); err != nil {
				return nil, err
			}
		}
		if earliest != "" {
			s.mu.Lock()
			if s.after == nil {
				s.after = map[string]string{}
			}
			s.after[pid] = earliest
			s.mu.Unlock()
		}
		for i, found := range as {
			switch {
			case len(found) == 0:
				// The end of what the gateway holds. The first assignment after a gap is returned too, so the
				// nonce check reports the gap instead of the log seeming to end there.
				for _, later := range as[i+1:] {
					if len(later) > 0 {
						txs = append(txs, later[0])
						break
					}
				}
				break outer
			case len(found) > 1:
				stop = &EquivocationError{Slot: lo + int64(i), First: found[0].ID, Second: found[1].ID}
				break outer
			}
			txs = append(txs, found[0])
		}
	}
	slots, err := s.fill(ctx, pid, txs)
	if err != nil {
		return nil, err
	}
	// A window holds at most maxWindowBytes of messages (at least one slot): the rest is read again as the
	// next window.
	size := 0
	for i := range slots {
		if size += len(slots[i].Message); size > maxWindowBytes && i > 0 {
			return slots[:i], nil
		}
	}
	return slots, stop
}

// maxWindowBytes bounds the messages one window of the gateway source holds (the verifier holds two windows:
// one checked, one replayed).
const maxWindowBytes = 64 << 20

// complete reports whether every nonce has an assignment.
func complete(as [][]gateway.Transaction) bool {
	for _, a := range as {
		if len(a) == 0 {
			return false
		}
	}
	return true
}

// fill reads the slots of assignments txs: the assignment exactly (from its bundle when GraphQL lost its
// anchor) and the message it assigns, Fetchers at a time.
func (s *GatewaySource) fill(ctx context.Context, pid string, txs []gateway.Transaction) ([]Slot, error) {
	workers := s.Fetchers
	if workers <= 0 {
		workers = 16
	}
	slots := make([]Slot, len(txs))
	errs := make([]error, len(txs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, workers)
	for i := range txs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = s.slot(ctx, pid, &txs[i], &slots[i])
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			nonce, _ := dataitem.Get(txs[i].Tags, ao.TagNonce)
			return nil, fmt.Errorf("slot %s: %w", nonce, err)
		}
	}
	return slots, nil
}

// slot reads one slot.
func (s *GatewaySource) slot(ctx context.Context, pid string, tx *gateway.Transaction, sl *Slot) error {
	sl.Node.Assignment = assignmentItem(*tx)
	// An empty anchor may be one the gateway does not show (arlocal): then the fields do not verify.
	if !exactAnchor(tx.Anchor) || tx.Anchor == "" && ao.VerifyItem(sl.Node.Assignment.Fields(), "") != nil {
		raw, err := s.rawItem(ctx, tx.ID, tx.Owner.Address, tx)
		if err != nil {
			if dataProblem(err) {
				sl.Err = fmt.Errorf("assignment %s: %w", tx.ID, err)
				return nil
			}
			return fmt.Errorf("assignment %s: %w", tx.ID, err)
		}
		it, err := dataitem.Decode(raw)
		if err != nil {
			return fmt.Errorf("assignment %s: %w", tx.ID, err)
		}
		sl.Node.Assignment = client.SUItem{ID: it.ID(), Owner: suOwner(it.Owner), Tags: nonNil(it.Tags),
			Signature: dataitem.B64(it.Signature), Target: ptr("")}
		if len(it.Anchor) > 0 {
			sl.Node.Assignment.Anchor = ptr(dataitem.B64(it.Anchor))
		}
	}
	mid := sl.Node.Assignment.Tag(ao.TagMessage)
	if mid == "" {
		mid = pid // the Process's own slot
	}
	return s.message(ctx, pid, mid, sl)
}

// exactAnchor reports whether a GraphQL anchor gives the item's anchor exactly: none, base64url of 32 bytes
// (aogo's gateway, ar.io), or 32 bytes of text.
func exactAnchor(a string) bool {
	if a == "" || len(a) == 32 {
		return true
	}
	b, err := dataitem.DecodeB64(a)
	return err == nil && len(b) == 32
}

// message reads the message of a slot and shows it as the SU's JSON does. A message whose target is another
// process was assigned to this one (the SU holds only the assignment): the CU reads it from Arweave then.
func (s *GatewaySource) message(ctx context.Context, pid, mid string, sl *Slot) error {
	sched, err := s.schedulerOf(pid)
	if err != nil {
		return err
	}
	raw, err := s.rawItem(ctx, mid, sched, nil)
	if err != nil {
		if dataProblem(err) {
			sl.Err = fmt.Errorf("message %s: %w", mid, err)
			return nil
		}
		return fmt.Errorf("read message %s from the gateway: %w", mid, err)
	}
	it, err := dataitem.Decode(raw)
	if err != nil {
		return fmt.Errorf("message %s: %w", mid, err)
	}
	sl.Message, sl.messageVerified = raw, true // rawItem verified it
	if mid == pid || it.TargetID() == pid {
		sl.Node.Message = messageItem(it, pid)
	}
	if !validText(&sl.Node) {
		node, err := asJSON(&sl.Node)
		if err != nil {
			return fmt.Errorf("message %s: %w", mid, err)
		}
		sl.Node = *node
	}
	return nil
}

// validText reports whether every string of a slot is UTF-8, so JSON would give it back unchanged.
func validText(n *client.SUMessage) bool {
	for _, it := range []*client.SUItem{n.Message, &n.Assignment} {
		if it == nil {
			continue
		}
		for _, p := range []*string{it.Data, it.Anchor} {
			if p != nil && !utf8.ValidString(*p) {
				return false
			}
		}
		for _, t := range it.Tags {
			if !utf8.ValidString(t.Name) || !utf8.ValidString(t.Value) {
				return false
			}
		}
	}
	return true
}

// assignmentItem shows a GraphQL node of an assignment as the SU's JSON does with show-anchor=1.
func assignmentItem(tx gateway.Transaction) client.SUItem {
	a := client.SUItem{ID: tx.ID, Owner: client.SUOwner{Address: tx.Owner.Address, Key: tx.Owner.Key},
		Tags: nonNil(tx.Tags), Signature: tx.Signature, Target: ptr("")}
	if tx.Anchor != "" {
		a.Anchor = ptr(tx.Anchor)
	}
	return a
}

// messageItem shows a message as the SU's JSON does (su/json.go messageJSON): data as text, the anchor's
// bytes as text, the Process's own target null when it has none.
func messageItem(it *dataitem.Item, pid string) *client.SUItem {
	m := &client.SUItem{ID: it.ID(), Owner: suOwner(it.Owner), Data: ptr(string(it.Data)), Tags: nonNil(it.Tags),
		Signature: dataitem.B64(it.Signature), Anchor: textAnchor(it.Anchor), Target: ptr(it.TargetID())}
	if m.ID == pid && it.TargetID() == "" {
		m.Target = nil
	}
	return m
}

func suOwner(key []byte) client.SUOwner {
	return client.SUOwner{Address: dataitem.Address(key), Key: dataitem.B64(key)}
}

func ownerAddressB64(key string) string {
	b, err := dataitem.DecodeB64(key)
	if err != nil {
		return ""
	}
	return ao.OwnerAddress(b)
}

func textAnchor(a []byte) *string {
	if len(a) == 0 {
		return nil
	}
	return ptr(string(a))
}

func nonNil(tags []dataitem.Tag) []dataitem.Tag {
	if tags == nil {
		return []dataitem.Tag{}
	}
	return tags
}

func ptr(s string) *string { return &s }

// verifiedItem decodes raw and checks that it is the signed item id.
func verifiedItem(raw []byte, id string) (*dataitem.Item, error) {
	it, err := dataitem.Decode(raw)
	if err != nil {
		return nil, err
	}
	if err := it.Verify(); err != nil {
		return nil, err
	}
	if it.ID() != id {
		return nil, fmt.Errorf("the gateway answered item %s for %s", it.ID(), id)
	}
	return it, nil
}

// SUSource reads a log from a Scheduler Unit. Messages the SU does not hold (assigned from Arweave), and those
// whose data its JSON cannot carry exactly, are read from Items when set.
type SUSource struct {
	SU    *client.SU
	Items Items
}

// Process is the SU's GET /processes/{pid}.
func (s *SUSource) Process(ctx context.Context, pid string) (*client.SUProcess, error) {
	sp, err := s.SU.Process(ctx, pid)
	if err != nil {
		return nil, fmt.Errorf("read process %s from the SU: %w", pid, err)
	}
	return sp, nil
}

// Has asks the SU for slot nonce.
func (s *SUSource) Has(ctx context.Context, pid string, nonce int64) (bool, error) {
	from, to := nonce-1, nonce
	page, err := s.SU.Page(ctx, pid, client.SUQuery{FromNonce: &from, ToNonce: &to, Limit: 1})
	if err != nil {
		if client.IsSUStatus(err, http.StatusNotFound) {
			return false, nil
		}
		return false, err
	}
	for _, e := range page.Edges {
		if e.Node.Nonce() == nonce {
			return true, nil
		}
	}
	return false, nil
}

// Slots pages the SU's log in nonce mode with show-anchor=1.
func (s *SUSource) Slots(ctx context.Context, pid string, from int64, n int) ([]Slot, error) {
	var slots []Slot
	next := from
	for next < from+int64(n) {
		after, to := next-1, from+int64(n)-1
		page, err := s.SU.Page(ctx, pid, client.SUQuery{FromNonce: &after, ToNonce: &to, Limit: int(to - after), ShowAnchor: true})
		if err != nil {
			return nil, fmt.Errorf("read the log of %s from nonce %d: %w", pid, next, err)
		}
		progressed := false
		for _, e := range page.Edges {
			nonce := e.Node.Nonce()
			if nonce < next || nonce > to {
				continue
			}
			slots = append(slots, Slot{Node: e.Node})
			next = nonce + 1
			progressed = true
		}
		if !page.PageInfo.HasNextPage || !progressed {
			break
		}
	}
	for i := range slots {
		if err := s.message(ctx, pid, &slots[i]); err != nil {
			return nil, err
		}
	}
	return slots, nil
}

// message gives a slot its whole message item when the SU's JSON cannot prove its signature: the SU does not
// hold it, or its data is not text the JSON carries exactly.
func (s *SUSource) message(ctx context.Context, pid string, sl *Slot) error {
	m := sl.Node.Message
	if m != nil && ao.VerifyItem(m.Fields(), "") == nil {
		return nil
	}
	if s.Items == nil {
		return nil // the check reports what cannot be verified
	}
	mid := sl.Node.MessageID()
	raw, err := s.Items.Item(ctx, mid)
	if err != nil {
		if m == nil {
			return fmt.Errorf("read assigned message %s: %w", mid, err)
		}
		return nil
	}
	sl.Message = raw
	return nil
}
