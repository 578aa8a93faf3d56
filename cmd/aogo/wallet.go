package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/aogo/aogo/wallet"
)

func init() {
	register("wallet", "make and read key files: wallet new [--type rsa|ed25519|ethereum] -o FILE | wallet address FILE", runWallet)
}

func runWallet(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: aogo wallet new [--type rsa|ed25519|ethereum] -o FILE | aogo wallet address FILE")
		return 2
	}
	switch args[0] {
	case "new":
		return walletNew(args[1:], stdout, stderr)
	case "address":
		return walletAddress(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "aogo wallet: unknown verb %q (want new or address)\n", args[0])
	return 2
}

func walletNew(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("aogo wallet new", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kind := fs.String("type", envOr("AOGO_WALLET_TYPE", wallet.RSA), "key type: rsa (Arweave RSA-4096), ed25519 or ethereum")
	out := fs.String("o", "", "key file to write (must not exist)")
	rest, err := parseFlagsAnywhere(fs, args)
	if err != nil {
		return 2
	}
	if *out == "" || len(rest) != 0 {
		fmt.Fprintln(stderr, "usage: aogo wallet new [--type rsa|ed25519|ethereum] -o FILE")
		return 2
	}
	switch *kind {
	case wallet.RSA, wallet.ED25519, wallet.Ethereum:
	default:
		fmt.Fprintf(stderr, "aogo wallet new: unknown type %q (want rsa, ed25519 or ethereum)\n", *kind)
		return 2
	}
	w, err := wallet.Generate(*kind)
	if err != nil {
		fmt.Fprintln(stderr, "aogo wallet new:", err)
		return 1
	}
	jwk, err := w.JWK()
	if err != nil {
		fmt.Fprintln(stderr, "aogo wallet new:", err)
		return 1
	}
	// Never overwrite: a key file lost to a typo is money lost.
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			fmt.Fprintf(stderr, "aogo wallet new: %s already exists\n", *out)
		} else {
			fmt.Fprintln(stderr, "aogo wallet new:", err)
		}
		return 1
	}
	_, err = f.Write(append(jwk, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintln(stderr, "aogo wallet new: write key:", err)
		return 1
	}
	fmt.Fprintln(stdout, w.Address())
	return 0
}

func walletAddress(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: aogo wallet address FILE")
		return 2
	}
	w, err := wallet.Load(args[0])
	if err != nil {
		fmt.Fprintln(stderr, "aogo wallet address:", err)
		return 1
	}
	fmt.Fprintln(stdout, w.Address())
	return 0
}

// envOr is the value of the environment variable name, or def when it is unset or empty.
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// parseFlagsAnywhere parses fs over args allowing flags after positional arguments (aogo bundle pack A B -o
// OUT), and returns the positional arguments. "--" ends flag parsing.
func parseFlagsAnywhere(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
