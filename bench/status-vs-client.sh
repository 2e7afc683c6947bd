#!/usr/bin/env bash
# Times `lockdiag status --format json` against the hand-run way (the mariadb
# client running the processlist, INNODB_TRX, lock-wait and INNODB STATUS
# queries one after another) on a throwaway local MariaDB with N sessions
# waiting behind one blocker. Usage: bench/status-vs-client.sh [N ...] (default: 200 500).
set -euo pipefail
cd "$(dirname "$0")/.."
counts=("${@:-200}")
[ $# -eq 0 ] && counts=(200 500)
runs=${RUNS:-20}

cargo build --release --quiet
bin=target/release/lockdiag
dir=$(mktemp -d /tmp/lockdiag-bench.XXXX)
user=$(id -un)
port=$((20000 + RANDOM % 20000))
cleanup() { pkill -f -- "--datadir=$dir/data" 2>/dev/null || true; jobs -p | xargs -r kill 2>/dev/null || true; sleep 1; rm -rf "$dir"; }
trap cleanup EXIT

mariadb-install-db --no-defaults --datadir="$dir/data" --auth-root-authentication-method=normal --skip-test-db --user="$user" >/dev/null 2>&1
mariadbd --no-defaults --datadir="$dir/data" --socket="$dir/sock" --port="$port" --bind-address=127.0.0.1 --user="$user" \
  --log-error="$dir/err.log" --max-connections=2000 --innodb-lock-wait-timeout=3600 --performance-schema=ON \
  "--performance-schema-instrument=wait/lock/metadata/sql/mdl=ON" >/dev/null 2>&1 &
for _ in $(seq 100); do [ -S "$dir/sock" ] && break; sleep 0.1; done
client() { mariadb --no-defaults -S "$dir/sock" -uroot "$@"; }
client -e "CREATE DATABASE shop; CREATE TABLE shop.payments (id INT PRIMARY KEY, v INT) ENGINE=InnoDB; INSERT INTO shop.payments VALUES (1,0),(2,0);"

ms() { date +%s%N | cut -c1-13; }
time_runs() { local t0 t1; t0=$(ms); for _ in $(seq "$runs"); do "$@" >/dev/null; done; t1=$(ms); echo $(( (t1 - t0) / runs )); }

hand_run_separate() {
  client -e "SHOW FULL PROCESSLIST"
  client -e "SELECT * FROM information_schema.INNODB_TRX"
  client -e "SELECT * FROM information_schema.INNODB_LOCK_WAITS w JOIN information_schema.INNODB_TRX r ON r.trx_id = w.requesting_trx_id JOIN information_schema.INNODB_TRX b ON b.trx_id = w.blocking_trx_id"
  client -e "SHOW ENGINE INNODB STATUS\G"
}
hand_run_one_client() {
  client -e "SHOW FULL PROCESSLIST; SELECT * FROM information_schema.INNODB_TRX;
    SELECT * FROM information_schema.INNODB_LOCK_WAITS w JOIN information_schema.INNODB_TRX r ON r.trx_id = w.requesting_trx_id JOIN information_schema.INNODB_TRX b ON b.trx_id = w.blocking_trx_id;
    SHOW ENGINE INNODB STATUS\G"
}
lockdiag_status() { "$bin" --no-defaults -S "$dir/sock" -u root status --format json; }
lockdiag_snapshot() { "$bin" --no-defaults -S "$dir/sock" -u root snapshot --out "$dir/snapshot.json" 2>/dev/null; }

# The blocker: an idle transaction holding row 1.
(echo "BEGIN; UPDATE shop.payments SET v = v + 1 WHERE id = 1;"; sleep 3600) | client &
started=0
printf '%-8s %-22s %-22s %-26s %-26s %s\n' waiters "lockdiag status (ms)" "lockdiag snapshot (ms)" "client, 4 invocations (ms)" "client, 1 invocation (ms)" "ratio status/4-invocations"
for n in "${counts[@]}"; do
  while [ "$started" -lt "$n" ]; do
    (echo "UPDATE shop.payments SET v = v + 1 WHERE id = 1;"; sleep 3600) | client &
    started=$((started + 1))
  done
  for _ in $(seq 300); do
    waiting=$(client -N -e "SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'")
    [ "$waiting" -ge "$n" ] && break
    sleep 0.2
  done
  check=$(lockdiag_status | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["counts"]["waiting_sessions"], d["root_blockers"][0]["blocked_sessions"])')
  ours=$(time_runs lockdiag_status)
  snap=$(time_runs lockdiag_snapshot)
  separate=$(time_runs hand_run_separate)
  single=$(time_runs hand_run_one_client)
  printf '%-8s %-22s %-22s %-26s %-26s %s   (lockdiag saw waiting/blocked: %s)\n' "$n" "$ours" "$snap" "$separate" "$single" \
    "$(python3 -c "print(round($ours/$separate, 2))")" "$check"
done
