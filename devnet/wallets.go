package devnet

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aogo/aogo/wallet"
)

// Wallet files under the data directory, made on first start and kept: a restart is the same network.
const (
	WalletsDir = "wallets"
	// UserWallet is the key the client verbs (aogo spawn, send, …) sign with by default.
	UserWallet = "user.json"
)

// LoadOrCreateWallet loads the JWK at path, or generates a key of kind, saves it there (mode 0600) and
// returns it.
func LoadOrCreateWallet(path, kind string) (*wallet.Wallet, error) {
	w, err := wallet.Load(path)
	if err == nil {
		return w, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("wallet %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("wallet %s: %w", path, err)
	}
	if w, err = wallet.Generate(kind); err != nil {
		return nil, fmt.Errorf("wallet %s: %w", path, err)
	}
	// Write to a temporary name first so a crash never leaves a half-written key that later fails to load.
	tmp := path + ".tmp"
	if err := w.Save(tmp); err != nil {
		return nil, fmt.Errorf("wallet %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("wallet %s: %w", path, err)
	}
	return w, nil
}
