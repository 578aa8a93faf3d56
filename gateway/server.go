package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aogo/aogo/internal/jsonmux"
)

// Config configures an embedded gateway.
type Config struct {
	// Dir holds the SQLite database and the large items' files. Required.
	Dir string
	// BlockTime is the simulated time between blocks; default 10 s.
	BlockTime time.Duration
	// StartHeight is the height of the first block; default 1 (some tools treat height 0 as absent).
	StartHeight uint64
	// Now is the clock; default time.Now. Tests inject their own.
	Now func() time.Time
	// MaxBodySize bounds an upload; default 256 MiB. (A GraphQL request is bounded to 1 MiB.)
	MaxBodySize int64
	// MaxBodyMemory bounds the request bodies held in memory at once, all requests together; a request waits
	// up to 10 s for room and is then refused with 503. Default (and least) MaxBodySize.
	MaxBodyMemory int64
	// InlineLimit is the size past which an item's bytes live in a file instead of the database; default 256 KiB.
	InlineLimit int
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Server is the embedded gateway: an http.Handler over its store and simulated chain. It runs no goroutines
// of its own; Close releases the store.
type Server struct {
	cfg    Config
	limits *limits
	store  *store
	chain  *chain
	mux    *http.ServeMux
	log    *slog.Logger
}

// Open opens (creating if needed) the gateway's store in cfg.Dir. The genesis time of the simulated chain is
// stored on first open, so heights keep advancing across restarts.
func Open(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Dir == "" {
		return nil, errors.New("gateway: Config.Dir is required")
	}
	if cfg.BlockTime <= 0 {
		cfg.BlockTime = 10 * time.Second
	}
	if cfg.StartHeight == 0 {
		cfg.StartHeight = 1
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxBodySize <= 0 {
		cfg.MaxBodySize = 256 << 20
	}
	if cfg.MaxBodyMemory < cfg.MaxBodySize {
		cfg.MaxBodyMemory = cfg.MaxBodySize
	}
	if cfg.InlineLimit <= 0 {
		cfg.InlineLimit = 256 << 10
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	st, err := openStore(cfg.Dir, cfg.InlineLimit)
	if err != nil {
		return nil, err
	}
	genesis, err := st.genesis(ctx, cfg.Now())
	if err != nil {
		st.close()
		return nil, err
	}
	s := &Server{
		cfg:    cfg,
		limits: newLimits(cfg),
		store:  st,
		chain:  &chain{genesis: genesis, interval: cfg.BlockTime, start: cfg.StartHeight, now: cfg.Now},
		log:    cfg.Logger,
	}
	s.routes()
	return s, nil
}

// Close closes the store.
func (s *Server) Close() error { return s.store.close() }

// Height is the current simulated block height.
func (s *Server) Height() uint64 { return s.chain.height() }

// ServeHTTP serves the gateway's routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	jsonmux.Errors(s.mux).ServeHTTP(w, r)
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("POST /tx", s.handleUpload)
	m.HandleFunc("POST /tx/{currency}", s.handleUpload) // bundler-style upload path (e.g. /tx/arweave)
	m.HandleFunc("GET /tx/{id}", s.handleTx)
	m.HandleFunc("GET /tx/{id}/status", s.handleStatus)
	m.HandleFunc("GET /tx/{id}/data", s.handleRaw)
	m.HandleFunc("GET /raw/{id}", s.handleRaw)
	m.HandleFunc("GET /item/{id}", s.handleItem)
	m.HandleFunc("GET /info", s.handleInfo)
	m.HandleFunc("GET /block/height/{h}", s.handleBlockHeight)
	m.HandleFunc("GET /block/hash/{id}", s.handleBlockHash)
	m.HandleFunc("POST /graphql", s.handleGraphQL)
	m.HandleFunc("GET /graphql", s.handleGraphQL)
	m.HandleFunc("GET /{id}", s.handleRaw)
	m.HandleFunc("GET /{$}", s.handleInfo)
	s.mux = m
}

// Put stores an upload (a signed item, a bundle item, or a bare bundle) as POST /tx does, for in-process
// callers. It returns the result for the first item (the uploaded one).
func (s *Server) Put(ctx context.Context, body []byte) (UploadResult, error) {
	items, err := unpack(body)
	if err != nil {
		return UploadResult{}, err
	}
	now := s.cfg.Now()
	h := s.chain.heightAt(now)
	for i := range items {
		items[i].row.Height = h
		items[i].row.Timestamp = now.UnixMilli()
	}
	heights, err := s.store.put(ctx, items)
	if err != nil {
		return UploadResult{}, fmt.Errorf("gateway: store upload: %w", err)
	}
	return UploadResult{ID: items[0].row.ID, Timestamp: now.UnixMilli(), BlockHeight: heights[0]}, nil
}
