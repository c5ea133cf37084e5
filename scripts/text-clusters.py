#!/usr/bin/env python3
"""Builds word classes from running Hebrew text (issue 13): word2vec vectors, clustered.

`scripts/word-clusters.py` embeds each word of a frequency list on its own with a sentence
encoder, so its classes follow spelling as much as use. Here words are classed by the
contexts they occur in, learned from `../shared/data/hebrew_text/` (~8.3 M words, licences
in its SOURCES.md): skip-gram vectors (gensim word2vec), then spherical k-means at three
granularities, written in the same TSV form (`word<TAB>c1<TAB>c2<TAB>c3`) that
`newsflow train-ner --clusters FILE` reads.

The laws are most of the text and all of one register: only every --laws-every'th line of
them is kept (and of the Knesset item titles every --titles-every'th). Prefixed forms are
words of their own here; the tagger also looks up the prefix-stripped stem.

With --combine FILE the vectors are joined to another table's words: the output keeps the
words of FILE, each word with a context vector gets the text classes, the others keep the
classes of FILE shifted past the text ids (so the two never share an id).

Reproduce (about 5 minutes; one word2vec thread, so the output is the same every run):
    pip install gensim==4.4.0 numpy
    python3 scripts/text-clusters.py --data ../shared/data --out target/text_clusters.tsv
"""

import argparse
import os
import random
import re
import sys
import time

import numpy as np

TOKEN = re.compile(r"[\u05D0-\u05EA]+(?:[\"'][\u05D0-\u05EA]+)*'?|[A-Za-z]+|\d+")


def sentences(data, laws_every, titles_every, seed):
    """Tokenized lines of hebrew_text (laws and titles down-sampled), in a fixed order."""
    folder = os.path.join(data, "hebrew_text")
    out = []
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".txt"):
            continue
        every = laws_every if name == "il_laws.txt" else titles_every if name == "knesset_titles.txt" else 1
        with open(os.path.join(folder, name), encoding="utf-8", errors="replace") as f:
            for n, line in enumerate(f):
                if n % every:
                    continue
                line = line.replace("\u05F4", '"').replace("\u05F3", "'")
                toks = TOKEN.findall(line)
                if len(toks) > 1:
                    out.append(toks)
    random.Random(seed).shuffle(out)
    return out


def kmeans(x, k, seed):
    """Spherical k-means, the same as scripts/word-clusters.py's (loaded from it)."""
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "word-clusters.py")
    spec = importlib.util.spec_from_file_location("word_clusters", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.kmeans(x, k, seed, iters=25)


def stable_hash(text):
    """A string hash that is the same in every process (crc32), for gensim's seeding."""
    import zlib

    return zlib.crc32(text.encode("utf-8"))


def read_table(path):
    words, ids = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            p = line.rstrip("\n").split("\t")
            words.append(p[0])
            ids.append([int(v) for v in p[1:4]])
    return words, ids


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--out", default="target/text_clusters.tsv")
    ap.add_argument("--levels", default="64,512,2048")
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--window", type=int, default=5)
    ap.add_argument("--min-count", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--laws-every", type=int, default=6)
    ap.add_argument("--titles-every", type=int, default=2)
    ap.add_argument("--combine", help="a word-clusters TSV whose words are kept")
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    from gensim.models import Word2Vec

    t0 = time.time()
    sents = sentences(args.data, args.laws_every, args.titles_every, args.seed)
    n_words = sum(len(s) for s in sents)
    print(f"{len(sents)} lines, {n_words} words ({time.time() - t0:.0f}s)", file=sys.stderr)
    model = Word2Vec(
        sents,
        vector_size=args.dim,
        window=args.window,
        min_count=args.min_count,
        sg=1,
        negative=10,
        sample=1e-4,
        epochs=args.epochs,
        # One thread and a hash that does not change between processes (gensim seeds each
        # word's initial vector with `hashfxn`, Python's salted `hash` by default): the
        # same data and seed give the same vectors, so a rebuild gives the same classes.
        workers=1,
        hashfxn=stable_hash,
        seed=args.seed,
    )
    vocab = list(model.wv.index_to_key)
    x = model.wv.vectors.astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True) + 1e-9
    print(f"{len(vocab)} words with vectors ({time.time() - t0:.0f}s)", file=sys.stderr)
    levels = [int(k) for k in args.levels.split(",")]
    assigns = [kmeans(x, k, args.seed + i) for i, k in enumerate(levels)]
    table = {w: [int(a[i]) for a in assigns] for i, w in enumerate(vocab)}
    source = "word2vec skip-gram on ../shared/data/hebrew_text"
    if args.combine:
        words, ids = read_table(args.combine)
        kept = {}
        for w, c in zip(words, ids):
            kept[w] = table.get(w) or [v + k for v, k in zip(c, levels)]
        for w, c in table.items():
            kept.setdefault(w, c)
        table = kept
        source += f", joined with {os.path.basename(args.combine)} (ids >= k: its classes)"
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(
            "# newsflow word clusters (scripts/text-clusters.py): word, then its spherical k-means\n"
            f"# cluster at k = {', '.join(map(str, levels))}; vectors: {source}.\n"
        )
        for w, c in table.items():
            if "\t" not in w:
                f.write(w + "\t" + "\t".join(map(str, c)) + "\n")
    print(f"wrote {len(table)} words to {args.out} in {time.time() - t0:.0f}s", file=sys.stderr)


if __name__ == "__main__":
    main()
