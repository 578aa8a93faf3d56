package cu

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/internal/atomicfile"
)

// module is a loaded, verified Module item.
type module struct {
	ID     string
	Owner  string
	Tags   []dataitem.Tag
	Format string
	Wasm   []byte
}

// loadModule returns module id: from memory, else the on-disk cache (modules/<id>), else the ItemSource.
// Every copy is verified (signature, and id = SHA-256 of the signature) before use, so a corrupt cache file
// or a lying gateway cannot substitute a module.
func (c *CU) loadModule(ctx context.Context, id string) (*module, error) {
	c.modMu.Lock()
	defer c.modMu.Unlock()
	if m, ok := c.modules[id]; ok {
		return m, nil
	}
	if _, err := dataitem.DecodeB64(id); err != nil || len(id) != 43 {
		return nil, unprocessable("module id %q is not an item id", id)
	}
	path := filepath.Join(c.cfg.DataDir, "modules", id)
	raw, err := os.ReadFile(path)
	fromDisk := err == nil
	if !fromDisk {
		if raw, err = c.cfg.Modules.Item(ctx, id); err != nil {
			return nil, fmt.Errorf("fetch module %s: %w", id, err)
		}
	}
	m, err := parseModule(id, raw)
	if err != nil && fromDisk {
		// A bad cache file is refetched, not trusted.
		c.log.Warn("module cache file invalid; refetching", "module", id, "err", err)
		if raw, err = c.cfg.Modules.Item(ctx, id); err != nil {
			return nil, fmt.Errorf("fetch module %s: %w", id, err)
		}
		fromDisk = false
		m, err = parseModule(id, raw)
	}
	if err != nil {
		return nil, err
	}
	if !fromDisk {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("cache module %s: %w", id, err)
		}
		if err := atomicfile.Write(path, raw); err != nil {
			return nil, fmt.Errorf("cache module %s: %w", id, err)
		}
	}
	c.modules[id] = m
	return m, nil
}

func parseModule(id string, raw []byte) (*module, error) {
	it, err := dataitem.Decode(raw)
	if err != nil {
		return nil, unprocessable("module %s: %v", id, err)
	}
	if err := it.Verify(); err != nil {
		return nil, unprocessable("module %s: %v", id, err)
	}
	if it.ID() != id {
		return nil, unprocessable("module item is %s, asked for %s", it.ID(), id)
	}
	if ao.TypeOf(it.Tags) != ao.TypeModule {
		return nil, unprocessable("item %s is not an ao Module", id)
	}
	for _, name := range []string{ao.TagModuleFormat, ao.TagInputEncoding, ao.TagOutputEncoding} {
		if v, ok := it.Tag(name); !ok || v == "" {
			return nil, unprocessable("module %s has no %s tag", id, name)
		}
	}
	format, _ := it.Tag(ao.TagModuleFormat)
	return &module{ID: id, Owner: ownerAddressBytes(it.Owner), Tags: it.Tags, Format: format, Wasm: it.Data}, nil
}

func ownerAddressBytes(owner []byte) string {
	if len(owner) == 65 {
		return ethAddress(owner)
	}
	return dataitem.Address(owner)
}
