#!/usr/bin/env python3
"""Fits the entity-salience weights of `crates/newsflow-core/src/salience.rs` on GUM.

Gold: each GUM document's `# meta::salientEntities` (../shared/data/english/gum, CC BY 4.0
annotations). Candidates: the document's named entities (a mention with a Wikipedia
identity or a proper noun), described by the features newsflow computes at run time from
its own mentions of an entity:

  ln(1 + named mentions), mention in the title (the first sentence), position of the
  first mention and spread of the mentions (fractions of the document), and whether the
  entity is a value (time, quantity).

A logistic regression is fitted by gradient descent (no dependencies) and scored by
5-fold cross-validation over documents: precision and recall of "salient" at p >= 0.5.
The final weights, fitted on every document, are printed as Rust constants.

Usage: scripts/fit-salience.py [GUM_DIR]
"""
import glob
import math
import os
import random
import re
import sys

GUM = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(__file__), "..", "..", "shared", "data", "english", "gum")
MENTION = re.compile(r"\((\d+)-([a-z]+)([^()]*)(\))?|(\d+)\)")
FEATURES = ["bias", "ln_mentions", "in_title", "first_position", "spread", "is_value"]


def read_doc(path):
    """Entities of one document: id -> dict(kind, named, mentions=[(start, end)], ...)."""
    salient, tokens, title_end = set(), 0, None
    open_, ents = {}, {}
    sentence = 0
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith("# meta::salientEntities"):
            salient = {int(m) for m in re.findall(r"(\d+) \(", line.split("=", 1)[1])}
        if line.startswith("# sent_id"):
            sentence += 1
        if not line and sentence == 1 and title_end is None:
            title_end = tokens
        if not line or line.startswith("#"):
            continue
        cols = line.split("\t")
        if "-" in cols[0] or "." in cols[0]:
            continue
        i = tokens
        tokens += 1
        misc = cols[9]
        propn = cols[3] == "PROPN"
        for stack in open_.values():
            for m in stack:
                m["propn"] |= propn
        ent = next((f[7:] for f in misc.split("|") if f.startswith("Entity=")), "")
        for m in MENTION.finditer(ent):
            if m.group(1):
                eid, kind, attrs, single = int(m.group(1)), m.group(2), m.group(3), m.group(4)
                e = ents.setdefault(eid, {"kind": kind, "mentions": [], "identity": False})
                parts = attrs.strip("-").split("-")
                if len(parts) >= 6 and parts[5]:
                    e["identity"] = True
                mention = {"start": i, "propn": propn}
                if single:
                    e["mentions"].append((i, i + 1, propn))
                else:
                    open_.setdefault(eid, []).append(mention)
            else:
                eid = int(m.group(5))
                if open_.get(eid):
                    mention = open_[eid].pop()
                    ents[eid]["mentions"].append((mention["start"], i + 1, mention["propn"]))
    return ents, salient, tokens, title_end or 0


def candidates(path):
    ents, salient, n, title_end = read_doc(path)
    rows = []
    for eid, e in ents.items():
        named = [m for m in e["mentions"] if m[2]]
        if not named and not e["identity"]:
            continue
        ms = named or e["mentions"]
        first, last = min(m[0] for m in ms), max(m[0] for m in ms)
        x = [
            1.0,
            math.log1p(len(ms)),
            1.0 if first < title_end else 0.0,
            first / max(n, 1),
            (last - first) / max(n, 1),
            1.0 if e["kind"] in ("time", "quantity") else 0.0,
        ]
        rows.append((x, 1 if eid in salient else 0))
    return rows


def fit(rows, epochs=3000, lr=0.5, l2=1e-3):
    w = [0.0] * len(FEATURES)
    for _ in range(epochs):
        g = [0.0] * len(w)
        for x, y in rows:
            p = 1 / (1 + math.exp(-sum(a * b for a, b in zip(w, x))))
            for j, xj in enumerate(x):
                g[j] += (p - y) * xj
        w = [wj - lr * (gj / len(rows) + l2 * wj) for wj, gj in zip(w, g)]
    return w


def predict(w, x):
    return 1 / (1 + math.exp(-sum(a * b for a, b in zip(w, x))))


def main():
    docs = sorted(glob.glob(os.path.join(GUM, "*.conllu")))
    if not docs:
        sys.exit(f"no GUM documents under {GUM}")
    per_doc = [candidates(p) for p in docs]
    random.Random(7).shuffle(per_doc)
    folds = 5
    tp = fp = fn = 0
    for k in range(folds):
        train = [r for i, d in enumerate(per_doc) if i % folds != k for r in d]
        test = [r for i, d in enumerate(per_doc) if i % folds == k for r in d]
        w = fit(train)
        for x, y in test:
            p = predict(w, x) >= 0.5
            tp += p and y
            fp += p and not y
            fn += (not p) and y
    rows = [r for d in per_doc for r in d]
    prec = tp / max(tp + fp, 1)
    rec = tp / max(tp + fn, 1)
    print(f"GUM: {len(docs)} documents, {len(rows)} named entities, "
          f"{sum(y for _, y in rows)} salient")
    print(f"5-fold CV over documents, salient at p >= 0.5: precision {prec:.3f} "
          f"recall {rec:.3f} F1 {2 * prec * rec / max(prec + rec, 1e-9):.3f}")
    w = fit(rows)
    for name, v in zip(FEATURES, w):
        print(f"const W_{name.upper()}: f32 = {v:.4f};")


if __name__ == "__main__":
    main()
