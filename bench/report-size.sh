#!/usr/bin/env bash
# The incident report's size and build time for a one-hour recording at 200 waiters: one real
# snapshot of 200 sessions waiting on one row (examples/pileup.rs on a throwaway MariaDB) is
# written as 360 snapshots 10 s apart (record's default cooldown: one per 10 s while a
# trigger holds), then `lockdiag report --from DIR` builds the page.
# Usage: bench/report-size.sh [WAITERS] [SNAPSHOTS]
set -euo pipefail
cd "$(dirname "$0")/.."
waiters=${1:-200}
snapshots=${2:-360}
# shellcheck source=bench/server.sh
. bench/server.sh
start_server report --max-connections=$((waiters + 100)) --innodb-lock-wait-timeout=3600
client -e "CREATE DATABASE shop"
cargo build --release --quiet --example pileup
coproc PILEUP { target/release/examples/pileup "$dir/sock" "$waiters"; }
read -r ready _ <&"${PILEUP[0]}"
[ "$ready" = ready ] || { echo "pile-up did not form"; exit 1; }
sleep 2
"$bin" --no-defaults -S "$dir/sock" -u root snapshot --out "$dir/one.json" 2>/dev/null || true
eval "exec ${PILEUP[1]}>&-"
wait "$PILEUP_PID" || true
mkdir -p "$dir/rec"
python3 - "$dir/one.json" "$dir/rec" "$snapshots" <<'EOF'
import json, sys, datetime
src, out, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
doc = json.load(open(src))
start = datetime.datetime(2026, 12, 1, 3, 0, 0, tzinfo=datetime.timezone.utc)
for i in range(count):
    at = start + datetime.timedelta(seconds=10 * i)
    doc["collected_at_start"] = at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    doc["collected_at_end"] = (at + datetime.timedelta(milliseconds=200)).strftime("%Y-%m-%dT%H:%M:%S.200Z")
    doc["trigger"] = "lock-wait 5s >= 5s"
    name = "lockdiag-" + at.strftime("%Y%m%dT%H%M%S.000Z") + ".json"
    json.dump(doc, open(f"{out}/{name}", "w"))
EOF
snap_kb=$(du -k "$dir/one.json" | cut -f1)
/usr/bin/time -f "%e %M" -o "$dir/time" "$bin" --from "$dir/rec" report --out "$dir/rec/report.html" 2>"$dir/report.err"
read -r wall rss < <(tail -n 1 "$dir/time")
size=$(stat -c %s "$dir/rec/report.html")
echo "waiters=$waiters snapshots=$snapshots snapshot_kb=$snap_kb report_bytes=$size wall_s=$wall peak_rss_mb=$((rss / 1024))"
tail -n 2 "$dir/report.err"
