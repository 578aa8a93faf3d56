package devnet

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/aogo/aogo/explorer"
	"github.com/aogo/aogo/store/sqlite"
)

// addExplorer builds the web explorer (GET /explorer/) over the network's own stores: the SU's log, the first
// CU's results and the MU's crank links, with its index in DIR/explorer. The SU's commit hook feeds it.
func (n *Network) addExplorer(suStore explorer.Log, cuStore explorer.Results, muStore explorer.Links) error {
	dir := filepath.Join(n.cfg.Dir, "explorer")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("devnet: %w", err)
	}
	idx, err := sqlite.OpenExplorer(filepath.Join(dir, "index.db"))
	if err != nil {
		return fmt.Errorf("devnet: %w", err)
	}
	n.closers = append(n.closers, idx)
	n.ex, err = explorer.New(explorer.Config{
		Log: suStore, Index: idx, Results: cuStore, Links: muStore, Items: n.gwc, Logger: n.log.With("unit", "explorer"),
	})
	if err != nil {
		return fmt.Errorf("devnet: %w", err)
	}
	mount(n.mux, "/explorer", n.ex.Handler())
	return nil
}

// ExplorerURL is the address of the network's web explorer.
func (n *Network) ExplorerURL() string { return n.URL() + "/explorer/" }
