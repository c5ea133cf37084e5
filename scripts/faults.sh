#!/usr/bin/env bash
# The fault-injection suite (also part of the default `cargo test`; this runs it alone):
# mock-cluster faults in both delivery modes (tests/faults.rs), exactly-once under repeated
# SIGKILL and injected transaction errors (tests/exactly_once.rs), and the repeated SIGKILL
# loop against tansu (tests/e2e_tansu.rs). Pass a count to run it several times in a row.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export NEWSFLOW_REQUIRE_TANSU=1
runs="${1:-1}"
for i in $(seq 1 "$runs"); do
  echo "== fault suite run $i/$runs"
  cargo test --test faults --test exactly_once --test e2e_tansu --test hostile -- --test-threads 2
done
