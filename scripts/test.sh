#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what the tests drive (npm clients and modules, a private
# PostgreSQL), then vet, unit + integration tests, and each fuzz target for a bounded time.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export CGO_ENABLED=1
step() { echo "test.sh: $*" >&2; }
step "npm packages the tests drive, in .cache/node"
scripts/setup-node.sh
export AOGO_NODE_MODULES="$root/.cache/node/node_modules"
step "chromium for the explorer's browser test"
scripts/setup-browser.sh
step "private PostgreSQL, in .cache/pg"
AOGO_TEST_POSTGRES=$(scripts/setup-postgres.sh)
export AOGO_TEST_POSTGRES
trap 'scripts/setup-postgres.sh stop' EXIT
# With this set, a test whose outside component (node, npm package, PostgreSQL) is missing fails instead of skipping.
export AOGO_REQUIRE_EXTERNAL=1
step "go vet ./... (the first build compiles wasmtime's cgo bindings: a few minutes)"
go vet ./...
# go test's own output on stdout (its closing per-package ok/FAIL lines as ever) with a "testing PKG …" line
# on stderr as each package starts; pipefail keeps go test's exit status.
go build -o "$root/.cache/bin/testfmt" ./scripts/testfmt
step "go test -count=1 -timeout 30m ./..."
go test -json -count=1 -timeout 30m ./... 2>&1 | "$root/.cache/bin/testfmt"
step "fuzz targets"
# An execution count, not a duration: Go 1.26's fuzz coordinator can end a timed run with a spurious
# "context deadline exceeded" (golang/go#75804, fixed in Go 1.27); a count never takes that path.
fuzztime=${AOGO_FUZZTIME:-10000x}
grep -rl --include='*_test.go' '^func Fuzz' . | while read -r f; do
  pkg="./$(dirname "${f#./}")"
  for name in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | sed 's/^func //'); do
    n=$fuzztime
    # A target whose every execution evaluates whole wasm machines runs fewer: FuzzMessageSizes applies a message
    # to three modules and rolls each back (~20 executions/s on 2 busy cores), so 1,000 of them take about a minute.
    if [ -z "${AOGO_FUZZTIME:-}" ] && [ "$name" = FuzzMessageSizes ]; then n=1000x; fi
    echo "fuzz $pkg $name ($n)"
    fuzz_once() { go test -run '^$' -fuzz "^${name}\$" -fuzztime "$n" -fuzzminimizetime 100x "$pkg" 2>&1; }
    if ! out=$(fuzz_once); then
      echo "$out"
      # If AOGO_FUZZTIME is set to a duration, golang/go#75804 can still end a run with a bare "context deadline
      # exceeded" and no failing input written: retry that once; fail on anything else.
      if grep -q 'context deadline exceeded' <<<"$out" && ! grep -q 'Failing input written' <<<"$out"; then
        echo "fuzz $pkg $name: engine deadline hiccup, running once more"
        fuzz_once || exit 1
      else
        exit 1
      fi
    else
      echo "$out" | tail -2
    fi
  done
done
