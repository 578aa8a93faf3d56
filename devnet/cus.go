package devnet

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/cu"
	"github.com/aogo/aogo/store/sqlite"
	"github.com/aogo/aogo/wallet"
	"github.com/aogo/aogo/weavedrive"
)

// MaxCUs is the most CUs a dev network runs (Config.CUs): each evaluates every message of every process it is
// asked about.
const MaxCUs = 16

// More CUs (Config.CUs > 1, `aogo dev --cus N`) so that result quorums (Compute-Quorum: k-of-n) can be tried on
// one machine. The first CU is the network's usual one, at /cu with DIR/cu and wallet cu.json; CU i (2…N) is
// served at /cu<i> with its own data dir DIR/cu<i> and its own wallet DIR/wallets/cu<i>.json, so each signs its
// attestations with its own key and counts as its own vote. The MU knows all of them, and every one is told of
// the SU's new slots. A process without a quorum still uses one CU (chosen by its id).

// extraCU is one CU beyond the first.
type extraCU struct {
	name string // "cu2", …
	url  string
	unit *cu.CU
}

// addCUs builds CUs 2…cfg.CUs beside the first; their stores join n.closers.
func (n *Network) addCUs(base string) error {
	if n.cfg.CUs > MaxCUs {
		return fmt.Errorf("devnet: %d CUs: at most %d", n.cfg.CUs, MaxCUs)
	}
	n.info.CUs = []string{n.info.CU}
	for i := 2; i <= n.cfg.CUs; i++ {
		name := "cu" + strconv.Itoa(i)
		w, err := LoadOrCreateWallet(filepath.Join(n.cfg.Dir, WalletsDir, name+".json"), wallet.ED25519)
		if err != nil {
			return fmt.Errorf("devnet: %w", err)
		}
		dir := filepath.Join(n.cfg.Dir, name)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("devnet: %w", err)
		}
		store, err := sqlite.OpenCU(filepath.Join(dir, "cu.db"))
		if err != nil {
			return fmt.Errorf("devnet: %s store: %w", name, err)
		}
		n.closers = append(n.closers, store)
		drive, err := weavedrive.ForGateway(n.gwc.BaseURL(), n.hc, filepath.Join(dir, "weavedrive"), weavedrive.DefaultCacheBytes)
		if err != nil {
			return fmt.Errorf("devnet: %s weavedrive: %w", name, err)
		}
		unit, err := cu.New(cu.Config{
			Wallet: w, WeaveDrive: drive, // each CU its own drive and cache: the CUs stay independent
			Scheduler: cu.FixedScheduler(client.NewSU(n.info.SU, n.hc)),
			Modules:   n.gwc, Blocks: gatewayBlocks{n.gwc}, Store: store,
			DataDir: dir, Logger: n.log.With("unit", name), OperatorToken: n.token,
			MaxCompute: n.cfg.MaxCompute, MaxDryRunCompute: n.cfg.MaxDryRunCompute, MaxMemory: n.cfg.MaxMemory, CompiledCache: n.cfg.compiledCache(),
			MemoryHash: n.cfg.MemoryHash,
		})
		if err != nil {
			return fmt.Errorf("devnet: %s: %w", name, err)
		}
		x := extraCU{name: name, url: base + "/" + name, unit: unit}
		n.extra = append(n.extra, x)
		n.info.CUs = append(n.info.CUs, x.url)
		mount(n.mux, "/"+name, unit.Handler())
	}
	return nil
}

// cuURLs are the URLs of every CU of the network, the first one first.
func (n *Network) cuURLs() []string {
	out := []string{n.info.CU}
	for _, x := range n.extra {
		out = append(out, x.url)
	}
	return out
}
