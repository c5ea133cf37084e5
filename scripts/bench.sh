#!/usr/bin/env bash
# Runs the benchmark set and writes a markdown report (default: bench-report.md):
#   1. per-core CPU-time throughput of the normalization steps (examples/profile_norm.rs);
#   2. criterion benches of the core (benches/core.rs; normalization also in CPU time);
#   3. the end-to-end benchmark against tansu, enriched and pass-through (examples/bench_e2e.rs).
# Usage: scripts/bench.sh [OUT.md] [ARTICLES] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
out="${1:-bench-report.md}"
articles="${2:-20000}"
runs="${3:-3}"
command -v tansu >/dev/null 2>&1 || cargo install tansu --locked --features dynostore
cargo build --release --bins --examples
{
  echo "# newsflow benchmark report"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  echo "## Normalization steps (per-core CPU time)"
  echo
  echo '```'
  ./target/release/examples/profile_norm
  echo '```'
  echo
  echo "## Core (criterion: wall clock; normalize_cpu in thread CPU time)"
  echo
  echo '```'
  cargo bench --bench core 2>/dev/null | grep -E '^(normalize|normalize_cpu|enrich)/|time:|thrpt:'
  echo '```'
  echo
  echo "## End to end against tansu"
  echo
  ./target/release/examples/bench_e2e --articles "$articles" --runs "$runs"
} | tee "$out"
