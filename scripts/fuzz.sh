#!/usr/bin/env bash
# Runs each libFuzzer target for a bounded time (seconds, default 45 each).
# Needs cargo-fuzz (installed when missing). The stable toolchain runs libFuzzer's
# sanitizer flags with RUSTC_BOOTSTRAP=1 (the only toolchain these machines have).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
export PATH="$HOME/.cargo/bin:$PATH"
secs="${1:-45}"
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1
for target in decode normalize enrich; do
  echo "fuzz: $target for ${secs}s"
  cargo fuzz run "$target" -- -max_total_time="$secs" -rss_limit_mb=4096 2>&1 | tail -n 3
  test "${PIPESTATUS[0]}" -eq 0
done
echo "fuzz: no crashes"
