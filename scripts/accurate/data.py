"""Gold data for the accurate tier: BIOES files, label sets that bridge the schemes, and the
NEMO scoring rule.

Labels follow the Rust tagger (`src/core/tag/model.rs`): 0 is O, then B, I, E, S for each
of the 13 types in `EntityType::ALL` order, so the trained head needs no remapping.
"""

import random

TYPES = ["PER", "ORG", "GPE", "LOC", "FAC", "EVE", "WOA", "DUC", "ANG", "DATE", "TIME", "MONEY", "PERCENT"]
POS = "BIES"
N_LABELS = 1 + 4 * len(TYPES)


def label(pos, t):
    return 1 + 4 * TYPES.index(t) + POS.index(pos)


def split_label(lab):
    if lab == 0:
        return "O", None
    return POS[(lab - 1) % 4], TYPES[(lab - 1) // 4]


# Which of our types each scheme's categories stand for (a set: BMC's LOC covers three).
SCHEMES = {
    "nemo": {t: [t] for t in ["PER", "ORG", "GPE", "LOC", "FAC", "EVE", "WOA", "DUC", "ANG"]},
    "bmc": {
        "PER": ["PER"],
        "ORG": ["ORG"],
        "LOC": ["GPE", "LOC", "FAC"],
        "DATE": ["DATE"],
        "TIME": ["TIME"],
        "MONEY": ["MONEY"],
        "PERCENT": ["PERCENT"],
    },
    # IAHLT Knesset: NEMO's categories plus TIMEX (a date or a time); TTL, MISC and INFORMAL
    # are not entities of ours and read as O.
    "iahlt": dict(
        {t: [t] for t in ["PER", "ORG", "GPE", "LOC", "FAC", "EVE", "WOA", "DUC", "ANG"]},
        TIMEX=["DATE", "TIME"],
    ),
    # Universal NER (English Web Treebank): PER, ORG, LOC, where LOC is any place.
    "uner": {"PER": ["PER"], "ORG": ["ORG"], "LOC": ["GPE", "LOC", "FAC"]},
    # GUM's named mentions as scripts/english-gold.py converts them.
    "gum": {"PER": ["PER"], "ORG": ["ORG"], "PLACE": ["GPE", "LOC", "FAC"], "EVE": ["EVE"]},
}


def covered_types(scheme):
    return {t for ts in SCHEMES[scheme].values() for t in ts}


def allowed(tag, scheme):
    """The set of labels a gold tag allows: an O allows the types the scheme does not
    annotate; a category allows each of its types at the same position."""
    m = SCHEMES[scheme]
    if tag != "O":
        pos, _, cat = tag.partition("-")
        if cat in m and pos in POS:
            return sorted(label(pos, t) for t in m[cat])
    free = [t for t in TYPES if t not in covered_types(scheme)]
    return [0] + sorted(label(p, t) for t in free for p in POS)


def read_bmes(path):
    sents, cur = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip():
                if cur:
                    sents.append(cur)
                    cur = []
                continue
            word, tag = line.rsplit(None, 1) if (" " in line or "\t" in line) else (line, "O")
            cur.append((word, tag))
    if cur:
        sents.append(cur)
    return sents


def split_held_back(sents, frac, seed):
    idx = list(range(len(sents)))
    random.Random(seed).shuffle(idx)
    k = int(len(idx) * frac)
    held = set(idx[:k])
    return [s for i, s in enumerate(sents) if i not in held], [s for i, s in enumerate(sents) if i in held]


def mentions_from_tags(words, tags):
    """Strict BIOES decoding (the NEMO rule): S makes a mention, B..E a multi-word one, a
    broken sequence makes none; the category comes from B."""
    out, i = [], 0
    while i < len(tags):
        t = tags[i]
        if t.startswith("S-"):
            out.append((i, i + 1, t[2:]))
        elif t.startswith("B-"):
            cat = t[2:]
            j = i + 1
            while j < len(tags) and tags[j] == "I-" + cat:
                j += 1
            if j < len(tags) and tags[j] == "E-" + cat:
                out.append((i, j + 1, cat))
                i = j
        i += 1
    return out


def scheme_tags(labels, scheme):
    """Our labels as the scheme's tags (types outside the scheme read as O)."""
    inv = {t: cat for cat, ts in SCHEMES[scheme].items() for t in ts}
    out = []
    for lab in labels:
        pos, t = split_label(lab)
        out.append("O" if t is None or t not in inv else f"{pos}-{inv[t]}")
    return out


class Score:
    def __init__(self):
        self.tp = self.fp = self.fn = 0
        self.unseen_tp = self.unseen_n = 0

    def add(self, words, gold_tags, pred_tags, seen_words=None):
        from collections import Counter

        g = Counter((" ".join(words[a:b]), c) for a, b, c in mentions_from_tags(words, gold_tags))
        p = Counter((" ".join(words[a:b]), c) for a, b, c in mentions_from_tags(words, pred_tags))
        tp = sum((g & p).values())
        self.tp += tp
        self.fp += sum(p.values()) - tp
        self.fn += sum(g.values()) - tp
        if seen_words is not None:
            for (s, c), n in g.items():
                if any(w not in seen_words for w in s.split(" ")):
                    self.unseen_n += n
                    self.unseen_tp += min(n, p.get((s, c), 0))

    def f1(self):
        p = self.tp / max(1, self.tp + self.fp)
        r = self.tp / max(1, self.tp + self.fn)
        return 0.0 if p + r == 0 else 2 * p * r / (p + r)

    def row(self):
        p = self.tp / max(1, self.tp + self.fp)
        r = self.tp / max(1, self.tp + self.fn)
        u = self.unseen_tp / max(1, self.unseen_n)
        return f"F1 {100 * self.f1():.2f} P {100 * p:.2f} R {100 * r:.2f} unseen-R {100 * u:.2f} (n={self.unseen_n})"
