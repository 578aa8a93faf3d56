#!/usr/bin/env bash
# Starts a private PostgreSQL cluster for the test suite on a free loopback port, installing Debian's
# postgresql package when no server binaries are present. Prints the DSN on stdout.
# The cluster lives in .cache/pg and is stopped by `scripts/setup-postgres.sh stop`. As root, the server runs as
# the postgres user, who may not be able to enter the checkout (a 0700 temporary directory, say): the cluster
# then lives in /var/tmp/aogo-pg-<hash of the checkout path> instead, the same path for start and stop.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
base="$root/.cache/pg"
if [ "$(id -u)" = 0 ]; then
  base="/var/tmp/aogo-pg-$(printf %s "$root" | sha256sum | cut -c1-16)"
fi
find_bin() {
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  return 1
}
if [ "${1:-}" = "stop" ]; then
  bin=$(find_bin) || exit 0
  if [ -f "$base/data/postmaster.pid" ]; then
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$bin/pg_ctl" -D "$base/data" -m fast stop >/dev/null 2>&1 || true
    else "$bin/pg_ctl" -D "$base/data" -m fast stop >/dev/null 2>&1 || true; fi
  fi
  exit 0
fi
if ! bin=$(find_bin); then
  echo "setup-postgres: installing Debian postgresql" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 || true
  apt-get install -y -qq postgresql >&2
  bin=$(find_bin) || { echo "setup-postgres: no initdb after install" >&2; exit 1; }
fi
# PostgreSQL refuses to run as root: run it as the postgres user when we are root.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
mkdir -p "$base"
if [ "$(id -u)" = 0 ]; then id postgres >/dev/null 2>&1 || useradd -r -M postgres; chown postgres "$base"; fi
if [ ! -f "$base/data/PG_VERSION" ]; then
  as_pg "$bin/initdb" -D "$base/data" -U aogo --auth=trust -E UTF8 >/dev/null
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 55432)
if [ -f "$base/data/postmaster.pid" ]; then as_pg "$bin/pg_ctl" -D "$base/data" -m fast stop >/dev/null 2>&1 || true; fi
as_pg "$bin/pg_ctl" -D "$base/data" -l "$base/log" -w -o "-c listen_addresses=127.0.0.1 -p $port -k $base -c fsync=on" start >/dev/null
echo "postgres://aogo@127.0.0.1:$port/postgres?sslmode=disable"
