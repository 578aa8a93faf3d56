#!/usr/bin/env bash
# Builds the probe modules from probe.c with Debian emscripten 3.1.6 (the toolchain of aos/aos.wasm; see
# docs/toolchain.md): probe2.wasm in the wasm32-unknown-emscripten2 format, probe1.wasm in the v1 format
# (wasm32-unknown-emscripten: the same build with -DPROBE_V1, then v1names.go renames imports and exports to
# the v1 glue's letters). The .wasm files are committed so tests need no toolchain; probe.sha256 records the
# inputs they were built from (TestProbeModulesMatchSources checks it).
#
#   build.sh          build probe1.wasm, probe2.wasm and probe.sha256
#   build.sh --check  rebuild into a temp dir and compare bytes with the committed modules
set -euo pipefail
export LC_ALL=C
here=$(cd "$(dirname "$0")" && pwd)
EMCC_VERSION="3.1.6"
# The link flags of aos/build.sh (1 MiB stack, 4 MiB initial memory); the clock import is left undefined so it
# is imported from env, as ao-loader's glues provide it.
EMCC_FLAGS="-O2 -sDETERMINISTIC=1 -sASSERTIONS=1 -sALLOW_MEMORY_GROWTH=1 -sINITIAL_MEMORY=4194304 \
-sMAXIMUM_MEMORY=524288000 -sTOTAL_STACK=1048576 -sEXIT_RUNTIME=0 -sERROR_ON_UNDEFINED_SYMBOLS=0 \
-sEXPORTED_FUNCTIONS=_main,_handle,_malloc,_free -sENVIRONMENT=node"

input_hash() {
  (cd "$here" && sha256sum build.sh probe.c v1names.go) | sha256sum | cut -d' ' -f1
}

build() {
  local outdir=$1
  command -v emcc >/dev/null || { echo "build.sh: emcc not found (apt-get install -y emscripten)" >&2; exit 1; }
  local v; v=$(emcc --version | head -1 | sed -n 's/.* \([0-9][0-9.]*\) .*/\1/p')
  [ "$v" = "$EMCC_VERSION" ] || { echo "build.sh: emcc $v, want $EMCC_VERSION" >&2; exit 1; }
  local b; b=$(mktemp -d)
  trap 'rm -rf "$b"' RETURN
  cp "$here/probe.c" "$b/"
  # A fixed cwd and relative paths keep temp paths out of the output; emcc's JS optimizer needs Debian's acorn.
  (cd "$b" && NODE_PATH=/usr/share/nodejs emcc $EMCC_FLAGS probe.c -o probe2.js)
  (cd "$b" && NODE_PATH=/usr/share/nodejs emcc $EMCC_FLAGS -DPROBE_V1 probe.c -o probe1.js)
  (cd "$here" && go run v1names.go "$b/probe1.wasm" "$b/probe1.v1.wasm")
  cp "$b/probe2.wasm" "$outdir/probe2.wasm"
  cp "$b/probe1.v1.wasm" "$outdir/probe1.wasm"
}

case "${1:-}" in
  --check)
    t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
    build "$t"
    cmp "$t/probe1.wasm" "$here/probe1.wasm" && cmp "$t/probe2.wasm" "$here/probe2.wasm" && echo "probe modules match their sources"
    ;;
  "")
    build "$here"
    printf '%s  inputs\n' "$(input_hash)" > "$here/probe.sha256"
    (cd "$here" && sha256sum probe1.wasm probe2.wasm) >> "$here/probe.sha256"
    ;;
  *) echo "usage: build.sh [--check]" >&2; exit 2 ;;
esac
