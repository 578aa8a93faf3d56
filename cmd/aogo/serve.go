package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/aogo/aogo/gateway"
	"github.com/aogo/aogo/internal/datadir"
	"github.com/aogo/aogo/internal/httpd"
	"github.com/aogo/aogo/store/sqlite"
	"github.com/aogo/aogo/wallet"
)

// unitSetup starts a unit's logger (to stderr), makes its data directory and takes its lock (one process per
// data dir; the unit calls unlock when it ends, and the kernel drops it if the process dies), then loads or
// makes its wallet (unitWallet): what every unit command does first.
func unitSetup(name, walletPath, dataDir string, stderr io.Writer) (w *wallet.Wallet, log *slog.Logger, unlock func(), err error) {
	log = slog.New(slog.NewTextHandler(stderr, nil))
	lock, err := datadir.Acquire(dataDir)
	if err != nil {
		return nil, nil, nil, err
	}
	if w, err = unitWallet(name, walletPath, dataDir, log); err != nil {
		lock.Close()
		return nil, nil, nil, err
	}
	return w, log, func() { lock.Close() }, nil
}

// listenTCP binds a unit's TCP address; a port in use gets a message that says what to do.
func listenTCP(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, listenError(addr, err)
	}
	return ln, nil
}

// listenError explains a failed listen on addr.
func listenError(addr string, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("address %s already in use; try --listen 127.0.0.1:0 or stop the other aogo", addr)
	}
	return fmt.Errorf("listen %s: %w", addr, err)
}

// unitWallet loads the wallet at path or, with no path, the ed25519 wallet a unit keeps in its data dir as
// NAME-wallet.json, made on first start (an ed25519 key signs in microseconds; pass --wallet for an Arweave JWK).
func unitWallet(name, path, dataDir string, log *slog.Logger) (*wallet.Wallet, error) {
	if path != "" {
		return wallet.Load(path)
	}
	path = filepath.Join(dataDir, name+"-wallet.json")
	if w, err := wallet.Load(path); err == nil {
		return w, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	w, err := wallet.Generate(wallet.ED25519)
	if err != nil {
		return nil, err
	}
	if err := w.Save(path); err != nil {
		return nil, err
	}
	log.Info("made a new ed25519 wallet", "unit", name, "path", path, "address", w.Address())
	return w, nil
}

// serveFlags are the flags of every serving command: the connection cap and, for the units with operator
// routes, the operator token's file.
type serveFlags struct {
	maxConns  *int
	tokenFile *string // nil for a command without operator routes (the gateway)
}

// addServeFlags registers --max-conns and, when unit is not "", --operator-token (env AOGO_<UNIT>_OPERATOR_TOKEN).
func addServeFlags(fs *flag.FlagSet, unit string) serveFlags {
	var sf serveFlags
	sf.maxConns = fs.Int("max-conns", httpd.DefaultLimits().MaxConns, "most connections open at once; more are closed when accepted (each holds tens of KiB until its timeouts free it)")
	if unit != "" {
		env := "AOGO_" + strings.ToUpper(unit) + "_OPERATOR_TOKEN"
		sf.tokenFile = fs.String("operator-token", envOr(env, ""), "`FILE` holding the token operator routes (/metrics, status, parked retry) require as \"Authorization: Bearer <token>\"; made with a random token if missing; empty: DIR/"+httpd.TokenFile+" (env "+env+")")
	}
	return sf
}

// operatorToken loads (or makes) the operator token from the --operator-token file, DIR/operator-token by
// default, and logs where it is.
func (sf serveFlags) operatorToken(dataDir string, log *slog.Logger) (string, error) {
	path := *sf.tokenFile
	if path == "" {
		path = filepath.Join(dataDir, httpd.TokenFile)
	}
	tok, err := httpd.LoadOrCreateToken(path)
	if err != nil {
		return "", err
	}
	log.Info("operator routes need the token in this file as \"Authorization: Bearer <token>\"", "operator_token_file", path)
	return tok, nil
}

// serveUnit serves h on ln and runs the unit's background loop run (nil for none) until ctx ends, the server
// fails, or run fails; then it shuts the server down, giving requests in flight up to grace, stops run and waits
// for it. It returns the process exit code.
// The server has the timeouts and connection cap of httpd.NewServer, and on a loopback address refuses
// requests naming other hosts (httpd.CheckHost).
func serveUnit(ctx context.Context, ln net.Listener, h http.Handler, run func(context.Context) error, sf serveFlags, grace time.Duration, log *slog.Logger) int {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	runErr := make(chan error, 1)
	if run != nil {
		go func() { runErr <- run(ctx) }()
	}
	srv := httpd.NewServer(httpd.CheckHost(h, ln.Addr()), httpd.Limits{MaxConns: *sf.maxConns}, log)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	code := 0
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		log.Error("http server stopped", "err", err)
		code = 1
	case err := <-runErr:
		if err != nil && !errors.Is(err, context.Canceled) {
			log.Error("unit stopped", "err", err)
			code = 1
		}
		runErr <- nil
	}
	sctx, scancel := context.WithTimeout(context.Background(), grace)
	defer scancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Error("shutdown", "err", err)
		code = 1
	}
	cancel()
	if run != nil {
		<-runErr
	}
	return code
}

// parseUnitFlags parses a unit command's flags, printing usage and the defaults for -h. The commands take no
// positional arguments. When ok is false the command returns code: 0 after -h, 2 for a flag error, 1 for a
// stray argument. fail prints "aogo NAME: message" and returns 1.
func parseUnitFlags(fs *flag.FlagSet, args []string, usage string, stderr io.Writer) (fail func(format string, a ...any) int, code int, ok bool) {
	fs.Usage = func() { printUsage(fs, usage, stderr) }
	fail = func(format string, a ...any) int {
		fmt.Fprintf(stderr, "aogo "+fs.Name()+": "+format+"\n", a...)
		return 1
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return fail, 0, false
		}
		return fail, 2, false
	}
	if fs.NArg() > 0 {
		return fail, fail("unexpected argument %q", fs.Arg(0)), false
	}
	return fail, 0, true
}

// uploadGateway is the gateway client of a unit that uploads (SU, MU): its wallet signs the base-layer
// transactions that carry uploads to an Arweave node. It refuses such a node when the wallet cannot sign them
// (uploads would retry forever); a gateway that does not answer within a few seconds is not refused: it may
// come up later, and uploads wait in their durable queue.
func uploadGateway(ctx context.Context, url string, hc *http.Client, w *wallet.Wallet) (*gateway.Client, error) {
	gw := gateway.NewClient(url, hc)
	gw.Signer = w
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := gw.CheckUploads(ctx); err != nil {
		return nil, fmt.Errorf("%w (give an RSA --wallet, e.g. from `aogo wallet new --type rsa`)", err)
	}
	return gw, nil
}

// syncFlag is --sync of the units with a SQLite store (su, mu): when a commit is durable (sqlite.Sync).
func syncFlag(fs *flag.FlagSet, unit string) *string {
	env := "AOGO_" + strings.ToUpper(unit) + "_SYNC"
	return fs.String("sync", envOr(env, "full"), "when a commit of the SQLite store is durable: full (fsync each commit: survives a power loss) or "+
		"normal (survives the unit's crash and kill -9, not an OS crash; an fsync less per message) (env "+env+")")
}

// parseSync reads a --sync value.
func parseSync(v string) (sqlite.Sync, error) {
	switch v {
	case "full":
		return sqlite.SyncFull, nil
	case "normal":
		return sqlite.SyncNormal, nil
	}
	return 0, fmt.Errorf("--sync %q: want full or normal", v)
}
