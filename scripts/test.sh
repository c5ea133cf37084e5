#!/usr/bin/env bash
# The project's test command: installs the out-of-process Kafka-compatible broker used by
# the end-to-end tests (tansu) when it is missing, then runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v tansu >/dev/null 2>&1; then
  echo "tansu not found: installing it (cargo install tansu --locked --features dynostore, ~10 min on 2 cores)"
  cargo install tansu --locked --features dynostore
fi
# The end-to-end tests fail instead of skipping when tansu is required but missing.
export NEWSFLOW_REQUIRE_TANSU=1
if cargo nextest --version >/dev/null 2>&1; then
  # Per-test processes, a time limit per test and retries for the broker tests
  # (.config/nextest.toml).
  cargo nextest run --workspace --all-targets "$@"
else
  echo "cargo-nextest not found: running cargo test (no per-test time limit or retries)"
  cargo test --workspace --all-targets "$@"
fi
