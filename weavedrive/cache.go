package weavedrive

import (
	"container/list"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// Cache is a bounded on-disk cache of immutable blobs (blocks of Arweave data, transaction headers),
// shared by every process of a CU. It holds at most Max bytes; the least recently used blobs go first.
// Only what the gateway served is stored (never a "not available"), so the cache cannot hide data
// admitted later. Safe for concurrent use.
type Cache struct {
	dir string
	max int64

	mu    sync.Mutex
	size  int64
	lru   *list.List // front: most recent; values *cacheEntry
	index map[string]*list.Element
}

type cacheEntry struct {
	key  string
	size int64
}

// OpenCache opens (creating) the cache in dir, bounded to max bytes; blobs left by an earlier run are
// kept (oldest first to go) up to the bound.
func OpenCache(dir string, max int64) (*Cache, error) {
	if max <= 0 {
		return nil, fmt.Errorf("weavedrive cache: bound must be positive, got %d", max)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("weavedrive cache: %w", err)
	}
	c := &Cache{dir: dir, max: max, lru: list.New(), index: map[string]*list.Element{}}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("weavedrive cache: %w", err)
	}
	type old struct {
		key  string
		size int64
		mod  int64
	}
	var olds []old
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".tmp") {
			os.Remove(filepath.Join(dir, e.Name()))
			continue
		}
		if !validKey(e.Name()) || !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		olds = append(olds, old{e.Name(), info.Size(), info.ModTime().UnixNano()})
	}
	sort.Slice(olds, func(i, j int) bool { return olds[i].mod > olds[j].mod })
	for _, o := range olds {
		c.index[o.key] = c.lru.PushBack(&cacheEntry{o.key, o.size})
		c.size += o.size
	}
	c.mu.Lock()
	c.evictLocked()
	c.mu.Unlock()
	return c, nil
}

// validKey accepts the keys the drive makes: base64url characters, '.', '-' and '_' (no path
// separators, no leading dot).
func validKey(k string) bool {
	if k == "" || len(k) > 200 || k[0] == '.' {
		return false
	}
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// Get returns the blob stored under key.
func (c *Cache) Get(key string) ([]byte, bool) {
	c.mu.Lock()
	el, ok := c.index[key]
	if ok {
		c.lru.MoveToFront(el)
	}
	c.mu.Unlock()
	if !ok {
		return nil, false
	}
	b, err := os.ReadFile(filepath.Join(c.dir, key))
	if err != nil {
		c.mu.Lock()
		if el, ok := c.index[key]; ok {
			c.removeLocked(el)
		}
		c.mu.Unlock()
		return nil, false
	}
	return b, true
}

// Put stores b under key (a blob larger than the bound is not stored).
func (c *Cache) Put(key string, b []byte) error {
	if !validKey(key) {
		return fmt.Errorf("weavedrive cache: bad key %q", key)
	}
	if int64(len(b)) > c.max {
		return nil
	}
	f, err := os.CreateTemp(c.dir, ".tmp")
	if err != nil {
		return fmt.Errorf("weavedrive cache: %w", err)
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(c.dir, key))
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("weavedrive cache: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.index[key]; ok {
		e := el.Value.(*cacheEntry)
		c.size += int64(len(b)) - e.size
		e.size = int64(len(b))
		c.lru.MoveToFront(el)
	} else {
		c.index[key] = c.lru.PushFront(&cacheEntry{key, int64(len(b))})
		c.size += int64(len(b))
	}
	c.evictLocked()
	return nil
}

// Size is the bytes held now (at most the bound).
func (c *Cache) Size() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.size
}

func (c *Cache) evictLocked() {
	for c.size > c.max {
		el := c.lru.Back()
		if el == nil {
			return
		}
		c.removeLocked(el)
	}
}

func (c *Cache) removeLocked(el *list.Element) {
	e := el.Value.(*cacheEntry)
	c.lru.Remove(el)
	delete(c.index, e.key)
	c.size -= e.size
	if err := os.Remove(filepath.Join(c.dir, e.key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		// The file stays on disk but out of the index; the next OpenCache counts it again.
		return
	}
}
