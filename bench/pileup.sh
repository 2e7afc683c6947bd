#!/usr/bin/env bash
# The biggest pile-ups: N sessions waiting on one row of a throwaway MariaDB (all held by
# examples/pileup.rs on one process), for N in 500 1000 2000 (or the arguments). For each:
# `lockdiag status --format json` wall time and peak RSS (/usr/bin/time), the waiting count it
# reports and its exit code, InnoDB's own count of waits (INNODB_METRICS), and the server's own
# read of its INNODB_TRX cache (`SELECT COUNT(*)`, after the cache has been idle 200 ms).
# Usage: bench/pileup.sh [N ...]
set -euo pipefail
cd "$(dirname "$0")/.."
counts=("$@")
[ ${#counts[@]} -eq 0 ] && counts=(500 1000 2000)
max=0
for n in "${counts[@]}"; do [ "$n" -gt "$max" ] && max=$n; done
# shellcheck source=bench/server.sh
. bench/server.sh
start_server pileup --max-connections=$((max + 300)) --innodb-lock-wait-timeout=3600 \
  --thread-stack=262144 --innodb-buffer-pool-size=256M
client -e "CREATE DATABASE shop"
cargo build --release --quiet --example pileup
ms() { date +%s%N | cut -c1-13; }
printf '%-7s %-9s %-9s %-10s %-8s %-9s %s\n' waiting wall_s rss_MB reported exit counter innodb_trx_read_ms
for n in "${counts[@]}"; do
  coproc PILEUP { target/release/examples/pileup "$dir/sock" "$n"; }
  read -r ready _ <&"${PILEUP[0]}"
  [ "$ready" = ready ] || { echo "pile-up of $n did not form"; exit 1; }
  sleep 0.3
  set +e
  /usr/bin/time -f "%e %M" -o "$dir/time" "$bin" --no-defaults -S "$dir/sock" -u root status --format json >"$dir/status.json" 2>"$dir/status.err"
  code=$?
  set -e
  read -r wall rss < <(tail -n 1 "$dir/time")
  reported=$(grep -m1 -o '"waiting_sessions": [0-9a-z]*' "$dir/status.json" | awk '{print $2}')
  counter=$(client -N -e "SELECT COUNT FROM information_schema.INNODB_METRICS WHERE NAME = 'lock_row_lock_current_waits'")
  sleep 0.3
  t0=$(ms); client -N -e "SELECT COUNT(*) FROM information_schema.INNODB_TRX" >/dev/null; t1=$(ms)
  printf '%-7s %-9s %-9s %-10s %-8s %-9s %s\n' "$n" "$wall" "$((rss / 1024))" "$reported" "$code" "$counter" "$((t1 - t0))"
  [ "$code" -eq 0 ] || sed -n 1,3p "$dir/status.err" | cut -c1-300
  eval "exec ${PILEUP[1]}>&-"
  wait "$PILEUP_PID" || true
  sleep 1
done
