# Sourced by the bench scripts: a release build and a throwaway MariaDB in a temporary
# directory, removed on exit. `start_server NAME [mariadbd options…]` sets $dir, $bin and
# defines `client`; the server listens only on $dir/sock.
start_server() {
  local name=$1
  shift
  # A bench that times only the server (no lockdiag) sets NO_BUILD=1.
  [ -n "${NO_BUILD:-}" ] || cargo build --release --quiet
  bin=target/release/lockdiag
  dir=$(mktemp -d "/tmp/lockdiag-$name.XXXX")
  local user
  user=$(id -un)
  trap 'pkill -f -- "--datadir=$dir/data" 2>/dev/null || true; sleep 1; rm -rf "$dir"' EXIT
  mariadb-install-db --no-defaults --datadir="$dir/data" --auth-root-authentication-method=normal \
    --skip-test-db --user="$user" >/dev/null 2>&1
  mariadbd --no-defaults --datadir="$dir/data" --socket="$dir/sock" --port=0 --skip-networking \
    --user="$user" --log-error="$dir/err.log" "$@" >/dev/null 2>&1 &
  for _ in $(seq 100); do [ -S "$dir/sock" ] && break; sleep 0.1; done
}

client() { mariadb --no-defaults -S "$dir/sock" -uroot "$@"; }
