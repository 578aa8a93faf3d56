package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aogo/aogo/devnet"
	"github.com/aogo/aogo/wallet"
)

// Defaults of the client verbs (spawn, send, result, eval, repl, module): the local dev network of `aogo dev`
// and a user wallet kept in its data directory.
const (
	defaultDevData = ".aogo"
	defaultDevURL  = "http://127.0.0.1:8734"
)

// devClientFlags are the flags every client verb shares.
type devClientFlags struct {
	url, data, wallet string
}

func (f *devClientFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.url, "url", envOr("AOGO_URL", defaultDevURL), "ao network `URL` whose GET / describes it, as `aogo dev` serves (env AOGO_URL)")
	fs.StringVar(&f.data, "data-dir", envOr("AOGO_DATA", defaultDevData), "data `DIR` holding the user wallet and the repl history, as given to aogo dev --data (env AOGO_DATA)")
	fs.StringVar(&f.wallet, "wallet", envOr("AOGO_WALLET", ""), "wallet JWK `FILE` to sign with; empty: DIR/wallets/user.json, an ed25519 key made on first use (env AOGO_WALLET)")
}

// userWallet loads --wallet, or the data directory's user wallet (made on first use).
func (f *devClientFlags) userWallet() (*wallet.Wallet, error) {
	if f.wallet != "" {
		return wallet.Load(f.wallet)
	}
	return devnet.LoadOrCreateWallet(filepath.Join(f.data, devnet.WalletsDir, devnet.UserWallet), wallet.ED25519)
}

// dial reads the network's description and returns a client signing with the user wallet.
func (f *devClientFlags) dial(ctx context.Context) (*devnet.Client, error) {
	w, err := f.userWallet()
	if err != nil {
		return nil, err
	}
	return devnet.Dial(ctx, f.url, w, &http.Client{Timeout: 5 * time.Minute})
}

// parseVerb parses a client verb's flags (see parseVerbFlags) and wants exactly n positional arguments. When ok
// is false the verb returns code: 0 after -h, 2 after a usage error (usage printed).
func parseVerb(fs *flag.FlagSet, args []string, n int, usage string, stderr io.Writer) (pos []string, code int, ok bool) {
	fs.Usage = func() { printUsage(fs, usage, stderr) }
	pos, err := parseVerbFlags(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, 0, false
		}
		fmt.Fprintf(stderr, "aogo %s: %v\n", fs.Name(), err)
		return nil, 2, false
	}
	if len(pos) != n {
		fmt.Fprintf(stderr, "aogo %s: want %d argument(s), got %d\n", fs.Name(), n, len(pos))
		printUsage(fs, usage, stderr)
		return nil, 2, false
	}
	return pos, 0, true
}

// parseVerbFlags parses the flags of a client verb wherever they appear and returns the positional arguments in
// order. Unlike parseFlagsAnywhere, an argument is a flag only when it names one of fs's flags: ao ids are
// base64url and may begin with "-" (aogo eval -BCpw… 'return 1'), and so may Lua code ('-- comment').
// "--" ends flag parsing.
func parseVerbFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for len(args) > 0 {
		a := args[0]
		if a == "--" {
			return append(pos, args[1:]...), nil
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		f := fs.Lookup(name)
		isHelp := name == "h" || name == "help"
		if f == nil && !isHelp && looksLikeFlag(a) {
			return nil, fmt.Errorf("unknown flag %s (an argument that begins with - goes after --)", a)
		}
		if !strings.HasPrefix(a, "-") || (f == nil && !isHelp) {
			pos = append(pos, a)
			args = args[1:]
			continue
		}
		n := 1
		if f != nil && !hasValue {
			if b, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !b.IsBoolFlag() {
				n = 2 // the flag's value is the next argument, whatever it looks like
			}
		}
		n = min(n, len(args))
		if err := fs.Parse(args[:n]); err != nil {
			return nil, err
		}
		if rest := fs.Args(); len(rest) > 0 {
			return nil, fmt.Errorf("unexpected %q", rest[0])
		}
		args = args[n:]
	}
	return pos, nil
}

// readData returns --data-file's content, else --data's text.
func readData(text, file string) ([]byte, error) {
	if file != "" {
		if text != "" {
			return nil, fmt.Errorf("give --data or --data-file, not both")
		}
		if file == "-" {
			return io.ReadAll(os.Stdin)
		}
		return os.ReadFile(file)
	}
	return []byte(text), nil
}

// printJSON writes v as indented JSON, or raw JSON bytes re-indented.
func printJSON(w io.Writer, v any) error {
	if raw, ok := v.([]byte); ok {
		var x any
		if err := json.Unmarshal(raw, &x); err != nil {
			_, err := w.Write(raw)
			return err
		}
		v = x
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// clientFail prints a verb's error and returns exit code 1.
func clientFail(stderr io.Writer, verb string, err error) int {
	fmt.Fprintf(stderr, "aogo %s: %v\n", verb, err)
	return 1
}
