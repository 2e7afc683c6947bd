#!/usr/bin/env bash
# The cost of `record`'s probe (queries/probe.sql) on a throwaway MariaDB: wall time per probe
# and the server's CPU per probe (from /proc/PID/stat utime+stime over N probes), on a quiet
# server and during a pile-up of W sessions waiting for one row lock; and the size of one
# snapshot during that pile-up (a 5-minute pile-up at the default 10s cooldown writes 30 of
# them, plus one when it clears). Usage: bench/record-probe.sh [PROBES] [WAITERS] (default 1000 200).
set -euo pipefail
cd "$(dirname "$0")/.."
probes=${1:-1000}
waiters=${2:-200}
# shellcheck source=bench/server.sh
. bench/server.sh
start_server probe --max-connections=$((waiters + 50))
pid=$(pgrep -f -- "--datadir=$dir/data" | head -1)
client -e "CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY, v INT) ENGINE=InnoDB; INSERT INTO shop.t VALUES (1, 0);"
probe_sql=$(grep -v '^--' queries/probe.sql)
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
measure() { # label
  local t0 c0 t1 c1
  c0=$(ticks); t0=$(date +%s%N)
  for _ in $(seq "$probes"); do echo "$probe_sql;"; done | client -N >/dev/null
  t1=$(date +%s%N); c1=$(ticks)
  echo "$1: $(( (t1 - t0) / probes / 1000 )) µs per probe (wall, one client connection), server CPU $(( (c1 - c0) * 1000000 / hz / probes )) µs per probe"
}
measure "quiet"
# The pile-up: one idle transaction holds the row, W sessions wait for it.
client -e "SELECT 1" >/dev/null
( echo "BEGIN; UPDATE shop.t SET v = v + 1 WHERE id = 1; SELECT SLEEP(600);" | client ) &
sleep 0.5
for _ in $(seq "$waiters"); do
  ( client -e "SET SESSION innodb_lock_wait_timeout = 600; UPDATE shop.t SET v = v + 1 WHERE id = 1" >/dev/null 2>&1 ) &
done
for _ in $(seq 100); do
  n=$(client -N -e "SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'")
  [ "$n" -ge "$waiters" ] && break; sleep 0.2
done
measure "$waiters waiters"
"$bin" --no-defaults -S "$dir/sock" -u root snapshot --format json > "$dir/snap.json" || true
echo "one snapshot during the pile-up: $(stat -c %s "$dir/snap.json") bytes; a 5-minute pile-up at --cooldown 10s: 31 snapshots ≈ $(( $(stat -c %s "$dir/snap.json") * 31 / 1024 )) KiB"
pkill -f -- "-S $dir/sock" 2>/dev/null || true
