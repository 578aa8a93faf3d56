package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/wallet"
)

func init() {
	register("item", "ANS-104 data items: item sign | verify FILE | inspect FILE", runItem)
}

const itemUsage = `usage:
  aogo item sign --wallet FILE [--target ID] [--anchor STR] [--tag NAME=VALUE]... [--data STR | --data-file F] -o OUT
  aogo item verify FILE
  aogo item inspect FILE`

func runItem(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if code, ok := groupArgs(args, itemUsage, stderr); !ok {
		return code
	}
	switch args[0] {
	case "sign":
		return itemSign(args[1:], stdout, stderr)
	case "verify":
		return itemVerify(args[1:], stdout, stderr)
	case "inspect":
		return itemInspect(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "aogo item: unknown verb %q\n%s\n", args[0], itemUsage)
	return 2
}

// tagFlags collects repeated --tag NAME=VALUE flags in order.
type tagFlags []dataitem.Tag

func (t *tagFlags) String() string { return fmt.Sprint(*t) }
func (t *tagFlags) Set(s string) error {
	name, value, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return fmt.Errorf("tag %q: want NAME=VALUE", s)
	}
	*t = append(*t, dataitem.Tag{Name: name, Value: value})
	return nil
}

// parseAnchor accepts what aoconnect passes (32 raw bytes, e.g. a 32-character string) or the base64url form
// of 32 bytes (43 characters). The two never collide: they differ in length.
func parseAnchor(s string) ([]byte, error) {
	switch len(s) {
	case 0:
		return nil, nil
	case 32:
		return []byte(s), nil
	case 43:
		if b, err := dataitem.DecodeB64(s); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, fmt.Errorf("anchor must be 32 bytes (e.g. a 32-character string) or 43 base64url characters encoding 32 bytes; got %d bytes", len(s))
}

func parseTarget(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	b, err := dataitem.DecodeB64(s)
	if err != nil || len(b) != 32 {
		return nil, fmt.Errorf("target %q is not a base64url id of 32 bytes", s)
	}
	return b, nil
}

func itemSign(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("item sign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		printUsage(fs, "usage: aogo item sign --wallet FILE [--target ID] [--anchor STR] [--tag NAME=VALUE]... [--data STR | --data-file F] -o OUT", stderr)
	}
	walletPath := fs.String("wallet", os.Getenv("AOGO_WALLET"), "key file (JWK) to sign with [$AOGO_WALLET]")
	target := fs.String("target", "", "target id (base64url, 32 bytes)")
	anchor := fs.String("anchor", "", "anchor: 32 raw bytes (as aoconnect passes it) or base64url of 32 bytes")
	var tags tagFlags
	fs.Var(&tags, "tag", "tag NAME=VALUE (repeatable, kept in order)")
	data := fs.String("data", "", "data as a string")
	dataFile := fs.String("data-file", "", "read the data from this file (streamed, any size)")
	out := fs.String("o", "", "file to write the signed item to")
	rest, err := parseFlagsAnywhere(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	dataSet := false
	fs.Visit(func(f *flag.Flag) { dataSet = dataSet || f.Name == "data" })
	switch {
	case len(rest) != 0:
		fmt.Fprintf(stderr, "aogo item sign: unexpected argument %q\n", rest[0])
		return 2
	case *walletPath == "" || *out == "":
		fmt.Fprintln(stderr, "aogo item sign: --wallet and -o are required")
		return 2
	case dataSet && *dataFile != "":
		fmt.Fprintln(stderr, "aogo item sign: give --data or --data-file, not both")
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "aogo item sign:", err)
		return 1
	}
	it := &dataitem.Item{Tags: tags}
	if it.Target, err = parseTarget(*target); err != nil {
		return fail(err)
	}
	if it.Anchor, err = parseAnchor(*anchor); err != nil {
		return fail(err)
	}
	w, err := wallet.Load(*walletPath)
	if err != nil {
		return fail(err)
	}
	var id string
	if *dataFile != "" {
		id, err = signFile(it, w, *dataFile, *out)
	} else {
		it.Data = []byte(*data)
		id, err = signMemory(it, w, *out)
	}
	if err != nil {
		return fail(err)
	}
	fmt.Fprintln(stdout, id)
	return 0
}

func signMemory(it *dataitem.Item, w *wallet.Wallet, out string) (string, error) {
	if err := it.Sign(w); err != nil {
		return "", err
	}
	b, err := it.Bytes()
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(out, b, 0o644); err != nil {
		return "", fmt.Errorf("write item: %w", err)
	}
	return it.ID(), nil
}

// signFile signs data read from path in a first pass and copies it after the header in a second, so the data
// never has to fit in memory.
func signFile(it *dataitem.Item, w *wallet.Wallet, path, out string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("data file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("data file: %w", err)
	}
	if err := it.SignReader(w, f, st.Size()); err != nil {
		return "", err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", fmt.Errorf("data file: %w", err)
	}
	o, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return "", fmt.Errorf("write item: %w", err)
	}
	if _, err := it.WriteHeader(o); err != nil {
		o.Close()
		return "", err
	}
	n, err := io.Copy(o, f)
	if err == nil && n != st.Size() {
		err = fmt.Errorf("data file changed while signing: %d bytes, signed %d", n, st.Size())
	}
	if cerr := o.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("write item: %w", err)
	}
	return it.ID(), nil
}

// verifiedItem is the output of aogo item verify.
type verifiedItem struct {
	ID            string `json:"id"`
	OwnerAddress  string `json:"owner_address"`
	SignatureType int    `json:"signature_type"`
}

// verifyItemFile checks an item file's structure and signature, streaming its data.
func verifyItemFile(path string) (*dataitem.Item, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	it, err := dataitem.ReadHeader(f)
	if err != nil {
		return nil, err
	}
	hdr, err := it.HeaderSize()
	if err != nil {
		return nil, err
	}
	if err := it.VerifyReader(f, st.Size()-int64(hdr)); err != nil {
		if errors.Is(err, dataitem.ErrBadSignature) {
			return nil, fmt.Errorf("item %s: %w", it.ID(), err)
		}
		return nil, err
	}
	return it, nil
}

func itemVerify(args []string, stdout, stderr io.Writer) int {
	pos, code, ok := parseFileArgs(flag.NewFlagSet("item verify", flag.ContinueOnError), args, 1, "usage: aogo item verify FILE", stderr)
	if !ok {
		return code
	}
	it, err := verifyItemFile(pos[0])
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return writeJSON(stdout, stderr, verifiedItem{ID: it.ID(), OwnerAddress: it.OwnerAddress(), SignatureType: int(it.SignatureType)})
}

// inspectedItem is the output of aogo item inspect: binary fields are base64url, as arbundles shows them.
type inspectedItem struct {
	ID            string         `json:"id"`
	SignatureType int            `json:"signature_type"`
	Owner         string         `json:"owner"`
	OwnerAddress  string         `json:"owner_address"`
	Target        string         `json:"target"`
	Anchor        string         `json:"anchor"`
	Tags          []dataitem.Tag `json:"tags"`
	DataSize      int            `json:"data_size"`
	Data          string         `json:"data"`
}

func itemInspect(args []string, stdout, stderr io.Writer) int {
	pos, code, ok := parseFileArgs(flag.NewFlagSet("item inspect", flag.ContinueOnError), args, 1, "usage: aogo item inspect FILE", stderr)
	if !ok {
		return code
	}
	b, err := os.ReadFile(pos[0])
	if err != nil {
		fmt.Fprintln(stderr, "aogo item inspect:", err)
		return 1
	}
	it, err := dataitem.Decode(b)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	tags := it.Tags
	if tags == nil {
		tags = []dataitem.Tag{}
	}
	return writeJSON(stdout, stderr, inspectedItem{
		ID: it.ID(), SignatureType: int(it.SignatureType), Owner: dataitem.B64(it.Owner), OwnerAddress: it.OwnerAddress(),
		Target: dataitem.B64(it.Target), Anchor: dataitem.B64(it.Anchor), Tags: tags, DataSize: len(it.Data), Data: dataitem.B64(it.Data),
	})
}

func writeJSON(stdout, stderr io.Writer, v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		fmt.Fprintln(stderr, "aogo: encode output:", err)
		return 1
	}
	if _, err := stdout.Write(append(b, '\n')); err != nil {
		return 1
	}
	return 0
}
