#!/usr/bin/env bash
# The fleet view's fan-out: N throwaway MariaDB servers (default 8) on one machine, then
# `lockdiag status --hosts FILE` (all at once) against the sum of N single `lockdiag status`
# runs, each timed over 5 runs (median), and one run with one server SIGSTOPped
# (its per-server deadline, --connect-timeout 2s --query-timeout 2s, bounds the whole run).
# Usage: bench/fleet.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-8}
cargo build --release --quiet
bin=target/release/lockdiag
root=$(mktemp -d /tmp/lockdiag-fleet.XXXX)
trap 'pkill -CONT -f -- "--datadir=$root/" 2>/dev/null || true; pkill -f -- "--datadir=$root/" 2>/dev/null || true; sleep 1; rm -rf "$root"' EXIT
user=$(id -un)
: >"$root/hosts"
for i in $(seq "$count"); do
  d="$root/s$i"
  mkdir -p "$d"
  mariadb-install-db --no-defaults --datadir="$d/data" --auth-root-authentication-method=normal \
    --skip-test-db --user="$user" >/dev/null 2>&1
  mariadbd --no-defaults --datadir="$d/data" --socket="$d/sock" --port=0 --skip-networking \
    --user="$user" --log-error="$d/err.log" --innodb-buffer-pool-size=32M --performance-schema=ON >/dev/null 2>&1 &
  echo "$d/sock" >>"$root/hosts"
done
for i in $(seq "$count"); do
  for _ in $(seq 200); do [ -S "$root/s$i/sock" ] && break; sleep 0.1; done
done
ms() { date +%s%N | cut -c1-13; }
median() { sort -n | sed -n 3p; }
common=(--no-defaults -u root --connect-timeout 2s --query-timeout 2s)
fleet=()
singles=()
for _ in 1 2 3 4 5; do
  t0=$(ms); "$bin" "${common[@]}" status --hosts "$root/hosts" >/dev/null 2>&1 || true; t1=$(ms)
  fleet+=($((t1 - t0)))
  sum=0
  while read -r sock; do
    t0=$(ms); "$bin" "${common[@]}" -S "$sock" status >/dev/null 2>&1 || true; t1=$(ms)
    sum=$((sum + t1 - t0))
  done <"$root/hosts"
  singles+=("$sum")
done
echo "servers=$count fleet_ms=$(printf '%s\n' "${fleet[@]}" | median) sum_of_singles_ms=$(printf '%s\n' "${singles[@]}" | median)"
pkill -STOP -f -- "--datadir=$root/s1/data"
t0=$(ms); set +e; "$bin" "${common[@]}" status --hosts "$root/hosts" >"$root/stalled.txt" 2>&1; code=$?; set -e; t1=$(ms)
pkill -CONT -f -- "--datadir=$root/s1/data"
echo "one server stopped: fleet_ms=$((t1 - t0)) exit=$code (bound: connect 2s + 3 x query 2s + 2s = 10000 ms)"
head -n 3 "$root/stalled.txt" | cut -c1-160
