#!/usr/bin/env bash
# Builds lockdiag's Debian package with cargo-deb (`cargo install --locked cargo-deb`):
#   1. the release binary;
#   2. what the binary generates from its own definitions, into target/deb-assets/:
#      man pages (`lockdiag man --dir`) and bash/zsh/fish completions (`lockdiag completions`);
#   3. `cargo deb --no-build`, which packs them with the systemd units and the Prometheus
#      examples as [package.metadata.deb] lists them (cargo-deb gzips the man pages itself).
# The package lands in target/debian/lockdiag_VERSION-1_ARCH.deb. Extra arguments go to
# cargo deb (e.g. --deb-revision 2, or -o DIR).
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! cargo deb --version >/dev/null 2>&1; then
  echo "build.sh: cargo-deb is not installed: cargo install --locked cargo-deb" >&2
  exit 2
fi

if ! grep -q '^\[package.metadata.deb\]' Cargo.toml; then
  echo "build.sh: Cargo.toml has no [package.metadata.deb]: it was removed" >&2
  exit 2
fi

cargo build --release --locked

bin=target/release/lockdiag
assets=target/deb-assets
rm -rf "$assets"
mkdir -p "$assets/man" "$assets/completions"
"$bin" man --dir "$assets/man"
"$bin" completions bash >"$assets/completions/lockdiag"
"$bin" completions zsh >"$assets/completions/_lockdiag"
"$bin" completions fish >"$assets/completions/lockdiag.fish"

cargo deb --no-build "$@"
