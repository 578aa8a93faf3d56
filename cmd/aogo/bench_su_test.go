package main

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/aogo/aogo/internal/testenv"
)

func TestBenchDispatch(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"bench"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "su ") {
		t.Fatalf("bench with no target: code %d, %s", code, errb.String())
	}
	errb.Reset()
	if code := run(context.Background(), []string{"bench", "nope"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), `unknown target "nope"`) {
		t.Fatalf("unknown target: code %d, %s", code, errb.String())
	}
	ran := false
	registerBench("test-target", "a target added by a test", func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
		ran = len(args) == 1 && args[0] == "--x"
		return 7
	})
	defer delete(benches, "test-target")
	if code := run(context.Background(), []string{"bench", "test-target", "--x"}, &out, &errb); code != 7 || !ran {
		t.Fatalf("registered target: code %d, ran %v", code, ran)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("registering a target twice did not panic")
		}
	}()
	registerBench("test-target", "again", nil)
}

func TestBenchSUFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--wallet-type", "dsa"}, {"--store", "mysql://x"}, {"--processes", "0"}, {"--messages", "-1"}, {"extra"},
	} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), append([]string{"bench", "su"}, args...), &out, &errb); code != 1 {
			t.Errorf("bench su %v: code %d, want 1 (%s)", args, code, errb.String())
		}
	}
}

// benchRow matches one result row of `aogo bench su` and captures its label, assignments/s, p50 and p99.
var benchRow = regexp.MustCompile(`(?m)^(\S+)\s+(sqlite|postgres)\s+ed25519\s+4\s+16\s+(true|false)\s+300\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+\d+\s+\d+\s+\S+$`)

func checkBenchOutput(t *testing.T, out string, http bool) {
	t.Helper()
	rows := benchRow.FindAllStringSubmatch(out, -1)
	if len(rows) != 3 || rows[2][1] != "median" {
		t.Fatalf("want 2 runs and a median row:\n%s", out)
	}
	for _, r := range rows {
		if r[3] != strconv.FormatBool(http) {
			t.Fatalf("http column %s, want %v:\n%s", r[3], http, out)
		}
		rate, _ := strconv.ParseFloat(r[4], 64)
		p50, _ := strconv.ParseFloat(r[5], 64)
		p99, _ := strconv.ParseFloat(r[6], 64)
		if rate <= 0 || p50 <= 0 || p99 < p50 {
			t.Fatalf("implausible row %q", r[0])
		}
	}
}

// TestBenchSU runs a small `aogo bench su` in process and through HTTP; the command itself checks that every
// message got its own slot.
func TestBenchSU(t *testing.T) {
	for _, http := range []bool{false, true} {
		args := []string{"bench", "su", "--processes", "4", "--messages", "300", "--concurrency", "16", "--runs", "2"}
		if http {
			args = append(args, "--http")
		}
		var out, errb bytes.Buffer
		if code := run(context.Background(), args, &out, &errb); code != 0 {
			t.Fatalf("bench su: code %d\n%s", code, errb.String())
		}
		checkBenchOutput(t, out.String(), http)
	}
}

func TestBenchSUPostgres(t *testing.T) {
	dsn := testenv.PostgresDSN(t)
	var out, errb bytes.Buffer
	args := []string{"bench", "su", "--store", dsn, "--processes", "4", "--messages", "300", "--concurrency", "16", "--runs", "2"}
	if code := run(context.Background(), args, &out, &errb); code != 0 {
		t.Fatalf("bench su: code %d\n%s", code, errb.String())
	}
	checkBenchOutput(t, out.String(), false)
}
