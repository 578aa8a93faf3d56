package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/aogo/aogo/dataitem"

	"github.com/aogo/aogo/internal/jsonmux"
)

// DefaultMaxBody is the default bound of one upload (Config.MaxBodySize): 2 GiB, room for a model of a
// few billion parameters at 4 bits.
const DefaultMaxBody = 2 << 30

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
	// MaxBodySize bounds an upload; default 2 GiB. Uploads over 4 MiB (or of unknown length) are spooled to
	// disk under Dir/tmp, not held in memory (see upload.go). (A GraphQL request is bounded to 1 MiB.)
	MaxBodySize int64
	// MaxBodyMemory bounds the request bodies held in memory at once, all requests together; a request waits
	// up to 10 s for room and is then refused with 503. Default 64 MiB (at least 4 MiB).
	MaxBodyMemory int64
	// MaxSpoolBytes bounds the disk the uploads being received take at once under Dir/tmp, all together; an
	// upload waits up to 10 s for room and is then refused with 503. Default (and least) twice MaxBodySize.
	MaxSpoolBytes int64
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
	pace   pace // of spooled uploads (upload.go); tests shorten it
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
		cfg.MaxBodySize = DefaultMaxBody
	}
	if cfg.MaxBodyMemory <= 0 {
		cfg.MaxBodyMemory = 64 << 20
	}
	cfg.MaxBodyMemory = max(cfg.MaxBodyMemory, memBodyMax, maxGraphQLBody)
	cfg.MaxSpoolBytes = max(cfg.MaxSpoolBytes, 2*cfg.MaxBodySize, cfg.MaxBodySize+spoolStep)
	if cfg.InlineLimit <= 0 {
		cfg.InlineLimit = 256 << 10
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := cleanTmp(filepath.Join(cfg.Dir, "tmp")); err != nil {
		return nil, err
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
		pace:   defaultPace,
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
	return s.put(ctx, bytes.NewReader(body), int64(len(body)), nil, body)
}

// put stores the upload of size bytes read from r; spooled, when not nil, is the file r reads (a spooled
// upload that is one large item becomes that item's file); mem, when not nil, is the upload in memory (rows
// then alias it). Three passes over the upload, each holding one
// item header at a time: verify every item (a bad one anywhere refuses the whole upload, and nothing is
// written), write the large items' files, then insert every row in one transaction.
func (s *Server) put(ctx context.Context, r io.ReaderAt, size int64, spooled *os.File, mem []byte) (UploadResult, error) {
	if size == 0 {
		return UploadResult{}, invalid("empty body: POST a signed ANS-104 item (application/octet-stream)")
	}
	var first string
	limit := int64(s.cfg.InlineLimit)
	large := false
	verify := &walker{r: r, size: size, verify: true, visit: func(it *dataitem.Item, _, n, _ int64, _ string) error {
		if first == "" {
			first = it.ID()
		}
		large = large || n > limit
		return ctx.Err()
	}}
	if err := verify.walk(); err != nil {
		return UploadResult{}, err
	}
	if large {
		blobs := &walker{r: r, size: size, visit: func(it *dataitem.Item, off, n, _ int64, _ string) error {
			if n <= limit {
				return nil
			}
			if spooled != nil && off == 0 && n == size {
				return s.store.adoptBlob(it.ID(), spooled, size)
			}
			return s.store.writeBlob(it.ID(), s.tmpDir(), io.NewSectionReader(r, off, n), n)
		}}
		if err := blobs.walk(); err != nil {
			return UploadResult{}, fmt.Errorf("gateway: store upload: %w", err)
		}
	}
	now := s.cfg.Now()
	h := s.chain.heightAt(now)
	var height uint64
	err := s.store.put(ctx, func(insert insertFunc) error {
		rows := &walker{r: r, size: size, visit: func(it *dataitem.Item, off, n, hdr int64, parent string) error {
			row := rowOf(it, n, hdr, parent)
			row.Height, row.Timestamp = h, now.UnixMilli()
			var raw []byte
			if n <= limit && mem != nil {
				raw = mem[off : off+n]
			} else if n <= limit {
				raw = make([]byte, n)
				if err := readAt(r, raw, off); err != nil {
					return fmt.Errorf("read item %s: %w", row.ID, err)
				}
			}
			got, err := insert(ctx, row, raw)
			if row.ID == first && parent == "" && height == 0 {
				height = got
			}
			return err
		}}
		return rows.walk()
	})
	if err != nil {
		return UploadResult{}, fmt.Errorf("gateway: store upload: %w", err)
	}
	return UploadResult{ID: first, Timestamp: now.UnixMilli(), BlockHeight: height}, nil
}
