#!/usr/bin/env bash
# What performance_schema's statement-history consumers cost a write loop (issue 23): the same
# 20,000 single-row UPDATEs (autocommit, one client, one connection) with the consumers
# events_statements_current + events_statements_history off and on, alternated three times on
# one throwaway MariaDB, so both see the same machine. Prints the per-statement latency of each
# run and the median difference. Usage: bench/statement-history-overhead.sh [STATEMENTS]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20000}
# shellcheck source=bench/server.sh
. bench/server.sh
NO_BUILD=1 start_server history --performance-schema=ON
client -e "CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY, v BIGINT NOT NULL) ENGINE=InnoDB; INSERT INTO shop.t VALUES (1, 0)"
statements=$(mktemp)
for _ in $(seq "$n"); do echo "UPDATE t SET v = v + 1 WHERE id = 1;"; done >"$statements"
run() {
  client -e "UPDATE performance_schema.setup_consumers SET ENABLED = '$1' WHERE NAME IN ('events_statements_current', 'events_statements_history')"
  local t0 t1
  t0=$(date +%s%N)
  client shop <"$statements"
  t1=$(date +%s%N)
  echo $(((t1 - t0) / n))
}
printf '%-6s %-14s %-14s\n' round off_ns_per_stmt on_ns_per_stmt
offs=() ons=()
for round in 1 2 3; do
  off=$(run NO)
  on=$(run YES)
  offs+=("$off") ons+=("$on")
  printf '%-6s %-14s %-14s\n' "$round" "$off" "$on"
done
median() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
off=$(median "${offs[@]}") on=$(median "${ons[@]}")
echo "median: off $off ns, on $on ns per statement: change $(((on - off) * 100 / off))% (run-to-run spread above)"
rm -f "$statements"
