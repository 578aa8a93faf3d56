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
	if code, ok := groupArgs(args, walletUsage, stderr); !ok {
		return code
	}
	switch args[0] {
	case "new":
		return walletNew(args[1:], stdout, stderr)
	case "address":
		return walletAddress(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "aogo wallet: unknown verb %q\n%s\n", args[0], walletUsage)
	return 2
}

const walletUsage = `usage:
  aogo wallet new [--type rsa|ed25519|ethereum] -o FILE   write a new key file (default type rsa); prints its address
  aogo wallet address FILE                                print a key file's address`

func walletNew(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("wallet new", flag.ContinueOnError)
	kind := fs.String("type", envOr("AOGO_WALLET_TYPE", wallet.RSA), "key type: rsa (Arweave RSA-4096), ed25519 or ethereum (env AOGO_WALLET_TYPE)")
	out := fs.String("o", "", "key `FILE` to write (must not exist)")
	const usage = "usage: aogo wallet new [--type rsa|ed25519|ethereum] -o FILE"
	if _, code, ok := parseFileArgs(fs, args, 0, usage, stderr); !ok {
		return code
	}
	if *out == "" {
		fmt.Fprintln(stderr, "aogo wallet new: -o FILE is required")
		printUsage(fs, usage, stderr)
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
	pos, code, ok := parseFileArgs(flag.NewFlagSet("wallet address", flag.ContinueOnError), args, 1, "usage: aogo wallet address FILE", stderr)
	if !ok {
		return code
	}
	w, err := wallet.Load(pos[0])
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
