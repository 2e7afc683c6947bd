#!/usr/bin/env bash
# Fuzzes every text parser with millions of mutated real inputs (examples/fuzz_parsers.rs):
# multi-byte characters at random positions of real lines, cuts, spliced numbers and
# separators, dropped/repeated lines, raw bytes through the encoding sniffer. Prints
# `N inputs, P panics`; exits 1 (printing the first such input) when any input panicked.
# Usage: bench/fuzz-parsers.sh [INPUTS] [SEED]   (default: 10,000,000 inputs; ~5 min on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --example fuzz_parsers
exec ./target/release/examples/fuzz_parsers "${1:-10000000}" "${2:-24301}"
