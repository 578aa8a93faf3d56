#!/usr/bin/env bash
# Starts a private PostgreSQL cluster for the test suite on a free loopback port, installing Debian's
# postgresql package when no server binaries are present. Prints the DSN on stdout, progress on stderr.
# The cluster lives in the checkout's ignored cache, .cache/pg, and is stopped by `scripts/setup-postgres.sh stop`.
# PostgreSQL refuses to run as root: as root, the server runs as the postgres user (made if missing), which
# owns .cache/pg and must be able to reach it. When a directory above the checkout shuts it out (a 0700 home,
# say), it is given traverse-only access there (an ACL with setfacl, else o+x); that is said on stderr.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
base="$root/.cache/pg"
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
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd -r -M postgres
  chown postgres "$base"
  # Let the postgres user traverse every directory from / down to .cache/pg (only traverse: x, not r).
  d=$(dirname "$base")
  while ! runuser -u postgres -- test -x "$d"; do
    top=$d # the highest directory it cannot enter
    while [ "$top" != / ] && ! runuser -u postgres -- test -x "$(dirname "$top")"; do top=$(dirname "$top"); done
    if command -v setfacl >/dev/null; then
      echo "setup-postgres: letting the postgres user traverse $top (ACL u:postgres:x)" >&2
      setfacl -m u:postgres:x "$top"
    else
      echo "setup-postgres: letting other users traverse $top (chmod o+x) so the postgres user reaches $base" >&2
      chmod o+x "$top"
    fi
  done
fi
if [ ! -f "$base/data/PG_VERSION" ]; then
  echo "setup-postgres: initdb $base/data" >&2
  as_pg "$bin/initdb" -D "$base/data" -U aogo --auth=trust -E UTF8 >/dev/null
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 55432)
if [ -f "$base/data/postmaster.pid" ]; then as_pg "$bin/pg_ctl" -D "$base/data" -m fast stop >/dev/null 2>&1 || true; fi
echo "setup-postgres: starting PostgreSQL on 127.0.0.1:$port (data $base/data)" >&2
as_pg "$bin/pg_ctl" -D "$base/data" -l "$base/log" -w -o "-c listen_addresses=127.0.0.1 -p $port -k $base -c fsync=on" start >/dev/null
echo "postgres://aogo@127.0.0.1:$port/postgres?sslmode=disable"
