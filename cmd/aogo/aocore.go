package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/aogo/aogo/aocore"
	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/httpsig"
	"github.com/aogo/aogo/wallet"
)

func init() {
	register("aocore", "serve the AO-Core (HyperBEAM, aoconnect MODE 'mainnet') routes over an SU, a CU and an MU", runAOCore)
}

// runAOCore is `aogo aocore`: package aocore's router as its own stateless unit in front of production units,
// so aoconnect's mainnet mode and today's aos can use a network whose units run apart (aogo dev serves the
// same router at its root).
func runAOCore(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("aocore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", envOr("AOGO_AOCORE_LISTEN", "127.0.0.1:8734"), "listen `ADDR` (env AOGO_AOCORE_LISTEN)")
	suURL := fs.String("su", envOr("AOGO_AOCORE_SU", ""), "the SU's `URL`: processes are scheduled there; its address is the node's (env AOGO_AOCORE_SU)")
	cuURL := fs.String("cu", envOr("AOGO_AOCORE_CU", ""), "the CU's `URL`: results and dry-runs (env AOGO_AOCORE_CU)")
	muURL := fs.String("mu", envOr("AOGO_AOCORE_MU", ""), "the MU's `URL`: pushes are handed to it, which cranks their outboxes (env AOGO_AOCORE_MU)")
	scheduler := fs.String("scheduler", envOr("AOGO_AOCORE_SCHEDULER", ""), "the SU's wallet `ADDRESS` (GET /~meta@1.0/info/address); empty: asked of the SU at start (env AOGO_AOCORE_SCHEDULER)")
	walletPath := fs.String("wallet", envOr("AOGO_AOCORE_WALLET", ""), "wallet JWK `FILE` that signs answers asked for in httpsig@1.0 (HyperBEAM's clients expect RSA); empty: an ed25519 key made at start (env AOGO_AOCORE_WALLET)")
	sf := addServeFlags(fs, "")
	fail, code, ok := parseUnitFlags(fs, args, "usage: aogo aocore --su URL --cu URL --mu URL [--listen 127.0.0.1:8734] [--scheduler ADDRESS]", stderr)
	if !ok {
		return code
	}
	if *suURL == "" || *cuURL == "" || *muURL == "" {
		return fail("--su, --cu and --mu are all required")
	}
	log := slog.New(slog.NewTextHandler(stderr, nil)).With("unit", "aocore")
	hc := &http.Client{Timeout: 2 * time.Minute}
	su := client.NewSU(*suURL, hc)
	if *scheduler == "" {
		ictx, cancel := context.WithTimeout(ctx, 10*time.Second)
		info, err := su.Info(ictx)
		cancel()
		if err != nil {
			return fail("ask the SU %s for its address (or give --scheduler): %v", *suURL, err)
		}
		*scheduler = info.Address
	}
	mu := client.NewMU(*muURL, hc)
	info := map[string]string{"su": strings.TrimRight(*suURL, "/"), "cu": strings.TrimRight(*cuURL, "/"), "mu": strings.TrimRight(*muURL, "/")}
	ictx, cancel := context.WithTimeout(ctx, 10*time.Second)
	if a, err := mu.Address(ictx); err == nil {
		info["authority"] = a // spawn with it as Authority to trust what the MU pushes
	} else {
		log.Warn("the MU did not say its address; GET /~meta@1.0/info will not show the authority", "err", err)
	}
	cancel()
	var w *wallet.Wallet
	var err error
	if *walletPath != "" {
		w, err = wallet.Load(*walletPath)
	} else if w, err = wallet.Generate(wallet.ED25519); err == nil {
		log.Info("answers are signed with a key made for this start; give --wallet to sign as the node", "address", w.Address())
	}
	if err != nil {
		return fail("%v", err)
	}
	nodeKey, err := httpsig.WalletKey(w)
	if err != nil {
		return fail("%v", err)
	}
	router, err := aocore.New(aocore.Config{
		Verifier: httpsig.Verifier{}, Signer: httpsig.ResponseSigner{Key: nodeKey},
		SU: su, CU: client.NewCU(*cuURL, hc), MU: mu, SchedulerAddress: *scheduler,
		Info:   info,
		Logger: log,
	})
	if err != nil {
		return fail("%v", err)
	}
	ln, err := listenTCP(*listen)
	if err != nil {
		return fail("%v", err)
	}
	fmt.Fprintf(stdout, "aogo aocore: listening on %s, scheduler %s\n", ln.Addr(), *scheduler)
	log.Info("aocore started", "listen", ln.Addr().String(), "su", *suURL, "cu", *cuURL, "mu", *muURL, "scheduler", *scheduler)
	return serveUnit(ctx, ln, router, nil, sf, 10*time.Second, log)
}
