#!/usr/bin/env bash
# lockdiag serve beside mysqld_exporter (Debian's prometheus-mysqld-exporter, default
# collectors), both scraping the same throwaway MariaDB, at 0, 200 and 2,000 sessions waiting
# on one row (examples/pileup.rs), or the counts given. For each exporter and count: the
# median wall time of 5 scrapes (curl, 0.3 s apart), the server's CPU per scrape (mariadbd's utime+stime
# from /proc, in ms, over the 5 scrapes), and what its output says about the pile-up.
# Needs: apt-get install prometheus-mysqld-exporter curl. Usage: bench/exporter.sh [N ...]
set -euo pipefail
cd "$(dirname "$0")/.."
counts=("$@")
[ ${#counts[@]} -eq 0 ] && counts=(0 200 2000)
max=0
for n in "${counts[@]}"; do [ "$n" -gt "$max" ] && max=$n; done
command -v prometheus-mysqld-exporter >/dev/null || { echo "needs prometheus-mysqld-exporter"; exit 2; }
# shellcheck source=bench/server.sh
. bench/server.sh
start_server exporter --max-connections=$((max + 300)) --innodb-lock-wait-timeout=3600 \
  --thread-stack=262144 --innodb-buffer-pool-size=256M --performance-schema=ON
client -e "CREATE DATABASE shop"
cargo build --release --quiet --example pileup
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
lport=$(free_port); mport=$(free_port)
"$bin" --no-defaults -S "$dir/sock" -u root serve --listen "127.0.0.1:$lport" 2>"$dir/serve.log" &
serve_pid=$!
printf '[client]\nuser=root\nsocket=%s\n' "$dir/sock" >"$dir/exporter.cnf"
DATA_SOURCE_NAME="root@unix($dir/sock)/" prometheus-mysqld-exporter \
  --web.listen-address="127.0.0.1:$mport" >"$dir/mysqld_exporter.log" 2>&1 &
mexp_pid=$!
trap 'kill $serve_pid $mexp_pid 2>/dev/null || true; pkill -f -- "--datadir=$dir/data" 2>/dev/null || true; sleep 1; rm -rf "$dir"' EXIT
sleep 1
server_pid=$(pgrep -f -- "--datadir=$dir/data" | head -1)
ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }

# scrape NAME URL N: prints median wall (s), server CPU ms per scrape, and the pile-up as the output says it.
scrape() {
  local name=$1 url=$2 n=$3 walls=() before after
  before=$(ticks)
  for _ in 1 2 3 4 5; do
    walls+=("$(curl -s -o "$dir/$name.out" -w '%{time_total}' -H 'X-Prometheus-Scrape-Timeout-Seconds: 10' "$url")")
    # Prometheus scrapes seconds apart. Back to back, each lockdiag scrape would find InnoDB's
    # INNODB_TRX cache read less than 100 ms before (not refreshed) and wait that out first.
    sleep 0.3
  done
  after=$(ticks)
  local median
  median=$(printf '%s\n' "${walls[@]}" | sort -n | sed -n 3p)
  local says
  # A series may be absent (lockdiag leaves out what it could not read whole): no match is no error.
  if [ "$name" = lockdiag ]; then
    says=$( { grep -E '^lockdiag_(waiting_sessions\{lock="row"\}|root_blockers\{state="idle_in_transaction"\}|max_sessions_behind_one_root|longest_lock_wait_seconds\{lock="row"\}|source_up\{source="(transactions|lock_waits)"\}) ' "$dir/$name.out" || true; } | tr '\n' ' ')
  else
    says=$( { grep -E '^mysql_global_status_(innodb_row_lock_current_waits|threads_running) ' "$dir/$name.out" || true; } | tr '\n' ' ')
  fi
  printf '%-7s %-16s %-9s %-14s %s\n' "$n" "$name" "$median" "$(( (after - before) * 10 / 5 ))" "$says"
}

printf '%-7s %-16s %-9s %-14s %s\n' waiting exporter wall_s server_cpu_ms "what it says"
for n in "${counts[@]}"; do
  if [ "$n" -gt 0 ]; then
    coproc PILEUP { target/release/examples/pileup "$dir/sock" "$n"; }
    read -r ready _ <&"${PILEUP[0]}"
    [ "$ready" = ready ] || { echo "pile-up of $n did not form"; exit 1; }
    sleep 0.5
  fi
  scrape lockdiag "http://127.0.0.1:$lport/metrics" "$n"
  scrape mysqld_exporter "http://127.0.0.1:$mport/metrics" "$n"
  if [ "$n" -gt 0 ]; then
    eval "exec ${PILEUP[1]}>&-"
    wait "$PILEUP_PID" || true
    sleep 1
  fi
done
