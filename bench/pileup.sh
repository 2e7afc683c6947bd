#!/usr/bin/env bash
# The biggest pile-ups: N sessions waiting on one row of a throwaway MariaDB (all held by
# examples/pileup.rs on one process), for N in 500 1000 2000 (or the arguments). For each:
# `lockdiag status --format json` wall time and peak RSS (/usr/bin/time), the waiting count it
# reports and its exit code — with the default --max-row-waits and, `listed`, with the waits
# listed whatever their number — InnoDB's own count of waits (INNODB_METRICS), and what one
# read of the INNODB_TRX cache costs the server (`SELECT COUNT(*)`, after the cache has been
# idle 300 ms): its wall time, mariadbd's CPU meanwhile, and how long a one-row UPDATE of an
# unrelated table, started 0.2 s into that read, waited for it.
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
client -e "CREATE DATABASE shop; CREATE TABLE shop.other (id INT PRIMARY KEY, v INT) ENGINE=InnoDB; INSERT INTO shop.other VALUES (1, 0)"
server_pid=$(pgrep -f -- "--datadir=$dir/data" | head -1)
cpu_ms() { awk '{print ($14 + $15) * 10}' "/proc/$server_pid/stat"; }
cargo build --release --quiet --example pileup
ms() { date +%s%N | cut -c1-13; }
printf '%-7s %-7s %-9s %-7s %-9s %-5s %-9s %-8s %-8s %s\n' waiting listed wall_s rss_MB reported exit counter trx_ms trx_cpu update_ms
for n in "${counts[@]}"; do
  coproc PILEUP { target/release/examples/pileup "$dir/sock" "$n"; }
  read -r ready _ <&"${PILEUP[0]}"
  [ "$ready" = ready ] || { echo "pile-up of $n did not form"; exit 1; }
  sleep 0.3
  for listed in no yes; do
    limit=()
    [ "$listed" = yes ] && limit=(--max-row-waits 1000000)
    set +e
    /usr/bin/time -f "%e %M" -o "$dir/time" "$bin" --no-defaults -S "$dir/sock" -u root "${limit[@]}" \
      status --format json >"$dir/status.json" 2>"$dir/status.err"
    code=$?
    set -e
    read -r wall rss < <(tail -n 1 "$dir/time")
    reported=$(grep -m1 -o '"waiting_sessions": [0-9a-z]*' "$dir/status.json" | awk '{print $2}')
    counter=$(client -N -e "SELECT COUNT FROM information_schema.INNODB_METRICS WHERE NAME = 'lock_row_lock_current_waits'")
    if [ "$listed" = no ]; then
      # The cache's cost, with a bystander's one-row UPDATE started 0.2 s into the read.
      sleep 0.3
      c0=$(cpu_ms); t0=$(ms)
      client -N -e "SELECT COUNT(*) FROM information_schema.INNODB_TRX" >/dev/null &
      reader=$!
      sleep 0.2
      u0=$(ms); client -N -e "UPDATE shop.other SET v = v + 1 WHERE id = 1"; u1=$(ms)
      wait "$reader"; t1=$(ms); c1=$(cpu_ms)
      cost=("$((t1 - t0))" "$((c1 - c0))" "$((u1 - u0))")
    else
      cost=(- - -)
    fi
    printf '%-7s %-7s %-9s %-7s %-9s %-5s %-9s %-8s %-8s %s\n' "$n" "$listed" "$wall" "$((rss / 1024))" \
      "$reported" "$code" "$counter" "${cost[@]}"
    [ "$code" -eq 0 ] || sed -n 1,2p "$dir/status.err" | cut -c1-200
    sleep 0.3
  done
  eval "exec ${PILEUP[1]}>&-"
  wait "$PILEUP_PID" || true
  sleep 1
done
