#!/usr/bin/env bash
# Installs what the tests need on Debian (the mariadb-server package: the tests
# start their own throwaway server from it; man-db; libxml2-utils; chromium; prometheus for promtool;
# systemd for systemd-analyze) and runs every test, ending with
# one line for the whole suite: `N passed, N failed` (`, N skipped` when the
# corpus beside the checkout is absent).
set -uo pipefail
cd "$(dirname "$0")/.."

# mariadb-server for the live tests; man-db to check that the generated man pages render;
# libxml2-utils (xmllint) to check that the SVG output is well-formed XML; chromium (headless)
# to open the HTML incident report as a browser does; prometheus for promtool and systemd for
# systemd-analyze (tests/deploy.rs checks the alerting rules, the example Prometheus configuration
# and the systemd units under deploy/).
missing=""
if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ]; then missing="mariadb-server"; fi
if ! command -v man >/dev/null 2>&1; then missing="$missing man-db"; fi
if ! command -v xmllint >/dev/null 2>&1; then missing="$missing libxml2-utils"; fi
if [ ! -x /usr/bin/chromium ]; then missing="$missing chromium"; fi
if ! command -v promtool >/dev/null 2>&1; then missing="$missing prometheus"; fi
if ! command -v systemd-analyze >/dev/null 2>&1; then missing="$missing systemd"; fi
if [ -n "$missing" ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq || exit 2
  # shellcheck disable=SC2086 # one word per package
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null || exit 2
  # Only promtool is wanted from prometheus: where systemd runs, the package starts a server on
  # 9090 (and the node exporter it recommends, on 9100). No test uses them: stop and disable both.
  case " $missing " in
    *" prometheus "*)
      if [ -d /run/systemd/system ]; then
        $sudo systemctl disable --now prometheus prometheus-node-exporter >/dev/null 2>&1 || true
      fi
      ;;
  esac
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
cargo test --locked 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# Sum the closing lines of every test binary: libtest's `test result: … N passed; N failed;`
# and the custom harnesses' `NAME: N passed, N failed[, N skipped]`.
read -r passed failed skipped < <(awk '
  /^test result: / {
    for (i = 1; i <= NF; i++) {
      if ($(i+1) ~ /^passed;/) p += $i
      if ($(i+1) ~ /^failed;/) f += $i
    }
  }
  /^[a-z]+: [0-9]+ passed, [0-9]+ failed/ {
    for (i = 1; i <= NF; i++) {
      if ($(i+1) ~ /^passed,?/) p += $i
      if ($(i+1) ~ /^failed,?/) f += $i
      if ($(i+1) ~ /^skipped/) s += $i
    }
  }
  END { printf "%d %d %d\n", p, f, s }' "$log")

if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1 # a binary that failed without a closing line (build error, crash)
fi
if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
exit "$status"
