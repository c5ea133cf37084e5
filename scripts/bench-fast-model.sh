#!/usr/bin/env bash
# The fast tier's tagging stage, this checkout against an earlier revision, in one run on
# one machine: tokens per CPU-second (alternating runs, so drift hits both alike) and,
# with CACHEGRIND=1, valgrind's instruction and cache-miss counts per token with a 2 MB
# last-level cache (counts that do not move with the host; the tagger's speed on small
# machines is bound by the misses).
#   scripts/bench-fast-model.sh [REV] [MODEL_OF_REV]
# REV defaults to c6e1d5d (the code before the compact layout, with the distilled
# model); MODEL_OF_REV optionally makes REV's binary load another model file (e.g. the
# model from before issue 13: git show ae2c0fa^:models/ner.bin > old.bin).
set -euo pipefail
cd "$(dirname "$0")/.."
REV=${1:-c6e1d5d}
OLD_MODEL=${2:--}
PASSES=${PASSES:-30}
ROUNDS=${ROUNDS:-3}
OLD=target/bench-prev/$REV
if [ ! -x "$OLD/bin/tag_loop" ]; then
  rm -rf "$OLD/src"
  mkdir -p "$OLD"
  git worktree add -f "$OLD/src" "$REV" >/dev/null
  # This checkout's loop (and its workload module), so both sides run the same workload.
  cp examples/tag_loop.rs "$OLD/src/examples/"
  if [ ! -d "$OLD/src/crates/newsflow-testkit" ]; then
    # A revision before the workspace: the workload as a module of the example, and the
    # fast model under its old path.
    mkdir -p "$OLD/src/examples/tag_loop_support"
    cp crates/newsflow-testkit/src/bench.rs "$OLD/src/examples/tag_loop_support/mod.rs"
    sed -i -e 's|^use newsflow_testkit::bench::|#[path = "tag_loop_support/mod.rs"]\nmod support;\nuse support::|' \
      -e 's|tag::fast::linear::Model|tag::linear::Model|' "$OLD/src/examples/tag_loop.rs"
  fi
  (cd "$OLD/src" && CARGO_TARGET_DIR="$PWD/../target" cargo build --release --quiet --example tag_loop)
  mkdir -p "$OLD/bin"
  cp "$OLD/target/release/examples/tag_loop" "$OLD/bin/"
  git worktree remove --force "$OLD/src"
fi
cargo build --release --quiet --example tag_loop
NEW=target/release/examples/tag_loop
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
lscpu | grep -E '^(L1d|L2|L3) cache' | sed 's/  */ /g'
for i in $(seq "$ROUNDS"); do
  echo "round $i: $REV: $("$OLD/bin/tag_loop" "$OLD_MODEL" "$PASSES")"
  echo "round $i: this checkout: $("$NEW" - "$PASSES")"
done
if [ "${CACHEGRIND:-0}" = 1 ]; then
  per_token() { # binary model label
    local out=target/bench-prev/cg
    mkdir -p $out
    for p in 0 3; do
      valgrind --tool=cachegrind --cache-sim=yes --LL=2097152,16,64 \
        --cachegrind-out-file=$out/$3.$p "$1" "$2" $p > $out/$3.$p.log 2>&1
    done
    python3 - "$out/$3" "$3" <<'PY'
import re, sys
base, label = sys.argv[1], sys.argv[2]
def counts(p):
    t = open(f"{base}.{p}.log").read()
    tokens = int(re.search(r"^(\d+) tokens", t, re.M).group(1))
    g = lambda k: int(re.search(k + r":\s+([\d,]+)", t).group(1).replace(",", ""))
    return tokens, g(r"I\s+refs"), g("D1  misses"), g("LL misses")
t, i0, d0, l0 = counts(0)
_, i3, d3, l3 = counts(3)
n = 3 * t
print(f"cachegrind {label}: per token {(i3 - i0) / n:,.0f} instructions, "
      f"{(d3 - d0) / n:.1f} D1 misses, {(l3 - l0) / n:.2f} LL misses (2 MB LL)")
PY
  }
  per_token "$OLD/bin/tag_loop" "$OLD_MODEL" "$REV"
  per_token "$NEW" - this-checkout
fi
