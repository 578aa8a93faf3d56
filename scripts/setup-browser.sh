#!/usr/bin/env bash
# Installs Debian's chromium, the browser the explorer's browser test drives headless (through npm
# playwright-core, which scripts/setup-node.sh installs). Re-runs are instant once /usr/bin/chromium exists.
# Fails loudly when it cannot install it: the browser test must not be skipped in CI.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
command -v apt-get >/dev/null || { echo "setup-browser: /usr/bin/chromium is missing and there is no apt-get to install it" >&2; exit 1; }
sudo=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "setup-browser: installing chromium needs root (or sudo)" >&2; exit 1; }
  sudo=sudo
fi
echo "setup-browser: apt-get install chromium (first run takes a minute)" >&2
$sudo apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >&2
[ -x /usr/bin/chromium ] || { echo "setup-browser: chromium installed but /usr/bin/chromium is missing" >&2; exit 1; }
