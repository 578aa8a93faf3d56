package mu

import (
	"context"
	"fmt"
	"sync"

	"github.com/aogo/aogo/ao"
)

// A Process item names its Module by id. A module that does not exist used to be found out only by the CU,
// which answered 500 to every result request, and the MU retried each one ten times before parking it. The
// MU now asks the gateway when the Process is posted: a user's POST / is refused with 400 naming the module,
// and a spawn from an outbox is parked with that reason at once.

// maxKnownModules bounds the cache of modules found on the gateway (an item's tags never change).
const maxKnownModules = 4096

// modules remembers module ids the gateway confirmed.
type modules struct {
	mu    sync.Mutex
	known map[string]struct{}
}

// checkModule makes sure module names a Module item on the gateway. It is a permanent error when the gateway
// has no such item or the item is not a Module, a retryable one when the gateway could not say. Without a
// gateway nothing can be checked and every module is taken as it is.
func (m *MU) checkModule(ctx context.Context, module string) error {
	if m.cfg.Gateway == nil {
		return nil
	}
	m.mods.mu.Lock()
	_, ok := m.mods.known[module]
	m.mods.mu.Unlock()
	if ok {
		return nil
	}
	tags, _, err := m.cfg.Gateway.Tags(ctx, module)
	if err != nil {
		if isNotFound(err) {
			return permanent("module %s not found on the gateway", module)
		}
		return fmt.Errorf("look up module %s on the gateway: %w", module, err)
	}
	if typ := ao.TypeOf(tags); typ != ao.TypeModule {
		return permanent("module %s is not a Module item (its Type is %q)", module, typ)
	}
	m.mods.mu.Lock()
	if m.mods.known == nil || len(m.mods.known) >= maxKnownModules {
		m.mods.known = map[string]struct{}{}
	}
	m.mods.known[module] = struct{}{}
	m.mods.mu.Unlock()
	return nil
}
