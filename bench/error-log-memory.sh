#!/usr/bin/env bash
# Peak memory and time of `lockdiag deadlock --error-log` on a generated log: the three captured
# deadlock prints of fixtures/live/error.log repeated among unrelated lines. Memory must not grow
# with the log. Usage: bench/error-log-memory.sh [MB ...] (default: 50 200).
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("${@:-50}")
[ $# -eq 0 ] && sizes=(50 200)
cargo build --release --quiet
dir=$(mktemp -d /tmp/lockdiag-log.XXXX)
trap 'rm -rf "$dir"' EXIT
for mb in "${sizes[@]}"; do
  python3 - "$dir/err.log" "$mb" <<'PY'
import sys
path, mb = sys.argv[1], int(sys.argv[2])
log = open("fixtures/live/error.log").read()
start = log.rfind("\n", 0, log.find("Transactions deadlock detected")) + 1
prints = log[start:]
target = mb << 20
rounds = max(1, round(20000 / 3 * mb / 200))  # 20,000 deadlocks per 200 MB
filler_per_gap = max(0, (target - len(prints) * rounds) // rounds)
line = "2026-11-23 12:00:00 4711 [Warning] Aborted connection 4711 to db: 'shop' user: 'app' host: '10.0.1.2' (Got timeout reading communication packets)\n"
gap = line * (filler_per_gap // len(line))
with open(path, "w") as f:
    for _ in range(rounds):
        f.write(gap)
        f.write(prints)
PY
  size=$(stat -c %s "$dir/err.log")
  /usr/bin/time -f "%e %M" -o "$dir/time" target/release/lockdiag deadlock --error-log "$dir/err.log" --format json > "$dir/out.json"
  read -r secs kb < "$dir/time"
  total=$(python3 -c "import json; print(json.load(open('$dir/out.json'))['deadlocks_total'])")
  echo "$((size >> 20)) MB log, $total deadlocks: ${secs}s = $(python3 -c "print(round($size/1048576/max($secs,0.01)))") MB/s, peak RSS $((kb / 1024)) MB"
done
