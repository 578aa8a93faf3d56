package cu

// Checkpoints on Arweave. A CU with an Archive publishes signed Checkpoint items of its processes to the gateway
// (at most every ArchiveEvery, and at shutdown), in the reference CU's format, so a reference CU could resume
// from them too: the data is the gzipped raw linear memory, the tags are the reference's (Type: Checkpoint,
// Process, Module, Nonce, Timestamp, Block-Height, Hash-Chain, Assignment, SHA-256 of the memory,
// Content-Encoding: gzip, Unit-Identifier …). Three tags of ours ride beside them, ignored by reference CUs:
// the glue state outside linear memory (Aogo-Host-State: without it a restored process's Date.now counter would
// restart, and results would differ from a CU that never stopped), the cron generator's position
// (Aogo-Cron-Cursor), and our memory hash (Aogo-Memory-Hash, checked after the restore). A process whose glue
// state does not fit a tag (files in MEMFS) is not published: a checkpoint that cannot reproduce the process
// exactly is worse than none.
//
// Trust. A CU that must load a process it has no local checkpoint of (a new CU, a process moved to it by a
// router, a lost disk) looks for that process's Checkpoint items signed by itself or by a key it was told to
// trust (TrustCheckpoints, the reference's PROCESS_CHECKPOINT_TRUSTED_OWNERS), newest nonce first, and restores
// the first one that checks out: the item verifies and is signed by a trusted key (the gateway's answers are
// not trusted: the owners filter is applied again to the signed item), its memory matches its SHA-256 tag and,
// when present, its memory hash. Anything else is ignored and the process replays from its log, which is always
// right, only slower. A trusted signer is trusted with the process's state: trust only keys you run.

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/gateway"
	"github.com/aogo/aogo/vm"
)

// CheckpointArchive is where Checkpoint items go and are found: a gateway (*gateway.Client implements it).
type CheckpointArchive interface {
	Upload(ctx context.Context, raw []byte) error
	Transactions(ctx context.Context, q gateway.TxQuery) (gateway.TxPage, error)
	Item(ctx context.Context, id string) ([]byte, error)
}

// Tags of ours on a Checkpoint item (see the package comment above).
const (
	TagHostState            = "Aogo-Host-State"
	TagCronCursor           = "Aogo-Cron-Cursor"
	TagCheckpointMemoryHash = "Aogo-Memory-Hash"
)

// maxHostStateTag bounds the glue state carried in a tag: ANS-104 tag values are at most 3,072 bytes.
const maxHostStateTag = 3072

// archiveCandidates is how many of the newest Checkpoint items a load tries before replaying.
const archiveCandidates = 3

// rawRestorer is a Machines that can start a machine from raw memory (the vm registry can).
type rawRestorer interface {
	RestoreRaw(format string, wasm []byte, opts vm.Options, memory, host []byte) (vm.Machine, error)
}

func (registry) RestoreRaw(format string, wasm []byte, opts vm.Options, memory, host []byte) (vm.Machine, error) {
	return vm.RestoreRaw(format, wasm, opts, memory, host)
}

// archiveJob is one Checkpoint item to build and upload: a machine of its own (a fork, or the process's
// machine itself at shutdown) and the tags describing its position.
type archiveJob struct {
	pid  string
	m    vm.Machine
	tags []dataitem.Tag
	own  bool // m is a fork: close it when done
}

// newUnitIdentifier is the reference's Unit-Identifier: a random UUID per CU start.
func newUnitIdentifier() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// archiveTags describes p's current position. Called with p.mu held.
func (c *CU) archiveTags(p *proc, host []byte) ([]dataitem.Tag, error) {
	nonce := strconv.FormatInt(p.chain.Nonce, 10)
	tags := []dataitem.Tag{
		{Name: ao.TagDataProtocol, Value: ao.DataProtocol},
		{Name: "Variant", Value: "ao.TN.1"},
		{Name: "Type", Value: "Checkpoint"},
		{Name: "Module", Value: p.mod.ID},
		{Name: "Process", Value: p.id},
		{Name: "Nonce", Value: nonce},
		{Name: "Timestamp", Value: strconv.FormatInt(p.lastTs, 10)},
		{Name: "Block-Height", Value: strconv.FormatInt(p.lastHeight, 10)},
		{Name: "Content-Type", Value: "application/octet-stream"},
		{Name: "Content-Encoding", Value: "gzip"},
		{Name: "Unit-Identifier", Value: c.unitID},
		{Name: "Ordinate", Value: nonce},
	}
	if p.chain.AssignmentID != "" {
		tags = append(tags, dataitem.Tag{Name: "Assignment", Value: p.chain.AssignmentID})
	}
	if p.chain.HashChain != "" {
		tags = append(tags, dataitem.Tag{Name: "Hash-Chain", Value: p.chain.HashChain})
	}
	if p.crons != nil && len(p.crons.block)+len(p.crons.time) > 0 {
		cur, err := json.Marshal(p.cron)
		if err != nil {
			return nil, err
		}
		tags = append(tags, dataitem.Tag{Name: TagCronCursor, Value: string(cur)})
	}
	mh := p.m.MemoryHash()
	tags = append(tags, dataitem.Tag{Name: TagHostState, Value: string(host)},
		dataitem.Tag{Name: TagCheckpointMemoryHash, Value: hex.EncodeToString(mh[:])})
	return tags, nil
}

// archive publishes p's state as a Checkpoint item when it is due: at most every ArchiveEvery (force: now, at
// shutdown, from p's own machine). Otherwise a fork is queued for the publisher, so p is not held while its
// memory is compressed and uploaded. Called with p.mu held, after a checkpoint (every evaluation saved).
func (c *CU) archive(ctx context.Context, p *proc, force bool) {
	if c.cfg.Archive == nil || c.cfg.ArchiveEvery <= 0 || p.m == nil || p.mod == nil || p.chain.Nonce < 0 {
		return
	}
	if p.archivedSeq == p.seq-1 || (!force && c.now().Sub(p.archivedAt) < c.cfg.ArchiveEvery) {
		return
	}
	hs, ok := p.m.(vm.HostStater)
	if !ok {
		return
	}
	host, err := hs.HostState(maxHostStateTag)
	if err != nil {
		if !p.archiveRefused {
			c.log.Warn("process not published to Arweave: its state outside linear memory does not fit a Checkpoint item", "process", p.id, "err", err)
			p.archiveRefused = true
		}
		return
	}
	tags, err := c.archiveTags(p, host)
	if err != nil {
		c.log.Error("checkpoint item", "process", p.id, "err", err)
		return
	}
	p.archivedSeq, p.archivedAt = p.seq-1, c.now()
	if force {
		if err := c.publish(ctx, archiveJob{pid: p.id, m: p.m, tags: tags}); err != nil {
			c.log.Error("publish checkpoint", "process", p.id, "err", err)
		}
		return
	}
	fork, err := p.m.Fork(vm.ForkOptions{})
	if err != nil {
		c.log.Error("publish checkpoint: fork", "process", p.id, "err", err)
		return
	}
	select {
	case c.archiveQ <- archiveJob{pid: p.id, m: fork, tags: tags, own: true}:
	default:
		// The publisher is behind: this state is skipped, the next checkpoint will be published.
		fork.Close()
		p.archivedSeq = -1
	}
}

// publishLoop uploads queued Checkpoint items until ctx ends. Run owns it; what is still queued then is
// published by Close (publishQueued).
func (c *CU) publishLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-c.archiveQ:
			if err := c.publish(ctx, j); err != nil {
				c.log.Error("publish checkpoint", "process", j.pid, "err", err)
			}
		}
	}
}

// publishQueued publishes what waits in the queue, at shutdown (at most a minute each).
func (c *CU) publishQueued() {
	for {
		select {
		case j := <-c.archiveQ:
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			if err := c.publish(ctx, j); err != nil {
				c.log.Error("publish checkpoint", "process", j.pid, "err", err)
			}
			cancel()
		default:
			return
		}
	}
}

// publish builds, signs and uploads one Checkpoint item.
func (c *CU) publish(ctx context.Context, j archiveJob) error {
	start := time.Now()
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	sum := sha256.New()
	err := j.m.WriteMemory(io.MultiWriter(zw, sum))
	if j.own {
		j.m.Close()
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		c.metrics.archiveErrors.Add(1)
		return fmt.Errorf("checkpoint memory: %w", err)
	}
	tags := append(slices.Clone(j.tags), dataitem.Tag{Name: "SHA-256", Value: hex.EncodeToString(sum.Sum(nil))})
	it := &dataitem.Item{Tags: tags, Data: gz.Bytes()}
	if err := it.Sign(c.cfg.Wallet); err != nil {
		c.metrics.archiveErrors.Add(1)
		return err
	}
	raw, err := it.Bytes()
	if err == nil {
		err = c.cfg.Archive.Upload(ctx, raw)
	}
	if err != nil {
		c.metrics.archiveErrors.Add(1)
		return fmt.Errorf("upload checkpoint: %w", err)
	}
	c.metrics.archived.Add(1)
	c.log.Info("checkpoint published", "process", j.pid, "item", it.ID(), "bytes", len(raw), "took", time.Since(start))
	return nil
}

// errNoArchived says no usable Checkpoint item was found: the process replays.
var errNoArchived = errors.New("no trusted checkpoint")

// restoreArchived restores p from the newest Checkpoint item a trusted key signed before slot toNonce (-1: any),
// as the reference CU picks one. Called with p.mu held, its module and options loaded.
//
// Results of the slots a restored checkpoint covers are not on this CU: asked for one later, it answers 404, as
// the reference CU does. The MU asks for the result of a message it has just sent, which is never covered.
func (c *CU) restoreArchived(ctx context.Context, p *proc, toNonce int64) error {
	rr, ok := c.machines.(rawRestorer)
	if !ok || c.cfg.Archive == nil {
		return errNoArchived
	}
	owners := append([]string{c.address}, c.cfg.TrustCheckpoints...)
	page, err := c.cfg.Archive.Transactions(ctx, gateway.TxQuery{Owners: owners, First: 50, Sort: gateway.SortHeightDesc,
		Tags: []gateway.TagFilter{{Name: "Process", Values: []string{p.id}}, {Name: "Type", Values: []string{"Checkpoint"}},
			{Name: ao.TagDataProtocol, Values: []string{ao.DataProtocol}}}})
	if err != nil {
		return fmt.Errorf("find checkpoints: %w", err)
	}
	type cand struct {
		id    string
		nonce int64
	}
	var cands []cand
	for _, e := range page.Edges {
		n := e.Node
		if !slices.Contains(owners, n.Owner.Address) || tagOf(n.Tags, "Module") != p.mod.ID {
			continue
		}
		nonce, err := strconv.ParseInt(tagOf(n.Tags, "Nonce"), 10, 64)
		if err != nil || nonce < 0 || (toNonce >= 0 && nonce >= toNonce) {
			continue
		}
		cands = append(cands, cand{n.ID, nonce})
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].nonce > cands[j].nonce })
	for i, cd := range cands {
		if i == archiveCandidates {
			break
		}
		err := c.restoreItem(ctx, p, rr, cd.id, owners, toNonce)
		if err == nil {
			c.metrics.archiveRestores.Add(1)
			c.log.Info("process restored from a Checkpoint item", "process", p.id, "item", cd.id, "nonce", p.chain.Nonce)
			return nil
		}
		c.log.Warn("checkpoint item unusable", "process", p.id, "item", cd.id, "err", err)
	}
	return errNoArchived
}

func tagOf(tags []dataitem.Tag, name string) string {
	for _, t := range tags {
		if t.Name == name {
			return t.Value
		}
	}
	return ""
}

// restoreItem checks Checkpoint item id and restores p from it.
func (c *CU) restoreItem(ctx context.Context, p *proc, rr rawRestorer, id string, owners []string, toNonce int64) error {
	raw, err := c.cfg.Archive.Item(ctx, id)
	if err != nil {
		return err
	}
	it, err := dataitem.Decode(raw)
	if err != nil {
		return err
	}
	if err := it.Verify(); err != nil || it.ID() != id {
		return fmt.Errorf("item does not verify as %s", id)
	}
	signer := ownerAddressBytes(it.Owner)
	if !slices.Contains(owners, signer) {
		return fmt.Errorf("signed by %s, not a trusted key", signer)
	}
	get := func(name string) string { v, _ := dataitem.Get(it.Tags, name); return v }
	if get("Type") != "Checkpoint" || get("Process") != p.id || get("Module") != p.mod.ID {
		return errors.New("not a Checkpoint of this process and module")
	}
	if enc := get("Content-Encoding"); enc != "gzip" {
		return fmt.Errorf("Content-Encoding %q, want gzip", enc)
	}
	nums := map[string]int64{}
	for _, name := range []string{"Nonce", "Timestamp", "Block-Height"} {
		n, err := strconv.ParseInt(get(name), 10, 64)
		if err != nil {
			return fmt.Errorf("tag %s: %w", name, err)
		}
		nums[name] = n
	}
	if nums["Nonce"] < 0 || (toNonce >= 0 && nums["Nonce"] >= toNonce) {
		return fmt.Errorf("Nonce %d is not before slot %d", nums["Nonce"], toNonce)
	}
	zr, err := gzip.NewReader(bytes.NewReader(it.Data))
	if err != nil {
		return err
	}
	mem, err := io.ReadAll(io.LimitReader(zr, int64(c.cfg.MaxMemory)+1))
	if err != nil {
		return fmt.Errorf("memory: %w", err)
	}
	if uint64(len(mem)) > c.cfg.MaxMemory {
		return fmt.Errorf("memory larger than this CU's maximum %d", c.cfg.MaxMemory)
	}
	if sum := sha256.Sum256(mem); !hexEqual(get("SHA-256"), sum[:]) {
		return errors.New("memory does not match its SHA-256 tag")
	}
	var host []byte
	if h, ok := dataitem.Get(it.Tags, TagHostState); ok {
		host = []byte(h)
	}
	m, err := rr.RestoreRaw(p.mod.Format, p.mod.Wasm, p.opts, mem, host)
	if err != nil {
		return err
	}
	if want, ok := dataitem.Get(it.Tags, TagCheckpointMemoryHash); ok {
		if h := m.MemoryHash(); !hexEqual(want, h[:]) {
			m.Close()
			return fmt.Errorf("restored memory hash %x, item says %s", h, want)
		}
	}
	var cron cronCursor
	if cur, ok := dataitem.Get(it.Tags, TagCronCursor); ok {
		if err := json.Unmarshal([]byte(cur), &cron); err != nil {
			m.Close()
			return fmt.Errorf("cron cursor: %w", err)
		}
	} else {
		cron.resetAt(nums["Timestamp"], nums["Block-Height"], nums["Nonce"])
	}
	p.m = m
	p.chain = chainState{Nonce: nums["Nonce"], HashChain: get("Hash-Chain"), AssignmentID: get("Assignment")}
	// Evaluations are numbered from here on this CU; no local checkpoint holds this state yet.
	p.seq, p.cpSeq = nums["Nonce"]+1, -1
	p.archivedSeq, p.archivedAt = p.seq-1, c.now()
	p.cron = cron
	p.lastTs, p.lastHeight = nums["Timestamp"], nums["Block-Height"]
	p.memSize.Store(m.MemorySize())
	return nil
}

func hexEqual(s string, b []byte) bool {
	d, err := hex.DecodeString(s)
	return err == nil && bytes.Equal(d, b)
}
