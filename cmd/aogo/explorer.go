package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"

	"github.com/aogo/aogo/explorer"
	"github.com/aogo/aogo/store/sqlite"
)

// unitExplorer is the web explorer a unit serves at /explorer/ when started with --explorer.
type unitExplorer struct {
	ex  *explorer.Explorer
	idx *sqlite.ExplorerIndex
}

// openExplorer builds an explorer with its index in DIR/explorer.db over cfg (whose Index it sets).
func openExplorer(dataDir string, cfg explorer.Config) (*unitExplorer, error) {
	idx, err := sqlite.OpenExplorer(filepath.Join(dataDir, "explorer.db"))
	if err != nil {
		return nil, fmt.Errorf("explorer: %w", err)
	}
	cfg.Index = idx
	ex, err := explorer.New(cfg)
	if err != nil {
		idx.Close()
		return nil, err
	}
	return &unitExplorer{ex: ex, idx: idx}, nil
}

func (u *unitExplorer) Close() error { return u.idx.Close() }

// wrap serves the explorer under /explorer/ beside the unit's handler h, and runs it beside the unit's run.
func (u *unitExplorer) wrap(h http.Handler, run func(context.Context) error) (http.Handler, func(context.Context) error) {
	mux := http.NewServeMux()
	mux.Handle("/explorer/", http.StripPrefix("/explorer", u.ex.Handler()))
	mux.Handle("/explorer", http.RedirectHandler("/explorer/", http.StatusMovedPermanently))
	mux.Handle("/", h)
	return mux, func(ctx context.Context) error {
		ctx, cancel := context.WithCancel(ctx)
		exDone := make(chan error, 1)
		go func() { exDone <- u.ex.Run(ctx) }()
		err := run(ctx)
		cancel()
		if exErr := <-exDone; err == nil {
			err = exErr
		}
		return err
	}
}
