#!/usr/bin/env bash
# Makes the README's pictures from fixtures, so they show what this lockdiag prints:
#   docs/deadlock.svg  `deadlock --format svg` of the seed deadlock (payments ↔ reservations)
#   docs/report.png    the HTML incident report of a snapshot and an error log, as headless
#                      Chromium shows it at 1280 px (Debian: chromium)
# Run from anywhere; needs a built lockdiag (cargo build --release) or builds one.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=target/release/lockdiag
"$bin" deadlock --file fixtures/live/payments-reservations.status.txt --format svg >docs/deadlock.svg
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$bin" --from fixtures/snapshot/chain.json report \
  --error-log fixtures/live/error.log --server-tz UTC --out "$work/report.html"
chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
  --proxy-server=127.0.0.1:9 --user-data-dir="$work/profile" \
  --window-size=1280,2200 --hide-scrollbars --screenshot="$work/report.png" \
  "file://$work/report.html" 2>/dev/null
cp "$work/report.png" docs/report.png
echo "wrote docs/deadlock.svg and docs/report.png"
