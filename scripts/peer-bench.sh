#!/usr/bin/env bash
# The accurate tier's encoder beside ONNX Runtime's int8 (issue 25), one run:
#  1. `cargo bench --bench peer`: the Rust half (windows, labels, timings of the
#     encoder and of both tiers' whole tagging stage) into target/peer/;
#  2. with `perf` present, a profile of the Rust encoder (target/peer/perf.txt) for the
#     roofline's GEMM share;
#  3. scripts/peer-bench.py: ONNX export, dynamic int8 quantization, the same windows on one
#     thread, the table.
# Needs: pip install numpy onnx onnxruntime (and models/ner-accurate.bin, which ships).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c "import numpy, onnx, onnxruntime" 2>/dev/null || {
  echo "peer-bench: needs numpy, onnx and onnxruntime (pip install numpy onnx onnxruntime)" >&2
  exit 1
}
cargo bench --bench peer -- peer/encoder_windows
rm -f target/peer/perf.txt
if command -v perf >/dev/null 2>&1; then
  bin=$(ls -t target/release/deps/peer-* | grep -v '\.d$' | head -1)
  # -D: start sampling after the set-up (model files read, weights packed, the fast tier
  # built), so the shares are the encoder's own.
  if perf record -q -D 6000 -o target/peer/perf.data -- "$bin" --bench --profile-time 16 peer/encoder_windows \
    >/dev/null 2>&1; then
    perf report -q -i target/peer/perf.data --stdio --no-children --sort sym \
      >target/peer/perf.txt 2>/dev/null || rm -f target/peer/perf.txt
  else
    echo "peer-bench: perf record failed (perf_event_paranoid?): no GEMM share" >&2
  fi
fi
python3 scripts/peer-bench.py "$@"
