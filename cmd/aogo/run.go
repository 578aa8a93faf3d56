package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/aogo/aogo/vm"
	_ "github.com/aogo/aogo/vm/emscripten" // registers the ao emscripten formats
	"github.com/aogo/aogo/weavedrive"
)

func init() {
	register("run", "evaluate messages through an ao module locally", runRun)
}

// runRun is `aogo run`: evaluate a message log through a module as the reference loader would and print
// one result per message.
func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	modulePath := fs.String("module", "", "module `FILE` (wasm)")
	format := fs.String("format", "", "Module-Format (e.g. wasm64-unknown-emscripten-draft_2024_02_15)")
	memLimit := fs.String("memory-limit", "", "Memory-Limit in `BYTES` (also 512-mb style)")
	computeLimit := fs.Uint64("compute-limit", 0, "Compute-Limit per message (fuel/gas units; 0 = none)")
	processPath := fs.String("process", "", "the env Process object, a JSON `FILE` {Id, Owner, Tags}")
	messagesPath := fs.String("messages", "", "messages, one JSON object per line (`FILE.jsonl`)")
	snapOut := fs.String("snapshot-out", "", "write the final state to this `FILE`")
	snapIn := fs.String("snapshot-in", "", "start from this snapshot `FILE` instead of a fresh module")
	driveDir := fs.String("drive", "", "WeaveDrive data from `DIR` (files named by id); every file is admitted (the reference's mode test) unless --gateway is given")
	gatewayURL := fs.String("gateway", "", "WeaveDrive from the gateway at `URL` (or an Arweave node): data admitted by the reference rules (process tags, Attestations at or below each message's Block-Height)")
	cacheDir := moduleCacheFlag(fs, "none")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: aogo run --module FILE --format FORMAT [--memory-limit BYTES] [--compute-limit N] --process FILE.json --messages FILE.jsonl [--snapshot-out F] [--snapshot-in F] [--drive DIR] [--gateway URL] [--cache-dir DIR]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 1
	}
	fail := func(format string, a ...any) int {
		msg := strings.Join(strings.Fields(fmt.Sprintf(format, a...)), " ") // always one line
		fmt.Fprintf(stderr, "aogo run: %s\n", msg)
		return 1
	}
	if fs.NArg() > 0 {
		return fail("unexpected argument %q", fs.Arg(0))
	}
	if *modulePath == "" || *format == "" || *processPath == "" || *messagesPath == "" {
		return fail("--module, --format, --process and --messages are required")
	}
	opts := vm.Options{ComputeLimit: *computeLimit, CacheDir: *cacheDir}
	if *memLimit != "" {
		n, err := parseBytes(*memLimit)
		if err != nil {
			return fail("--memory-limit: %v", err)
		}
		opts.MemoryLimit = n
	}
	wasm, err := os.ReadFile(*modulePath)
	if err != nil {
		return fail("read module: %v", err)
	}
	env, err := buildEnv(*processPath, wasm)
	if err != nil {
		return fail("%v", err)
	}
	var call vm.DriveCall
	if *driveDir != "" || *gatewayURL != "" {
		drive, cleanup, err := runDrive(*driveDir, *gatewayURL)
		if err != nil {
			return fail("%v", err)
		}
		defer cleanup()
		opts.WeaveDrive = drive
		if call, err = driveCallOf(env); err != nil {
			return fail("%s: %v", *processPath, err)
		}
	}
	msgs, err := os.Open(*messagesPath)
	if err != nil {
		return fail("read messages: %v", err)
	}
	defer msgs.Close()

	var m vm.Machine
	if *snapIn != "" {
		f, err := os.Open(*snapIn)
		if err != nil {
			return fail("read snapshot: %v", err)
		}
		m, err = vm.Restore(*format, wasm, opts, f)
		f.Close()
		if err != nil {
			return fail("restore %s: %v", *snapIn, err)
		}
	} else {
		m, err = vm.Open(*format, wasm, opts)
		if err != nil {
			return fail("open module: %v", err)
		}
	}
	defer m.Close()

	out := bufio.NewWriter(stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	sc := bufio.NewScanner(msgs)
	sc.Buffer(make([]byte, 64<<10), 256<<20)
	line := 0
	for sc.Scan() {
		line++
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil {
			out.Flush()
			return fail("%s:%d: not a JSON object: %v", *messagesPath, line, err)
		}
		var msg bytes.Buffer
		if err := json.Compact(&msg, raw); err != nil {
			out.Flush()
			return fail("%s:%d: %v", *messagesPath, line, err)
		}
		mc := call
		if mc.BlockHeight, err = blockHeightOf(obj); err != nil {
			out.Flush()
			return fail("%s:%d: %v", *messagesPath, line, err)
		}
		res, err := m.Apply(vm.WithDriveCall(ctx, &mc), msg.Bytes(), env)
		if err != nil {
			out.Flush()
			return fail("%s:%d: %v", *messagesPath, line, err)
		}
		if err := enc.Encode(res); err != nil {
			out.Flush()
			return fail("%s:%d: encode result: %v", *messagesPath, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		out.Flush()
		return fail("read messages: %v", err)
	}
	if *snapOut != "" {
		if err := writeSnapshotFile(*snapOut, m); err != nil {
			out.Flush()
			return fail("%v", err)
		}
	}
	if err := out.Flush(); err != nil {
		return fail("write: %v", err)
	}
	return 0
}

// buildEnv is the handle env: {Process, Module: {Id, Owner, Tags}}; Module.Id defaults to
// base64url(sha256(module file)).
func buildEnv(processPath string, wasm []byte) ([]byte, error) {
	raw, err := os.ReadFile(processPath)
	if err != nil {
		return nil, fmt.Errorf("read process: %w", err)
	}
	var proc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &proc); err != nil {
		return nil, fmt.Errorf("%s: not a JSON object: %w", processPath, err)
	}
	if _, ok := proc["Id"]; !ok {
		return nil, fmt.Errorf("%s: Process has no Id", processPath)
	}
	sum := sha256.Sum256(wasm)
	env := map[string]any{
		"Process": proc,
		"Module":  map[string]any{"Id": base64.RawURLEncoding.EncodeToString(sum[:]), "Owner": "", "Tags": []any{}},
	}
	return json.Marshal(env)
}

// runDrive builds aogo run's WeaveDrive: bytes from dir (or the gateway), admission by the gateway's
// attestations when there is one (otherwise every id is admitted). The content cache is a temporary
// directory removed by cleanup.
func runDrive(dir, gatewayURL string) (vm.WeaveDrive, func(), error) {
	if gatewayURL == "" {
		return weavedrive.New(weavedrive.Dir(dir), weavedrive.Options{}), func() {}, nil
	}
	tmp, err := os.MkdirTemp("", "aogo-weavedrive-")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { os.RemoveAll(tmp) }
	cache, err := weavedrive.OpenCache(tmp, 256<<20)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	g := weavedrive.NewGateway(gatewayURL, nil)
	var src weavedrive.Source = g
	if dir != "" {
		src = weavedrive.Dir(dir)
	}
	return weavedrive.New(src, weavedrive.Options{Index: g, Cache: cache}), cleanup, nil
}

// driveCallOf is the process part of the WeaveDrive call: the env's Process and Module tags.
func driveCallOf(env []byte) (vm.DriveCall, error) {
	var e struct {
		Process struct {
			ID   string `json:"Id"`
			Tags []struct {
				Name  string `json:"name"`
				Value string `json:"value"`
			} `json:"Tags"`
		}
		Module struct {
			Tags []struct {
				Name  string `json:"name"`
				Value string `json:"value"`
			} `json:"Tags"`
		}
	}
	if err := json.Unmarshal(env, &e); err != nil {
		return vm.DriveCall{}, fmt.Errorf("Process.Tags: %w", err)
	}
	c := vm.DriveCall{Process: e.Process.ID}
	for _, t := range e.Process.Tags {
		c.ProcessTags = append(c.ProcessTags, vm.Tag{Name: t.Name, Value: t.Value})
	}
	for _, t := range e.Module.Tags {
		c.ModuleTags = append(c.ModuleTags, vm.Tag{Name: t.Name, Value: t.Value})
	}
	return c, nil
}

// blockHeightOf reads a message's Block-Height (a number or a decimal string; 0 when absent).
func blockHeightOf(obj map[string]json.RawMessage) (int64, error) {
	raw, ok := obj["Block-Height"]
	if !ok {
		return 0, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		raw = json.RawMessage(s)
	}
	h, err := strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64)
	if err != nil || h < 0 {
		return 0, fmt.Errorf("bad Block-Height %s", raw)
	}
	return h, nil
}

func writeSnapshotFile(path string, m vm.Machine) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write snapshot: %w", err)
	}
	if _, err := m.Snapshot(f); err != nil {
		f.Close()
		return fmt.Errorf("write snapshot: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write snapshot: %w", err)
	}
	return nil
}

// parseBytes reads "1048576", "1048576-b", "512-mb", "1-gb", "64kb" (the Memory-Limit tag styles).
func parseBytes(s string) (uint64, error) {
	t := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), "-", ""))
	mult := uint64(1)
	for _, u := range []struct {
		suffix string
		mult   uint64
	}{{"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30}, {"tb", 1 << 40}, {"b", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSuffix(t, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseUint(t, 10, 64)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	if n > (1<<64-1)/mult {
		return 0, fmt.Errorf("size %q too large", s)
	}
	return n * mult, nil
}

// moduleCacheFlag is --cache-dir of every verb that runs modules (run, cu, dev, verify): one compiled-module
// cache per user and machine by default, so a module compiled by one of them is never compiled again by another.
// unset is what "" means for the verb.
func moduleCacheFlag(fs *flag.FlagSet, unset string) *string {
	return fs.String("cache-dir", defaultModuleCache(), "compiled-module cache `DIR` (private to this user), shared by aogo run, cu, dev and verify: a module compiles once per machine; \"\" = "+unset)
}

// defaultModuleCache is where aogo run keeps compiled modules: the user's cache directory (e.g.
// ~/.cache/aogo/wasm), or none when there is no such directory.
func defaultModuleCache() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "aogo", "wasm")
}
