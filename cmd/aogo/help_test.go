package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/aogo/aogo/internal/testenv"
)

// every command and verb, as typed after "aogo".
var allVerbs = [][]string{
	{"wallet", "new"}, {"wallet", "address"}, {"item", "sign"}, {"item", "verify"}, {"item", "inspect"},
	{"bundle", "pack"}, {"bundle", "unpack"}, {"bundle", "verify"}, {"run"}, {"su"}, {"cu"}, {"mu"}, {"gateway"}, {"aocore"},
	{"verify-result"}, {"dev"}, {"module", "publish"}, {"spawn"}, {"send"}, {"result"}, {"eval"}, {"repl"},
	{"bench", "dev"}, {"bench", "su"}, {"bench", "ai"}, {"version"},
}

// TestHelpEverywhere: `aogo help CMD`, `aogo CMD --help` and `-h` print the usage (exit 0) and touch nothing;
// a bad flag is named (exit 2) on every command and verb.
func TestHelpEverywhere(t *testing.T) {
	t.Chdir(t.TempDir()) // a command that mistook --help for an argument would leave files here
	for _, verb := range allVerbs {
		name := strings.Join(verb, " ")
		for _, args := range [][]string{
			append([]string{"help"}, verb...),
			append(append([]string{}, verb...), "--help"),
			append(append([]string{}, verb...), "-h"),
		} {
			var out, errb bytes.Buffer
			code := run(context.Background(), args, &out, &errb)
			if code != 0 || !strings.Contains(errb.String(), "usage: aogo "+name) || out.Len() != 0 {
				t.Errorf("aogo %s: exit %d, stdout %q, stderr %q", strings.Join(args, " "), code, out.String(), errb.String())
			}
		}
		var out, errb bytes.Buffer
		args := append(append([]string{}, verb...), "--no-such-flag")
		if code := run(context.Background(), args, &out, &errb); code == 0 || !strings.Contains(errb.String(), "-no-such-flag") {
			t.Errorf("aogo %s: exit %d, stderr %q; want an error naming the flag", strings.Join(args, " "), code, errb.String())
		}
	}
	// The groups' own help, and the top level.
	for _, args := range [][]string{{"help", "wallet"}, {"item", "--help"}, {"bundle", "help"}, {"module", "-h"}, {"help", "bench"}, {"help"}, {"--help"}} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), args, &out, &errb); code != 0 || !strings.Contains(errb.String(), "usage:") {
			t.Errorf("aogo %s: exit %d, stderr %q", strings.Join(args, " "), code, errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"help", "nope"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), `unknown command "nope"`) {
		t.Errorf("aogo help nope: exit %d, stderr %q", code, errb.String())
	}
}

// TestUsageAgreesWithDefaults: a default a usage line shows is the flag's default.
func TestUsageAgreesWithDefaults(t *testing.T) {
	t.Setenv("AOGO_DATA", "")
	t.Setenv("AOGO_LISTEN", "")
	for _, tc := range []struct {
		verb []string
		want []string // "--flag DEFAULT" as the usage line shows it and PrintDefaults confirms
	}{
		{[]string{"dev"}, []string{"--data .aogo", "--listen 127.0.0.1:8734", "--block-time 10s", "--cron-interval 1s"}},
		{[]string{"su"}, []string{"--listen 127.0.0.1:9000", "--data su-data"}},
		{[]string{"cu"}, []string{"--listen 127.0.0.1:6363", "--data cu-data"}},
		{[]string{"mu"}, []string{"--listen 127.0.0.1:3005", "--data mu-data"}},
		{[]string{"gateway"}, []string{"--listen 127.0.0.1:4000", "--data gateway-data", "--block-time 10s"}},
		{[]string{"bench", "su"}, []string{"--processes 64", "--messages 20000", "--runs 1"}},
		{[]string{"bench", "dev"}, []string{"-n 500", "--processes 1"}},
		{[]string{"bench", "ai"}, []string{"--messages 5", "--tokens 64"}},
	} {
		var out, errb bytes.Buffer
		run(context.Background(), append(tc.verb, "--help"), &out, &errb)
		usage, defaults, _ := strings.Cut(errb.String(), "\n")
		for _, w := range tc.want {
			flagName, def, _ := strings.Cut(w, " ")
			if !strings.Contains(usage, "["+w+"]") {
				t.Errorf("aogo %s usage %q lacks [%s]", tc.verb, usage, w)
			}
			if !strings.Contains(defaults, "  -"+strings.TrimLeft(flagName, "-")) || !(strings.Contains(defaults, "(default "+def+")") || strings.Contains(defaults, `(default "`+def+`")`)) {
				t.Errorf("aogo %s: flag %s default is not %s:\n%s", tc.verb, flagName, def, defaults)
			}
		}
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), args, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "aogo ") || !strings.Contains(out.String(), runtime.Version()) {
			t.Errorf("aogo %s: exit %d, stdout %q, stderr %q", args[0], code, out.String(), errb.String())
		}
	}
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.3.0"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "995efbbd0e94"}, {Key: "vcs.time", Value: "2026-12-03T08:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	if got, want := versionOf(bi), "aogo v0.3.0 rev 995efbbd0e94+modified 2026-12-03T08:00:00Z go1.26.8"; got != want {
		t.Errorf("versionOf = %q, want %q", got, want)
	}
	// A binary built in a git checkout names the commit it was built from. (go stamps VCS data only where
	// .git is a directory: not in a git worktree.)
	if fi, err := os.Stat(filepath.Join(testenv.RepoRoot(), ".git")); err != nil || !fi.IsDir() {
		t.Skip("not a plain git checkout")
	}
	rev, err := exec.Command("git", "-C", testenv.RepoRoot(), "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skip("no git:", err)
	}
	if testing.Short() {
		t.Skip("builds the aogo binary")
	}
	// Built here with -buildvcs=true: environments may set GOFLAGS=-buildvcs=false.
	bin := t.TempDir() + "/aogo"
	build := exec.Command("go", "build", "-buildvcs=true", "-o", bin, "./cmd/aogo")
	build.Dir = testenv.RepoRoot()
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil || !strings.Contains(string(out), "rev "+strings.TrimSpace(string(rev))) {
		t.Fatalf("aogo --version = %q, %v; want rev %s", out, err, rev)
	}
}
