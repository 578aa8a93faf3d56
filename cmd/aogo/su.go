package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/aogo/aogo/explorer"
	"github.com/aogo/aogo/store/postgres"
	"github.com/aogo/aogo/store/sqlite"
	"github.com/aogo/aogo/su"
)

func init() {
	register("su", "run a Scheduler Unit", runSU)
}

// runSU is `aogo su`: a Scheduler Unit serving the reference SU's HTTP API.
func runSU(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("su", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", envOr("AOGO_SU_LISTEN", "127.0.0.1:9000"), "listen `ADDR` (env AOGO_SU_LISTEN)")
	dataDir := fs.String("data", envOr("AOGO_SU_DATA", "su-data"), "data `DIR` for the SQLite store (env AOGO_SU_DATA)")
	walletPath := fs.String("wallet", envOr("AOGO_SU_WALLET", ""), "wallet JWK `FILE` (RSA or ed25519); empty: DIR/su-wallet.json, an ed25519 key made on first start (env AOGO_SU_WALLET)")
	storeKind := fs.String("store", envOr("AOGO_SU_STORE", "sqlite"), "store: sqlite, or a postgres:// `DSN` (env AOGO_SU_STORE)")
	gatewayURL := fs.String("gateway", envOr("AOGO_GATEWAY", ""), "gateway `URL` for uploads, block height and assigned messages: aogo's, or an Arweave node such as arlocal (uploads then need an RSA --wallet); empty: none (env AOGO_GATEWAY)")
	publicURL := fs.String("url", envOr("AOGO_SU_URL", ""), "public `URL` published in the Scheduler-Location (default http://ADDR) (env AOGO_SU_URL)")
	maxBody := fs.Int64("max-body", su.DefaultMaxBody, "largest item in `BYTES`")
	uploadBatch := fs.Int("upload-batch", 64, "most items per upload, sent as a binary bundle; 1 for a gateway that takes single items")
	syncMode := syncFlag(fs, "su")
	withExplorer := fs.Bool("explorer", false, "serve the web explorer of this SU's log at /explorer/ (its index in DIR/explorer.db)")
	sf := addServeFlags(fs, "su")
	fail, code, ok := parseUnitFlags(fs, args, "usage: aogo su [--listen 127.0.0.1:9000] [--data su-data] [--wallet FILE] [--store sqlite|postgres://…] [--gateway URL] [--url PUBLIC-URL] [--max-body BYTES] [--sync full|normal] [--explorer]", stderr)
	if !ok {
		return code
	}
	w, log, unlock, err := unitSetup("su", *walletPath, *dataDir, stderr)
	if err != nil {
		return fail("%v", err)
	}
	defer unlock()

	var store su.Store
	switch {
	case *storeKind == "sqlite":
		sync, serr := parseSync(*syncMode)
		if serr != nil {
			return fail("%v", serr)
		}
		store, err = sqlite.OpenSU(filepath.Join(*dataDir, "su.db"), sqlite.WithSync(sync))
	case strings.HasPrefix(*storeKind, "postgres://"), strings.HasPrefix(*storeKind, "postgresql://"):
		if *syncMode != "full" {
			return fail("--sync is the SQLite store's; a PostgreSQL server decides with its synchronous_commit")
		}
		store, err = postgres.OpenSU(ctx, *storeKind)
	default:
		return fail("--store %q: want sqlite or a postgres:// DSN", *storeKind)
	}
	if err != nil {
		return fail("%v", err)
	}
	defer store.Close()

	ln, err := listenTCP(*listen)
	if err != nil {
		return fail("%v", err)
	}
	token, err := sf.operatorToken(*dataDir, log)
	if err != nil {
		ln.Close()
		return fail("%v", err)
	}
	cfg := su.Config{Wallet: w, Store: store, MaxBody: *maxBody, UploadBatch: *uploadBatch, Logger: log, URL: *publicURL, OperatorToken: token}
	if cfg.URL == "" {
		cfg.URL = "http://" + ln.Addr().String()
	}
	var items explorer.Items // what the explorer shows of items the SU does not hold
	if *gatewayURL != "" {
		gw, err := uploadGateway(ctx, *gatewayURL, &http.Client{Timeout: time.Minute}, w)
		if err != nil {
			ln.Close()
			return fail("%v", err)
		}
		cfg.Uploader, cfg.Heights, cfg.Messages = gw, gw, gw
		items = gw
	}
	var ex *unitExplorer
	if *withExplorer {
		excfg := explorer.Config{Log: store, Items: items, Logger: log.With("unit", "explorer")}
		if ex, err = openExplorer(*dataDir, excfg); err != nil {
			ln.Close()
			return fail("%v", err)
		}
		defer ex.Close()
		cfg.OnCommit = func(pids []string) {
			for _, pid := range pids {
				ex.ex.Notify(pid)
			}
		}
	}
	unit, err := su.New(cfg)
	if err != nil {
		ln.Close()
		return fail("%v", err)
	}
	defer unit.Close()
	handler, runUnit := unit.Handler(), unit.Run
	if ex != nil {
		handler, runUnit = ex.wrap(handler, runUnit)
	}

	fmt.Fprintf(stdout, "aogo su: listening on %s address %s\n", ln.Addr(), unit.Address())
	log.Info("su started", "listen", ln.Addr().String(), "address", unit.Address(), "gateway", *gatewayURL)
	return serveUnit(ctx, ln, handler, runUnit, sf, 10*time.Second, log)
}
