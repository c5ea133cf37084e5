#!/usr/bin/env python3
"""The accurate tier's encoder beside ONNX Runtime (issue 25), Python half.

Reads what `cargo bench --bench peer` wrote under target/peer/ (the encoder windows
of the benchmark articles, the labels the Rust encoder chose, its timings), exports the shipped
model (models/ner-accurate.bin) to ONNX, quantizes it with ONNX Runtime's dynamic int8
quantization, runs it on one thread over the very same windows, and prints one table: tokens
per CPU-second of both, the CPU model, label agreement, and the roofline of the Rust kernel
(from target/peer/perf.txt when scripts/peer-bench.sh could profile).

    scripts/peer-bench.sh            # both halves, one run (the documented command)
    python3 scripts/peer-bench.py    # this half again, on the files already there

Needs: pip install numpy onnx onnxruntime
"""

import argparse
import json
import math
import os
import re
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "accurate"))
from check import read_model  # noqa: E402

OUT = "target/peer"


def export_onnx(m, path):
    """The encoder and head as an ONNX graph of standard operators (the layout a PyTorch
    export of a BERT token classifier has: MatMul + Add linears, erf GELU, LayerNormalization),
    with the shipped file's weights dequantized to f32. Inputs `input_ids` and
    `attention_mask` [1, T]; output
    `logp` [1, T, labels], log-probabilities at every piece."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    t, H, NH, NL = m["t"], m["H"], m["NH"], m["NL"]
    hd = H // NH
    inits, nodes = [], []

    def const(name, arr):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def node(op, ins, out, **kw):
        nodes.append(helper.make_node(op, ins, [out], **kw))
        return out

    f32 = lambda a: np.asarray(a, np.float32)  # noqa: E731
    const("word", f32(t["word.weight"]))
    const("pos", f32(t["pos.weight"]))
    const("tt", f32(t["tok_type"][0]))
    const("eln_w", f32(t["eln.weight"][0]))
    const("eln_b", f32(t["eln.bias"][0]))
    const("zero", np.array([0], np.int64))
    const("heads_shape", np.array([0, -1, NH, hd], np.int64))
    const("hidden_shape", np.array([0, -1, H], np.int64))
    const("sqrt_hd", np.array(math.sqrt(hd), np.float32))
    const("axis1", np.array([1], np.int64))
    const("axis2", np.array([2], np.int64))
    const("f_big_negative", np.array(-10000.0, np.float32))
    const("sqrt2", np.array(math.sqrt(2.0), np.float32))
    const("f_one", np.array(1.0, np.float32))
    const("f_half", np.array(0.5, np.float32))

    node("Shape", ["input_ids"], "seq_len", start=1, end=2)
    # The attention mask as a BERT export writes it (all ones here: one window a run), so
    # that ONNX Runtime's transformer optimizer recognizes and fuses the attention.
    node("Unsqueeze", ["attention_mask", "axis1"], "mask3")
    node("Unsqueeze", ["mask3", "axis2"], "mask4")
    node("Cast", ["mask4"], "maskf", to=TensorProto.FLOAT)
    node("Sub", ["f_one", "maskf"], "mask_inv")
    node("Mul", ["mask_inv", "f_big_negative"], "mask_bias")
    node("Gather", ["word", "input_ids"], "we")
    node("Slice", ["pos", "zero", "seq_len", "zero"], "pe")
    node("Add", ["we", "pe"], "e1")
    node("Add", ["e1", "tt"], "e2")
    x = node("LayerNormalization", ["e2", "eln_w", "eln_b"], "x_emb", axis=-1, epsilon=m["eps"])

    def linear(x, name, w, b):
        const(name + ".wT", f32(w).T)
        const(name + ".b", f32(b[0]))
        y = node("MatMul", [x, name + ".wT"], name + ".mm")
        return node("Add", [y, name + ".b"], name + ".out")

    def add_norm(x, y, name, w, b):
        """LayerNorm(x + y), the residual step after attention and after the feed-forward."""
        const(name + ".w", f32(w[0]))
        const(name + ".b", f32(b[0]))
        r = node("Add", [x, y], name + ".sum")
        return node("LayerNormalization", [r, name + ".w", name + ".b"], name + ".out", axis=-1, epsilon=m["eps"])

    for i in range(NL):
        p = lambda s: t[f"layers.{i}.{s}"]  # noqa: E731
        n = f"l{i}"
        q = linear(x, n + ".q", p("q.weight"), p("q.bias"))
        k = linear(x, n + ".k", p("k.weight"), p("k.bias"))
        v = linear(x, n + ".v", p("v.weight"), p("v.bias"))
        q = node("Transpose", [node("Reshape", [q, "heads_shape"], n + ".qr")], n + ".qt", perm=[0, 2, 1, 3])
        k = node("Transpose", [node("Reshape", [k, "heads_shape"], n + ".kr")], n + ".kt", perm=[0, 2, 3, 1])
        v = node("Transpose", [node("Reshape", [v, "heads_shape"], n + ".vr")], n + ".vt", perm=[0, 2, 1, 3])
        s = node("MatMul", [q, k], n + ".s")
        s = node("Div", [s, "sqrt_hd"], n + ".ss")
        s = node("Add", [s, "mask_bias"], n + ".sm")
        a = node("Softmax", [s], n + ".p", axis=-1)
        c = node("MatMul", [a, v], n + ".c")
        c = node("Transpose", [c], n + ".ct", perm=[0, 2, 1, 3])
        c = node("Reshape", [c, "hidden_shape"], n + ".cr")
        o = linear(c, n + ".ao", p("ao.weight"), p("ao.bias"))
        x = add_norm(x, o, n + ".aln", p("aln.weight"), p("aln.bias"))
        h = linear(x, n + ".fi", p("fi.weight"), p("fi.bias"))
        g = node("Erf", [node("Div", [h, "sqrt2"], n + ".gd")], n + ".ge")
        g = node("Mul", [h, node("Add", [g, "f_one"], n + ".ga")], n + ".gm")
        g = node("Mul", [g, "f_half"], n + ".gelu")
        o = linear(g, n + ".fo", p("fo.weight"), p("fo.bias"))
        x = add_norm(x, o, n + ".oln", p("oln.weight"), p("oln.bias"))
    logits = linear(x, "head", t["head.weight"], t["head.bias"])
    node("LogSoftmax", [logits], "logp", axis=-1)

    graph = helper.make_graph(
        nodes,
        "newsflow_accurate_encoder",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["B", "T"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["B", "T"])],
        [helper.make_tensor_value_info("logp", TensorProto.FLOAT, ["B", "T", t["head.weight"].shape[0]])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, path)


def read_windows(path):
    """The windows of windows.tsv: (batch, ids, firsts, Rust's labels)."""
    windows = []
    for line in open(path, encoding="utf-8"):
        batch, ids, firsts, labels = line.rstrip("\n").split("\t")
        windows.append((int(batch), np.array([int(v) for v in ids.split()], np.int64),
                        [int(v) for v in firsts.split()], np.array([int(v) for v in labels.split()])))
    return windows


def padded_batches(windows):
    """The windows grouped as the Rust tier batches them, each group padded to its longest
    window: (input_ids, attention_mask, indices of its windows)."""
    groups = {}
    for i, w in enumerate(windows):
        groups.setdefault(w[0], []).append(i)
    out = []
    for idx in groups.values():
        n = max(len(windows[i][1]) for i in idx)
        ids = np.zeros((len(idx), n), np.int64)
        mask = np.zeros((len(idx), n), np.int64)
        for r, i in enumerate(idx):
            k = len(windows[i][1])
            ids[r, :k] = windows[i][1]
            mask[r, :k] = 1
        out.append((ids, mask, idx))
    return out


def session(path, ort):
    o = ort.SessionOptions()
    o.intra_op_num_threads = 1
    o.inter_op_num_threads = 1
    o.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    o.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, o, providers=["CPUExecutionProvider"])


def best_pass(secs, f):
    """CPU seconds of this process for one pass of `f`, the best of passes until `secs`."""
    start, best = time.perf_counter(), math.inf
    while time.perf_counter() - start < secs or best == math.inf:
        c0 = time.process_time()
        f()
        best = min(best, time.process_time() - c0)
    return best


def run_one_by_one(sess, windows):
    return [sess.run(["logp"], {"input_ids": w[1][None], "attention_mask": np.ones((1, len(w[1])), np.int64)})[0][0]
            for w in windows]


def run_batched(sess, windows, batches):
    outs = [None] * len(windows)
    for ids, mask, idx in batches:
        lp = sess.run(["logp"], {"input_ids": ids, "attention_mask": mask})[0]
        for r, i in enumerate(idx):
            outs[i] = lp[r]
    return outs


def agreement(outs, windows):
    same = total = 0
    for lp, (_, _, firsts, labels) in zip(outs, windows):
        got = lp[firsts].argmax(-1)
        same += int((got == labels).sum())
        total += len(labels)
    return same, total


def cpu_mhz():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("cpu MHz"):
                return float(line.split(":")[1])
    except OSError:
        pass
    return None


def gemm_share(path):
    """Shares of the encoder's profile (perf report --stdio --no-children --sort sym):
    the int8 kernel, matrixmultiply (f32 attention products and the head), the rest."""
    if not os.path.exists(path):
        return None
    int8 = f32 = total = 0.0
    for line in open(path, encoding="utf-8", errors="replace"):
        mt = re.match(r"\s*([\d.]+)%\s+\S+\s+\[\.\]\s+(.*)", line) or re.match(r"\s*([\d.]+)%\s+\[\.\]\s+(.*)", line)
        if not mt:
            continue
        share, sym = float(mt.group(1)), mt.group(2)
        total += share
        if "int8::vnni::" in sym or "int8::avx2::" in sym:
            int8 += share
        elif "matrixmultiply" in sym or "sgemm" in sym:
            f32 += share
    if total == 0:
        return None
    return {"int8_gemm": int8 / total, "f32_gemm": f32 / total, "other": 1 - (int8 + f32) / total}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="models/ner-accurate.bin")
    ap.add_argument("--secs", type=float, default=10.0, help="time budget of each timing (best pass)")
    ap.add_argument("--vnni-macs-per-cycle", type=int, default=64,
                    help="int8 multiply-adds per cycle of one core: 64 for one 512-bit vpdpbusd a cycle "
                         "(Zen 4, most Ice Lake/Sapphire Rapids cores), 128 where two ports take it")
    a = ap.parse_args()
    import onnx
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    rust = json.load(open(os.path.join(OUT, "rust.json")))
    windows = read_windows(os.path.join(OUT, "windows.tsv"))
    m = read_model(a.model)
    from onnxruntime.transformers.optimizer import optimize_model

    f32_path = os.path.join(OUT, "encoder-f32.onnx")
    fused_path = os.path.join(OUT, "encoder-f32-fused.onnx")
    export_onnx(m, f32_path)
    # ONNX Runtime's BERT recipe: fuse attention, GELU and skip layer norm offline
    # (opt_level 0: the python fusions only; the session applies its own at load), then
    # quantize. Both the plain and the fused graph are measured; the faster is the peer.
    fused = optimize_model(f32_path, model_type="bert", num_heads=m["NH"], hidden_size=m["H"], opt_level=0)
    fused.save_model_to_file(fused_path)
    variants = [("f32", f32_path), ("f32-fused", fused_path)]
    for name, path in list(variants):
        q = path.replace(".onnx", "-int8.onnx").replace("f32", "q")
        quantize_dynamic(path, q, weight_type=QuantType.QInt8, per_channel=True,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        variants.append((name.replace("f32", "int8"), q))

    batches = padded_batches(windows)
    results = {}
    for name, path in variants:
        sess = session(path, ort)
        for how, run in [("one by one", lambda: run_one_by_one(sess, windows)),
                         ("batched", lambda: run_batched(sess, windows, batches))]:
            if how == "batched" and not name.startswith("int8"):
                continue
            outs = run()  # warm-up, and the labels
            same, total = agreement(outs, windows)
            secs = best_pass(a.secs, run)
            results[f"{name}|{how}"] = {"cpu_s": secs, "agree": same, "words": total,
                                        "bytes": os.path.getsize(path)}

    tokens, pieces = rust["tokens"], rust["pieces"]
    H, NL, FF = m["H"], m["NL"], m["t"]["layers.0.fi.weight"].shape[0]
    lin_per_piece = NL * (4 * H * H + 2 * H * FF)
    attn = sum(2 * NL * len(w[1]) ** 2 * H for w in windows)
    lin = lin_per_piece * pieces
    mhz = cpu_mhz()
    nominal = a.vnni_macs_per_cycle * mhz * 1e6 if mhz else None
    measured = rust.get("measured_int8_peak_macs_per_s")
    peak = measured or nominal
    prof = gemm_share(os.path.join(OUT, "perf.txt"))

    print(f"CPU: {rust['cpu']}   (same run; one thread each; best pass of {a.secs:.0f} s, CPU time)")
    print(f"input: {rust['articles']} Hebrew articles of ~5 KB, {tokens} tokens, {len(windows)} windows "
          f"in {rust['batches']} batches, {pieces} pieces ({pieces / tokens:.2f} a token)")
    names = {"int8": "int8 (quantize_dynamic, per-channel)",
             "int8-fused": "int8, fused attention/GELU/skip-LN",
             "f32": "f32", "f32-fused": "f32, fused"}
    rows = [(f"Rust encoder, {rust['kernel']} kernel, batches of {rust['batch_pieces']} pieces",
             rust["encoder_cpu_s"], None)]
    rows += [(f"Rust encoder, {o['kernel']} kernel, same batches", o["encoder_cpu_s"],
              {"agree": o["labels_equal"], "words": o["labels"]})
             for o in rust.get("other_kernels", [])]
    rows += [(f"ONNX Runtime {ort.__version__} {names[n.split('|')[0]]}, {n.split('|')[1]}", r["cpu_s"], r)
             for n, r in results.items()]
    print(f"{'encoder':84} {'tokens/CPU-s':>12} {'labels = Rust':>14}")
    for label, secs, r in rows:
        agree = f"{100 * r['agree'] / r['words']:.2f}%" if r else "—"
        print(f"{label:84} {tokens / secs:12.0f} {agree:>14}")
    peer = min((n for n in results if n.startswith("int8")), key=lambda n: results[n]["cpu_s"])
    ratio = results[peer]["cpu_s"] / rust["encoder_cpu_s"]
    print(f"Rust / ONNX Runtime int8 (its fastest: {peer.replace('|', ', ')}): {ratio:.2f}x")
    print(f"whole tagging stage: accurate {tokens / rust['accurate_stage_cpu_s']:.0f} tokens/CPU-s, "
          f"fast {tokens / rust['fast_stage_cpu_s']:.0f}")
    print(f"roofline: {lin_per_piece / 1e6:.1f} M linear multiply-adds a piece "
          f"({lin_per_piece * pieces / tokens / 1e6:.1f} M a token), attention products "
          f"{attn / tokens / 1e6:.1f} M a token")
    report = {"rust": rust, "onnxruntime": ort.__version__, "ort": results, "ratio_rust_over_ort_int8": 1 / ratio,
              "linear_macs_per_piece": lin_per_piece, "attention_macs": attn, "profile": prof}
    if peak:
        if nominal:
            print(f"  int8 peak, nominal: {a.vnni_macs_per_cycle} multiply-adds a cycle x {mhz:.0f} MHz "
                  f"(/proc/cpuinfo) = {nominal / 1e9:.0f} G/s")
        if measured:
            print(f"  int8 peak, measured (24 independent vpdpbusd in registers, this core, this run): "
                  f"{measured / 1e9:.0f} G/s = {measured / 64 / 1e6:.0f} M zmm instructions a second")
        print(f"  at {peak / 1e9:.0f} G/s the linears alone allow {peak / (lin / tokens):.0f} tokens/s")
        whole = lin / rust["encoder_cpu_s"] / peak
        print(f"  whole encoder: {100 * whole:.0f}% of peak (linear multiply-adds over all its time)")
        report["peak_macs_per_s"] = peak
        if prof:
            gemm_s = rust["encoder_cpu_s"] * prof["int8_gemm"]
            inside = lin / gemm_s / peak
            print(f"  profile: int8 kernel {100 * prof['int8_gemm']:.0f}% of the encoder's time, f32 products "
                  f"(attention, head) {100 * prof['f32_gemm']:.0f}%, outside products {100 * prof['other']:.0f}%")
            print(f"  inside the int8 kernel: {100 * inside:.0f}% of peak")
            report["inside_gemm_fraction_of_peak"] = inside
        else:
            print("  (no target/peer/perf.txt: the GEMM share needs scripts/peer-bench.sh with perf)")
    json.dump(report, open(os.path.join(OUT, "report.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
