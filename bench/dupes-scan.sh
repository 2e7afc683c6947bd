#!/usr/bin/env bash
# dupes on a table of ROWS rows with ROWS-100 distinct 32-character keys (100 duplicated):
# - read in primary-key order (no index on the key, two passes): scan rate, peak RSS, and a
#   concurrent writer's time per UPDATE with and without the scan (one mariadb client running N
#   single-row UPDATEs; the average is total time / N), plus InnoDB's row-lock wait counter;
# - then with an index on the key (one pass in key order): scan rate and peak RSS.
# Usage: bench/dupes-scan.sh [ROWS] (default 10000000; 1000000 takes a minute, 10M about ten).
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-10000000}
updates=${UPDATES:-20000}
# shellcheck source=bench/server.sh
. bench/server.sh
start_server dupes --innodb-buffer-pool-size=2G
client -e "CREATE DATABASE shop; USE shop; CREATE TABLE shop.payments (id INT PRIMARY KEY, payment_key VARCHAR(32) NOT NULL, v INT NOT NULL DEFAULT 0) ENGINE=InnoDB;
  INSERT INTO shop.payments (id, payment_key) SELECT seq, CONCAT('pk_', seq MOD ($rows - 100)) FROM seq_1_to_$rows;"
ms() { date +%s%N | cut -c1-13; }
writer() { for i in $(seq "$updates"); do echo "UPDATE shop.payments SET v = v + 1 WHERE id = $(( (i * 7919) % rows + 1 ));"; done | client; }
lock_waits() { client -N -e "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'INNODB_ROW_LOCK_WAITS'"; }

t0=$(ms); writer; t1=$(ms)
alone=$(( t1 - t0 ))
"$bin" --no-defaults -S "$dir/sock" -u root dupes --table shop.payments --columns payment_key --format json >/dev/null # warm the buffer pool
w0=$(lock_waits)
t0=$(ms)
writer & wpid=$!
# Peak RSS in KiB from GNU time.
scan() { /usr/bin/time -f "%M" -o "$dir/rss" "$bin" --no-defaults -S "$dir/sock" -u root dupes --table shop.payments --columns payment_key --format json > "$dir/dupes.json"; }
s0=$(ms); scan; s1=$(ms)
rss_pk=$(cat "$dir/rss")
wait $wpid; t1=$(ms)
w1=$(lock_waits)
scan=$(( s1 - s0 )); during=$(( t1 - t0 ))
field() { python3 -c "import json; print(json.load(open('$dir/dupes.json'))['$1'])"; }
groups=$(field duplicate_groups); passes=$(field passes); tracked=$(field key_memory_bytes)
echo "rows: $rows  duplicate groups: $groups"
echo "dupes in primary-key order ($passes passes): ${scan} ms = $(( rows * 1000 / (scan > 0 ? scan : 1) )) table rows/s; peak RSS $(( rss_pk / 1024 )) MB (key tracking $(( tracked / 1048576 )) MB)"
echo "writer, $updates UPDATEs alone: ${alone} ms ($(python3 -c "print(round($alone*1000/$updates, 1))") us each)"
echo "writer, $updates UPDATEs during the scan: ${during} ms ($(python3 -c "print(round($during*1000/$updates, 1))") us each)"
echo "InnoDB row-lock waits during the scan: $(( w1 - w0 ))"

client -e "ALTER TABLE shop.payments ADD INDEX ik_payment_key (payment_key)"
s0=$(ms); scan; s1=$(ms)
scan=$(( s1 - s0 )); rss_ix=$(cat "$dir/rss")
echo "dupes through the index ($(field read_through_index), $(field passes) pass, $(field duplicate_groups) groups): ${scan} ms = $(( rows * 1000 / (scan > 0 ? scan : 1) )) rows/s; peak RSS $(( rss_ix / 1024 )) MB (key tracking $(( $(field key_memory_bytes) / 1024 )) KB)"
