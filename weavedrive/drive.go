package weavedrive

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aogo/aogo/vm"
)

// Source serves the bytes: data by id (HEAD for the size, then ranges), transaction headers and blocks.
// found=false means the source does not have it.
type Source interface {
	Size(ctx context.Context, id string) (size int64, found bool, err error)
	ReadRange(ctx context.Context, id string, off, n int64) ([]byte, error)
	Tx(ctx context.Context, id string) (json []byte, found bool, err error)
	Block(ctx context.Context, height int64) (body []byte, found bool, err error)
}

// Index answers attestation queries (GraphQL against a gateway).
type Index interface {
	// Earliest returns the lowest block height of an item matching q at or below max, if any.
	Earliest(ctx context.Context, q Query, max int64) (height int64, found bool, err error)
	// Height is the gateway's current block height: no more items can land at a lower one.
	Height(ctx context.Context) (int64, error)
}

// ErrNotSettled is returned when data is not attested yet at the message's Block-Height but the chain is
// not past that height, so an attestation may still land there: the answer is not final, and the
// message is evaluated later.
var ErrNotSettled = errors.New("weavedrive: block not settled yet; attestation may still land")

// BlockSize is the unit of the content cache and of reads from the gateway.
const BlockSize = 256 << 10

// Options configure a Drive.
type Options struct {
	// Index decides admission; nil admits every id (the reference loader's mode "test"; aogo run --drive).
	Index Index
	// Cache holds data blocks and transaction headers; nil reads through to the source every time.
	Cache *Cache
	// ReadAhead is how many blocks one Range request fetches (default 4: 1 MiB).
	ReadAhead int
	// SettleWait is how long an open waits for the chain to pass the message's height before it gives
	// up with ErrNotSettled (default 30 s; negative: do not wait).
	SettleWait time.Duration
	// SettleBlocks is how far past a message's height the chain must be before "not attested" is final
	// (default 1: the next block exists). Gateways that index bundled items late need more.
	SettleBlocks int64
}

// Drive is a vm.WeaveDrive: admission by the reference rules (see the package documentation), bytes from
// a Source through the cache. One Drive serves every process of a CU; it is safe for concurrent use.
type Drive struct {
	src   Source
	opts  Options
	mu    sync.Mutex
	ans   map[string]*answer // attestation query → what is known of it
	sizes map[string]int64
	top   int64 // highest gateway height seen
}

// answer is what is known of one attestation query: an item at minFound (or none, -1), and that none
// exists at or below negUpTo (-1: unknown). Never used past what it says.
type answer struct{ minFound, negUpTo int64 }

const maxRemembered = 100_000

// readTimeout bounds one Range request.
const readTimeout = 2 * time.Minute

// New returns a drive reading from src.
func New(src Source, opts Options) *Drive {
	if opts.ReadAhead <= 0 {
		opts.ReadAhead = 4
	}
	if opts.SettleBlocks <= 0 {
		opts.SettleBlocks = 1
	}
	if opts.SettleWait == 0 {
		opts.SettleWait = 30 * time.Second
	}
	return &Drive{src: src, opts: opts, ans: map[string]*answer{}, sizes: map[string]int64{}, top: -1}
}

// Open implements vm.WeaveDrive.
func (d *Drive) Open(ctx context.Context, path string) (vm.DriveFile, error) {
	kind, arg, ok := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	if !ok || !strings.HasPrefix(path, "/") {
		return nil, nil
	}
	switch kind {
	case "data":
		if !isID(arg) {
			// The reference looks any name up and answers HALT for what it cannot find.
			return nil, fmt.Errorf("weavedrive: %q is not an Arweave id: %w", arg, vm.ErrFileNotFound)
		}
		return d.openData(ctx, arg)
	case "tx":
		if !isID(arg) {
			return nil, nil
		}
		return d.openTx(ctx, arg)
	case "block":
		h, err := strconv.ParseInt(arg, 10, 64)
		if err != nil || h < 0 || strconv.FormatInt(h, 10) != arg {
			return nil, nil
		}
		return d.openBlock(ctx, h)
	}
	return nil, nil // the reference answers 0 for other categories
}

// isID accepts an Arweave id: 43 base64url characters.
func isID(s string) bool {
	if len(s) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}

func (d *Drive) openData(ctx context.Context, id string) (vm.DriveFile, error) {
	call := vm.DriveCallOf(ctx)
	ok, err := d.Admitted(ctx, call, id)
	switch {
	case errors.Is(err, ErrNotAdmitted):
		// The reference throws this (so the message ends with an Error on every format).
		return nil, fmt.Errorf("%w: %w", &vm.DriveRefusal{Reason: "This WeaveDrive implementation does not support Library attestations yet!"}, err)
	case errors.Is(err, ErrMode):
		mode := PolicyOf(tagsOf(call.ProcessTags), tagsOf(call.ModuleTags)).Mode // ErrMode comes only with a call
		return nil, fmt.Errorf("%w: %w", &vm.DriveRefusal{Reason: "Unsupported WeaveDrive mode: " + mode}, err)
	case err != nil:
		return nil, err
	case !ok:
		return nil, fmt.Errorf("weavedrive: /data/%s not admitted: %w", id, vm.ErrFileNotFound)
	}
	size, found, err := d.size(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("weavedrive: size of %s: %w", id, err)
	}
	if !found && d.opts.Index == nil {
		return nil, fmt.Errorf("weavedrive: /data/%s not in the directory: %w", id, vm.ErrFileNotFound)
	}
	if !found {
		// Admitted but the gateway has no data: the reference HALTs (fopen NULL) too, but the answer may
		// change when the data arrives, so it is not final.
		return nil, fmt.Errorf("weavedrive: %s admitted but not on the gateway yet", id)
	}
	return &dataFile{d: d, id: id, size: size}, nil
}

// Admitted decides whether the process of call may read /data/<id> at call's Block-Height.
func (d *Drive) Admitted(ctx context.Context, call *vm.DriveCall, id string) (bool, error) {
	if d.opts.Index == nil {
		return true, nil
	}
	if call == nil {
		return false, errors.New("weavedrive: open without a drive call (no process context)")
	}
	pol := PolicyOf(tagsOf(call.ProcessTags), tagsOf(call.ModuleTags))
	plan, err := pol.PlanFor(id)
	if err != nil || plan.Admit || plan.Deny {
		return plan.Admit, err
	}
	found := make([]bool, len(plan.Queries))
	for i, q := range plan.Queries {
		if found[i], err = d.attested(ctx, q, call.BlockHeight); err != nil {
			return false, err
		}
		if found[i] {
			break
		}
	}
	return pol.Decide(found)
}

func tagsOf(ts []vm.Tag) []Tag {
	out := make([]Tag, len(ts))
	for i, t := range ts {
		out[i] = Tag(t)
	}
	return out
}

func queryKey(q Query) string {
	b, _ := json.Marshal(q)
	return string(b)
}

// attested answers q at height h from what is known, asking the index only when that does not say.
func (d *Drive) attested(ctx context.Context, q Query, h int64) (bool, error) {
	k := queryKey(q)
	d.mu.Lock()
	a := d.ans[k]
	if a != nil {
		if a.minFound >= 0 && h >= a.minFound {
			d.mu.Unlock()
			return true, nil
		}
		if h <= a.negUpTo {
			d.mu.Unlock()
			return false, nil
		}
	}
	d.mu.Unlock()

	// A "no" is final only once the chain is past h; an attestation may land at h until then, so the
	// query that says no must be one made after the chain passed h.
	d.mu.Lock()
	settledBefore := d.top >= h+d.opts.SettleBlocks
	d.mu.Unlock()
	at, found, err := d.opts.Index.Earliest(ctx, q, h)
	if err != nil {
		return false, fmt.Errorf("weavedrive: attestation query: %w", err)
	}
	if !found && !settledBefore {
		if err := d.settled(ctx, h); err != nil {
			return false, err
		}
		if at, found, err = d.opts.Index.Earliest(ctx, q, h); err != nil {
			return false, fmt.Errorf("weavedrive: attestation query: %w", err)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.ans) >= maxRemembered {
		clear(d.ans)
	}
	a = d.ans[k]
	if a == nil {
		a = &answer{minFound: -1, negUpTo: -1}
		d.ans[k] = a
	}
	if found {
		if a.minFound < 0 || at < a.minFound {
			a.minFound = at
		}
		a.negUpTo = max(a.negUpTo, at-1)
		return true, nil
	}
	a.negUpTo = max(a.negUpTo, h)
	return false, nil
}

// settled returns nil once the gateway's chain is SettleBlocks past h, waiting up to SettleWait for it (the next block
// is usually seconds away), and ErrNotSettled if it is not.
func (d *Drive) settled(ctx context.Context, h int64) error {
	d.mu.Lock()
	top := d.top
	d.mu.Unlock()
	if top >= h+d.opts.SettleBlocks {
		return nil
	}
	deadline := time.Now().Add(d.opts.SettleWait)
	for {
		cur, err := d.opts.Index.Height(ctx)
		if err != nil {
			return fmt.Errorf("weavedrive: gateway height: %w", err)
		}
		d.mu.Lock()
		d.top = max(d.top, cur)
		d.mu.Unlock()
		if cur >= h+d.opts.SettleBlocks {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w (height %d, gateway at %d)", ErrNotSettled, h, cur)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("weavedrive: waiting for block %d to settle: %w", h+1, ctx.Err())
		case <-time.After(settlePoll):
		}
	}
}

// settlePoll is how often settled asks the gateway's height while waiting.
const settlePoll = 250 * time.Millisecond

func (d *Drive) size(ctx context.Context, id string) (int64, bool, error) {
	d.mu.Lock()
	n, ok := d.sizes[id]
	d.mu.Unlock()
	if ok {
		return n, true, nil
	}
	n, found, err := d.src.Size(ctx, id)
	if err != nil || !found {
		return 0, found, err
	}
	d.mu.Lock()
	if len(d.sizes) >= maxRemembered {
		clear(d.sizes)
	}
	d.sizes[id] = n
	d.mu.Unlock()
	return n, true, nil
}

// openTx serves the transaction's JSON as the reference drive makes it: the gateway's /tx/<id> object,
// compact, with ownerAddress (base64url SHA-256 of the owner) added last.
func (d *Drive) openTx(ctx context.Context, id string) (vm.DriveFile, error) {
	key := id + ".tx"
	if b, ok := d.cacheGet(key); ok {
		return memFile{bytes.NewReader(b)}, nil
	}
	raw, found, err := d.src.Tx(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("weavedrive: tx %s: %w", id, err)
	}
	if !found {
		if d.opts.Index == nil {
			return nil, nil // a directory of files has no headers
		}
		// The reference retries, then fails the evaluation: so do we (the CU evaluates it later).
		return nil, fmt.Errorf("weavedrive: tx %s: not on the gateway", id)
	}
	b, err := TxJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("weavedrive: tx %s: %w", id, err)
	}
	d.cachePut(key, b)
	return memFile{bytes.NewReader(b)}, nil
}

// TxJSON turns a gateway's /tx/<id> JSON into what the reference drive serves: JSON.stringify({...entry,
// ownerAddress}): the same members in the same order, compact, then ownerAddress.
func TxJSON(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, errors.New("transaction JSON is not an object")
	}
	var out bytes.Buffer
	out.WriteByte('{')
	var owner string
	seen := map[string]int{}
	type member struct {
		name string
		val  []byte
	}
	var members []member
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("transaction JSON: %w", err)
		}
		name, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("transaction JSON: %w", err)
		}
		var c bytes.Buffer
		if err := json.Compact(&c, v); err != nil {
			return nil, err
		}
		if name == "owner" {
			if err := json.Unmarshal(v, &owner); err != nil {
				return nil, errors.New("transaction JSON: owner is not a string")
			}
		}
		// A repeated member keeps its first place and its last value, as JSON.parse does.
		if i, ok := seen[name]; ok {
			members[i].val = c.Bytes()
			continue
		}
		seen[name] = len(members)
		members = append(members, member{name, c.Bytes()})
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("transaction JSON: %w", err)
	}
	if _, ok := seen["owner"]; !ok {
		return nil, errors.New("transaction JSON: no owner")
	}
	ob, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(owner, "="))
	if err != nil {
		return nil, errors.New("transaction JSON: owner is not base64url")
	}
	sum := sha256.Sum256(ob)
	addr := base64.RawURLEncoding.EncodeToString(sum[:])
	if i, ok := seen["ownerAddress"]; ok {
		members[i].val = []byte(strconv.Quote(addr))
	} else {
		members = append(members, member{"ownerAddress", []byte(strconv.Quote(addr))})
	}
	for i, m := range members {
		if i > 0 {
			out.WriteByte(',')
		}
		nb, _ := json.Marshal(m.name)
		out.Write(nb)
		out.WriteByte(':')
		out.Write(m.val)
	}
	out.WriteByte('}')
	return out.Bytes(), nil
}

// openBlock serves /block/<h>: the gateway's /block/height/<h> body, as the reference does; a height
// above the message's is not available.
func (d *Drive) openBlock(ctx context.Context, h int64) (vm.DriveFile, error) {
	if call := vm.DriveCallOf(ctx); d.opts.Index != nil && (call == nil || h > call.BlockHeight) {
		return nil, nil
	}
	key := "block." + strconv.FormatInt(h, 10)
	if b, ok := d.cacheGet(key); ok {
		return memFile{bytes.NewReader(b)}, nil
	}
	b, found, err := d.src.Block(ctx, h)
	if err != nil {
		return nil, fmt.Errorf("weavedrive: block %d: %w", h, err)
	}
	if !found {
		if d.opts.Index == nil {
			return nil, nil
		}
		return nil, fmt.Errorf("weavedrive: block %d: not on the gateway", h)
	}
	d.cachePut(key, b)
	return memFile{bytes.NewReader(b)}, nil
}

func (d *Drive) cacheGet(key string) ([]byte, bool) {
	if d.opts.Cache == nil {
		return nil, false
	}
	return d.opts.Cache.Get(key)
}

func (d *Drive) cachePut(key string, b []byte) {
	if d.opts.Cache != nil {
		_ = d.opts.Cache.Put(key, b) // a cache that cannot store only costs a re-read
	}
}

type memFile struct{ *bytes.Reader }

func (f memFile) Size() int64 { return f.Reader.Size() }

// dataFile reads /data/<id> block by block through the cache, fetching ReadAhead blocks per request.
type dataFile struct {
	d    *Drive
	id   string
	size int64
}

func (f *dataFile) Size() int64 { return f.size }

func (f *dataFile) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) && off < f.size {
		idx := off / BlockSize
		blk, err := f.block(idx)
		if err != nil {
			return n, err
		}
		c := copy(p[n:], blk[off-idx*BlockSize:])
		n += c
		off += int64(c)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func blockKey(id string, idx int64) string { return id + "." + strconv.FormatInt(idx, 10) }

func (f *dataFile) block(idx int64) ([]byte, error) {
	if b, ok := f.d.cacheGet(blockKey(f.id, idx)); ok && f.blockLen(idx) == int64(len(b)) {
		return b, nil
	}
	// Read ahead: this block and the next ones not cached, in one Range request.
	last := idx
	for last+1 < idx+int64(f.d.opts.ReadAhead) && (last+1)*BlockSize < f.size {
		if _, ok := f.d.cacheGet(blockKey(f.id, last+1)); ok {
			break
		}
		last++
	}
	start := idx * BlockSize
	end := min(f.size, (last+1)*BlockSize)
	// A file outlives the Apply that opened it (the machine keeps it for later reads), so reads do not
	// take that Apply's context; readTimeout bounds them.
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	data, err := f.d.src.ReadRange(ctx, f.id, start, end-start)
	if err != nil {
		return nil, fmt.Errorf("weavedrive: read %s [%d,%d): %w", f.id, start, end, err)
	}
	if int64(len(data)) != end-start {
		return nil, fmt.Errorf("weavedrive: read %s [%d,%d): got %d bytes", f.id, start, end, len(data))
	}
	for i := idx; i <= last; i++ {
		lo := (i - idx) * BlockSize
		f.d.cachePut(blockKey(f.id, i), data[lo:lo+f.blockLen(i)])
	}
	return data[:f.blockLen(idx)], nil
}

func (f *dataFile) blockLen(idx int64) int64 { return min(BlockSize, f.size-idx*BlockSize) }
