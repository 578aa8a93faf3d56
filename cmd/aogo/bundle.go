package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/aogo/aogo/dataitem"
)

func init() {
	register("bundle", "ANS-104 bundles: bundle pack ITEM... -o OUT | unpack FILE -o DIR | verify FILE", runBundle)
}

const bundleUsage = `usage:
  aogo bundle pack ITEM... -o OUT   write the item files as one binary bundle; prints the ids
  aogo bundle unpack FILE -o DIR    write each item of a bundle to DIR/<id>; prints the ids
  aogo bundle verify FILE           check the bundle and every item's signature`

func runBundle(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if code, ok := groupArgs(args, bundleUsage, stderr); !ok {
		return code
	}
	switch args[0] {
	case "pack":
		return bundlePack(ctx, args[1:], stdout, stderr)
	case "unpack":
		return bundleUnpack(ctx, args[1:], stdout, stderr)
	case "verify":
		return bundleVerify(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "aogo bundle: unknown verb %q\n%s\n", args[0], bundleUsage)
	return 2
}

func bundlePack(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bundle pack", flag.ContinueOnError)
	out := fs.String("o", "", "bundle `FILE` to write")
	const usage = "usage: aogo bundle pack ITEM... -o OUT"
	files, code, ok := parseFileArgs(fs, args, -1, usage, stderr)
	if !ok {
		return code
	}
	if *out == "" {
		fmt.Fprintln(stderr, "aogo bundle pack: -o OUT is required")
		printUsage(fs, usage, stderr)
		return 2
	}
	if err := packFiles(ctx, files, *out, stdout); err != nil {
		fmt.Fprintln(stderr, "aogo bundle pack:", err)
		return 1
	}
	return 0
}

// packFiles streams the items into the bundle: a first pass reads each header (id) and size, the second copies.
func packFiles(ctx context.Context, files []string, out string, stdout io.Writer) error {
	entries := make([]dataitem.BundleEntry, len(files))
	for i, name := range files {
		e, err := itemEntry(name)
		if err != nil {
			return err
		}
		entries[i] = e
	}
	o, err := os.Create(out)
	if err != nil {
		return err
	}
	err = func() error {
		bw, err := dataitem.NewBundleWriter(o, entries)
		if err != nil {
			return err
		}
		for _, name := range files {
			if err := ctx.Err(); err != nil {
				return err
			}
			f, err := os.Open(name)
			if err != nil {
				return err
			}
			err = bw.WriteItem(f)
			f.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		return bw.Close()
	}()
	if cerr := o.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out)
		return err
	}
	for _, e := range entries {
		fmt.Fprintln(stdout, e.ID)
	}
	return nil
}

func itemEntry(name string) (dataitem.BundleEntry, error) {
	f, err := os.Open(name)
	if err != nil {
		return dataitem.BundleEntry{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return dataitem.BundleEntry{}, err
	}
	it, err := dataitem.ReadHeader(f)
	if err != nil {
		return dataitem.BundleEntry{}, fmt.Errorf("%s: %w", name, err)
	}
	return dataitem.BundleEntry{Size: uint64(st.Size()), ID: it.ID()}, nil
}

func bundleUnpack(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bundle unpack", flag.ContinueOnError)
	dir := fs.String("o", "", "`DIR` to write the items to (created if missing)")
	const usage = "usage: aogo bundle unpack FILE -o DIR"
	rest, code, ok := parseFileArgs(fs, args, 1, usage, stderr)
	if !ok {
		return code
	}
	if *dir == "" {
		fmt.Fprintln(stderr, "aogo bundle unpack: -o DIR is required")
		printUsage(fs, usage, stderr)
		return 2
	}
	if err := unpackFile(ctx, rest[0], *dir, stdout); err != nil {
		fmt.Fprintln(stderr, "aogo bundle unpack:", err)
		return 1
	}
	return 0
}

// unpackFile streams each item of the bundle into DIR/<id>. It checks structure and ids, not signatures
// (bundle verify does).
func unpackFile(ctx context.Context, path, dir string, stdout io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	br, err := dataitem.NewBundleReader(f, 0)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		it, data, n, err := br.NextReader()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := writeItemFile(filepath.Join(dir, it.ID()), it, data, n); err != nil {
			return err
		}
		fmt.Fprintln(stdout, it.ID())
	}
}

func writeItemFile(path string, it *dataitem.Item, data io.Reader, n int64) error {
	o, err := os.Create(path)
	if err != nil {
		return err
	}
	_, err = it.WriteHeader(o)
	if err == nil {
		var m int64
		m, err = io.Copy(o, data)
		if err == nil && m != n {
			err = fmt.Errorf("item %s truncated: %d of %d data bytes", it.ID(), m, n)
		}
	}
	if cerr := o.Close(); err == nil {
		err = cerr
	}
	return err
}

type verifiedBundle struct {
	Items int      `json:"items"`
	IDs   []string `json:"ids"`
}

func bundleVerify(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	pos, code, ok := parseFileArgs(flag.NewFlagSet("bundle verify", flag.ContinueOnError), args, 1, "usage: aogo bundle verify FILE", stderr)
	if !ok {
		return code
	}
	res, err := verifyBundleFile(ctx, pos[0])
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return writeJSON(stdout, stderr, res)
}

// verifyBundleFile checks a bundle item by item, streaming each item's data through the deep hash.
func verifyBundleFile(ctx context.Context, path string) (*verifiedBundle, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	br, err := dataitem.NewBundleReader(f, 0)
	if err != nil {
		return nil, err
	}
	res := &verifiedBundle{IDs: []string{}}
	total := int64(32 + 64*len(br.Entries))
	for i := 0; ; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		it, data, n, err := br.NextReader()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if err := it.VerifyReader(data, n); err != nil {
			return nil, fmt.Errorf("bundle item %d (%s): %w", i, it.ID(), err)
		}
		res.IDs = append(res.IDs, it.ID())
		total += int64(br.Entries[i].Size)
	}
	if total != st.Size() {
		return nil, fmt.Errorf("invalid bundle: %d trailing bytes after the last item", st.Size()-total)
	}
	res.Items = len(res.IDs)
	return res, nil
}
