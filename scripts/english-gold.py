#!/usr/bin/env python3
"""English entity gold for both tagger tiers, as BIOES files the trainers read.

    python3 scripts/english-gold.py --data ../shared/data --out target/english [--show 300]

Writes (one word a line, `word TAG`, blank line between sentences):
  uner_ewt_dev.bmes   Universal NER's English Web Treebank dev (IOB2 -> BIOES; PER, ORG, LOC;
                      OTH, where present, is O). Scheme `uner`.
  gum_names.bmes      the GUM documents' entity mentions turned into *names* (scheme `gum`):
                      GUM marks whole noun phrases of every kind ("the organization", "19 year
                      old Daniel Montalvo"). A mention is kept when its head word is a proper
                      noun; it is cut to the proper-noun run around the head (connectors such
                      as "of", "the", "&" kept only between proper nouns), and a person's
                      leading titles ("President", "Dr.") are dropped, the convention of the
                      rest of the tagger. Types: person -> PER, organization -> ORG,
                      place -> PLACE (GPE, LOC or FAC for the trainer), event -> EVE; other
                      kinds (objects, abstractions, times, quantities) are left O. Nested
                      mentions: the outermost kept one wins.
  uner_ewt_test.bmes  the English Web Treebank test file, converted the same way: the English
                      *evaluation* set (the trainers neither train nor choose on it; `ner-eval
                      --scheme uner` reads the IOB2 original directly).
`--show N` prints N converted GUM mentions beside the phrase they came from, for reading.
"""

import argparse
import os
import re
import sys

TITLES = {
    w.lower()
    for w in """President Vice Prime Minister Secretary Senator Sen. Sen Rep. Rep Representative
    Congressman Congresswoman Governor Gov. Gov Mayor King Queen Prince Princess Pope Dr. Dr Mr.
    Mr Mrs. Mrs Ms. Ms Miss Sir Dame Lord Lady General Gen. Gen Colonel Col. Captain Capt.
    Judge Justice Chancellor Chairman Chairwoman Chair CEO Professor Prof. Prof Saint St. Rev.
    Reverend Father Sister Lieutenant Lt. Sergeant Sgt. Admiral Commander Chief Officer
    Detective Emperor Empress Duke Duchess Count Countess Baron Sheikh Ayatollah Rabbi Bishop
    Archbishop Cardinal Ambassador Director Coach Speaker Premier Attorney Pastor Deputy Senior
    Junior Jr Grand Field Marshal Marshall Major Private Corporal Agent Inspector Superintendent
    Mister Madam Madame Monsieur Herr Frau Señor Don Doña Emir Sultan Tsar Czar Kaiser Pharaoh
    Chairperson Secretary-General Spokesman Spokeswoman Fellow Protector Lords Command
    Commander-in-Chief Scholars""".split()
}
PERSON_CONNECTORS = {"-", ".", "de", "du", "da", "von", "van", "der", "la", "le", "bin", "ibn", "al"}
CONNECTORS = {"of", "the", "&", "-", "de", "du", "da", "von", "van", "der", "la", "le", "for", "on", "upon", "."}
ETYPES = {"person": "PER", "organization": "ORG", "place": "PLACE", "event": "EVE"}
ENTITY_RE = re.compile(r"\(([^()]+)\)?|(\d+)\)")


def read_conllu(path):
    """Sentences as lists of token dicts (multiword ranges and empty nodes skipped)."""
    sents, cur = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                if cur:
                    sents.append(cur)
                    cur = []
                continue
            if line.startswith("#"):
                continue
            cols = line.split("\t")
            if "-" in cols[0] or "." in cols[0]:
                continue
            cur.append({"id": int(cols[0]), "form": cols[1], "upos": cols[3], "head": int(cols[6]), "misc": cols[9]})
    if cur:
        sents.append(cur)
    return sents


def mentions(sent):
    """(start, end, etype, identity) spans from the MISC `Entity=` brackets; end exclusive."""
    out, open_ = [], {}
    for i, tok in enumerate(sent):
        ent = next((kv[7:] for kv in tok["misc"].split("|") if kv.startswith("Entity=")), None)
        if ent is None:
            continue
        for m in ENTITY_RE.finditer(ent):
            if m.group(1) is not None:
                parts = m.group(1).split("-", 7)
                eid, etype = parts[0], parts[1] if len(parts) > 1 else ""
                identity = parts[7] if len(parts) > 7 else ""
                if m.group(0).endswith(")"):
                    out.append((i, i + 1, etype, identity))
                else:
                    open_.setdefault(eid, []).append((i, etype, identity))
            else:
                stack = open_.get(m.group(2))
                if stack:
                    start, etype, identity = stack.pop()
                    out.append((start, i + 1, etype, identity))
    return out


def span_head(sent, a, b):
    """The token of [a, b) whose syntactic head lies outside the span."""
    ids = {sent[k]["id"] for k in range(a, b)}
    for k in range(a, b):
        if sent[k]["head"] not in ids:
            return k
    return b - 1


def is_name_word(tok):
    """A proper noun, or a capitalised word inside a name ("New" York, "Catholic" Church)."""
    f = tok["form"]
    return tok["upos"] == "PROPN" or (f[:1].isupper() and tok["upos"] in ("ADJ", "NOUN", "VERB", "NUM", "X"))


def identity_agrees(words, identity):
    """A linked mention is kept only when its core names the linked entity: "the US" for
    United_States (an acronym), "Galois" for Évariste_Galois, not "a Fellow" for
    Daniel_Bernoulli nor "the Court" for a nine-word court's title."""
    if not identity:
        return True
    idw = {w.lower() for w in re.split(r"[_\s]|%2C|%28|%29", identity) if w}
    core = [w for w in words if len(w) > 1]
    if len(core) == 1 and core[0].isupper():
        return True
    if len(words) == 1 and len(idw) >= 3:
        return False
    return any(w.lower() in idw for w in core)


def name_core(sent, a, b, etype):
    """The proper-noun run around the head of [a, b), or None when the head is not one."""
    connectors = PERSON_CONNECTORS if etype == "PER" else CONNECTORS
    h = span_head(sent, a, b)
    if sent[h]["upos"] != "PROPN":
        return None
    propn = [k for k in range(a, b) if is_name_word(sent[k])]
    lo = hi = h
    while True:
        nxt = lo - 1
        while nxt >= a and sent[nxt]["form"].lower() in connectors and sent[nxt]["upos"] != "PROPN":
            nxt -= 1
        if nxt >= a and nxt in propn and nxt < lo:
            lo = nxt
            continue
        break
    while True:
        nxt = hi + 1
        while nxt < b and sent[nxt]["form"].lower() in connectors and sent[nxt]["upos"] != "PROPN":
            nxt += 1
        if nxt < b and nxt in propn and nxt > hi:
            hi = nxt
            continue
        break
    # a determiner never starts a name ("the United States" -> "United States")
    while lo < hi and sent[lo]["form"].lower() in CONNECTORS:
        lo += 1
    if etype == "PER":
        titled = [k for k in range(lo, hi + 1) if sent[k]["form"].lower() in TITLES]
        if titled:
            lo = titled[-1] + 1
            if lo > hi:
                return None
    return lo, hi + 1


def bioes(n, spans):
    tags = ["O"] * n
    for a, b, t in spans:
        if b - a == 1:
            tags[a] = "S-" + t
        else:
            tags[a] = "B-" + t
            for k in range(a + 1, b - 1):
                tags[k] = "I-" + t
            tags[b - 1] = "E-" + t
    return tags


def convert_gum(path, show):
    out, shown = [], []
    for sent in read_conllu(path):
        kept = []
        for a, b, etype, identity in sorted(mentions(sent), key=lambda m: (m[0], -(m[1] - m[0]))):
            t = ETYPES.get(etype)
            if t is None:
                continue
            core = name_core(sent, a, b, t)
            if core is None:
                continue
            ca, cb = core
            if not identity_agrees([x["form"] for x in sent[ca:cb]], identity):
                continue
            if t == "EVE" and not identity:
                continue
            if any(ca < kb and ka < cb for ka, kb, _ in kept):
                continue
            kept.append((ca, cb, t))
            shown.append((t, " ".join(x["form"] for x in sent[a:b]), " ".join(x["form"] for x in sent[ca:cb]), identity))
        words = [x["form"] for x in sent]
        out.append(list(zip(words, bioes(len(words), kept))))
    return out, shown


def convert_iob2(path):
    out, cur = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#"):
                continue
            if not line.strip():
                if cur:
                    out.append(cur)
                    cur = []
                continue
            cols = line.split("\t")
            tag = cols[2] if cols[2][2:] in ("PER", "ORG", "LOC") else "O"
            cur.append((cols[1], tag))
    if cur:
        out.append(cur)
    result = []
    for s in out:
        spans, i = [], 0
        while i < len(s):
            if s[i][1].startswith(("B-", "I-")):
                t = s[i][1][2:]
                j = i + 1
                while j < len(s) and s[j][1] == "I-" + t:
                    j += 1
                spans.append((i, j, t))
                i = j
            else:
                i += 1
        result.append(list(zip([w for w, _ in s], bioes(len(s), spans))))
    return result


def write_bmes(path, sents):
    with open(path, "w", encoding="utf-8") as f:
        for s in sents:
            for w, t in s:
                f.write(f"{w} {t}\n")
            f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--out", default="target/english")
    ap.add_argument("--show", type=int, default=0)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    eng = os.path.join(args.data, "english")
    test = convert_iob2(os.path.join(eng, "uner_ewt", "en_ewt-ud-test.iob2"))
    # Dev sentences whose words also make a test sentence (e-mail signatures such as
    # "Debra Perlingiere", greetings) are dropped: trained on, they would lift the test figure.
    in_test = {tuple(w for w, _ in s) for s in test}
    dev = convert_iob2(os.path.join(eng, "uner_ewt", "en_ewt-ud-dev.iob2"))
    ewt = [s for s in dev if tuple(w for w, _ in s) not in in_test]
    print(f"uner_ewt_dev: {len(dev) - len(ewt)} of {len(dev)} sentences dropped (also in test)", file=sys.stderr)
    write_bmes(os.path.join(args.out, "uner_ewt_dev.bmes"), ewt)
    write_bmes(os.path.join(args.out, "uner_ewt_test.bmes"), test)
    gum, shown = [], []
    gdir = os.path.join(eng, "gum")
    for fn in sorted(os.listdir(gdir)):
        if fn.endswith(".conllu"):
            s, sh = convert_gum(os.path.join(gdir, fn), args.show)
            gum.extend(s)
            shown.extend(sh)
    write_bmes(os.path.join(args.out, "gum_names.bmes"), gum)
    from collections import Counter

    counts = Counter(t for t, *_ in shown)
    print(f"uner_ewt_dev: {len(ewt)} sentences; gum_names: {len(gum)} sentences, "
          f"{len(shown)} names {dict(counts)}", file=sys.stderr)
    step = max(1, len(shown) // max(1, args.show)) if args.show else 0
    for t, phrase, core, identity in shown[::step][: args.show] if args.show else []:
        print(f"{t}\t{core}\t<- {phrase}\t{identity}")


if __name__ == "__main__":
    main()
