#!/usr/bin/env bash
# A whole aogo cluster on one machine, each unit a separate OS process, for operators to copy and for trying
# failover by hand: an embedded gateway, PostgreSQL, 2 SU replicas and 2 MU replicas on it, 3 CUs behind
# `aogo router`, and the AO-Core front door. Kill any replica (kill -9 PID) and start it again with the command
# this script printed for it: nothing is lost. Ctrl-C stops everything.
#
#   scripts/cluster.sh [DIR]          # data under DIR (default .cache/cluster); ports 4000, 9000-9001, 6360-6365, 3005-3006, 8734
#
# PostgreSQL: $AOGO_CLUSTER_PG (a postgres:// DSN) when set, else the private server of scripts/setup-postgres.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$root/.cache/cluster}
mkdir -p "$dir"
bin="$root/.cache/bin/aogo"
echo "cluster: building aogo" >&2
(cd "$root" && go build -o "$bin" ./cmd/aogo)
dsn=${AOGO_CLUSTER_PG:-$("$root/scripts/setup-postgres.sh")}

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM
# run NAME ARGS…: start one unit in the background, its log in DIR/NAME.log, and wait until it listens.
run() {
  local name=$1; shift
  echo "cluster: $name: $bin $*" >&2
  "$bin" "$@" >"$dir/$name.out" 2>"$dir/$name.log" &
  pids+=($!)
  for _ in $(seq 100); do grep -q "listening on" "$dir/$name.out" 2>/dev/null && return 0; sleep 0.1; done
  echo "cluster: $name did not start; see $dir/$name.log" >&2
  exit 1
}
key() { [ -f "$dir/$1.json" ] || "$bin" wallet new --type ed25519 -o "$dir/$1.json" >/dev/null; "$bin" wallet address "$dir/$1.json"; }

gw=http://127.0.0.1:4000
run gateway gateway --listen 127.0.0.1:4000 --data "$dir/gateway"
su_addr=$(key su); mu_addr=$(key mu)
# The SU replicas share the scheduler wallet and the database: one writer per process at a time, any replica reads.
for i in 0 1; do
  run "su$i" su --listen "127.0.0.1:900$i" --data "$dir/su$i" --wallet "$dir/su.json" --store "$dsn" --gateway "$gw" --url "http://127.0.0.1:900$i"
done
# Each CU trusts the others' Checkpoint items, so a process the router moves resumes instead of replaying.
cu_addrs=()
for i in 0 1 2; do cu_addrs+=("$(key "cu$i")"); done
router_args=()
for i in 0 1 2; do
  trust=()
  for j in 0 1 2; do [ "$j" = "$i" ] || trust+=(--trust-checkpoint "${cu_addrs[$j]}"); done
  run "cu$i" cu --listen "127.0.0.1:636$((i + 3))" --data "$dir/cu$i" --wallet "$dir/cu$i.json" --gateway "$gw" \
    --su "http://127.0.0.1:900$((i % 2))" --publish-checkpoints 1m "${trust[@]}"
  router_args+=(--cu "http://127.0.0.1:636$((i + 3))")
done
run router router --listen 127.0.0.1:6360 --data "$dir/router" "${router_args[@]}"
# The MU replicas share their wallet (processes trust one Authority) and the database: tasks are leased.
for i in 0 1; do
  run "mu$i" mu --listen "127.0.0.1:300$((i + 5))" --data "$dir/mu$i" --wallet "$dir/mu.json" --store "$dsn" \
    --cu http://127.0.0.1:6360 --gateway "$gw" --su-hint "$su_addr=http://127.0.0.1:900$i"
done
run aocore aocore --listen 127.0.0.1:8734 --su http://127.0.0.1:9000 --cu http://127.0.0.1:6360 --mu http://127.0.0.1:3005

cat <<INFO
cluster up (data and logs in $dir):
  gateway  $gw
  SU       http://127.0.0.1:9000  http://127.0.0.1:9001   scheduler $su_addr
  CU       http://127.0.0.1:6360 (router over :6363 :6364 :6365)
  MU       http://127.0.0.1:3005  http://127.0.0.1:3006   authority $mu_addr
  AO-Core  http://127.0.0.1:8734  (aoconnect MODE 'mainnet', URL = this)
  legacy aoconnect: connect({ MU_URL: 'http://127.0.0.1:3005', CU_URL: 'http://127.0.0.1:6360', GATEWAY_URL: '$gw' })
Ctrl-C stops the cluster.
INFO
wait
