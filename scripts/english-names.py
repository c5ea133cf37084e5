#!/usr/bin/env python3
"""English name lists for the fast tier's name-list features (`train-ner --name-lists`),
written beside links to the Hebrew lists so that one folder holds both.

    pip install names==0.3.0          # the 1990 US Census name files (public domain)
    apt-get install wordnet-base      # WordNet 3.0 (Princeton's WordNet licence)
    python3 scripts/english-names.py --hebrew ../shared/data/gazetteers --out target/name-lists

Writes into --out:
  PER_first_names_en.txt  the Census 1990 male and female first names (5,163), title case
                          as they appear in running text ("James");
  PER_last_names_en.txt   the Census 1990 surnames, the most frequent --last (30,000);
  PER_people_en.txt       WordNet's named persons of two words or more ("Abraham Lincoln"):
                          first word a first name, last word a last name, every word a
                          public person's;
and a link to every file of --hebrew. The trainer learns how much each flag says, so a
listed word that is also a common word ("Young", "Will") costs nothing.
"""

import argparse
import os
import sys


def census_dir():
    try:
        import names
    except ImportError:
        sys.exit("english-names: needs the Census files of `pip install names==0.3.0`")
    return os.path.dirname(names.__file__)


def census(path, limit=None):
    out = []
    with open(path, encoding="ascii") as f:
        for line in f:
            if line.strip():
                out.append(line.split()[0].title())
    return out[:limit] if limit else out


def wordnet_people(wordnet):
    """Lemmas of WordNet's instance synsets in the person lexicographer file (18)."""
    path = os.path.join(wordnet, "data.noun")
    if not os.path.exists(path):
        sys.exit(f"english-names: {path} is missing (apt-get install wordnet-base)")
    people = []
    with open(path, encoding="latin-1") as f:
        for line in f:
            if line.startswith("  "):
                continue
            head = line.partition(" | ")[0]
            parts = head.split()
            if parts[1] != "18" or " @i " not in head:
                continue
            for i in range(int(parts[3], 16)):
                lemma = parts[4 + 2 * i].replace("_", " ")
                if len(lemma.split()) >= 2 and lemma[0].isupper():
                    people.append(lemma)
    return people


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hebrew", default="../shared/data/gazetteers")
    ap.add_argument("--wordnet", default="/usr/share/wordnet")
    ap.add_argument("--last", type=int, default=30000, help="how many of the most frequent surnames")
    ap.add_argument("--out", default="target/name-lists")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    cdir = census_dir()
    first = sorted(set(census(os.path.join(cdir, "dist.male.first")) + census(os.path.join(cdir, "dist.female.first"))))
    last = census(os.path.join(cdir, "dist.all.last"), a.last)
    people = sorted(set(wordnet_people(a.wordnet)))
    for name, items in (("PER_first_names_en.txt", first), ("PER_last_names_en.txt", last), ("PER_people_en.txt", people)):
        with open(os.path.join(a.out, name), "w", encoding="utf-8") as f:
            f.write("\n".join(items) + "\n")
        print(f"{name}: {len(items)} names", file=sys.stderr)
    for fn in sorted(os.listdir(a.hebrew)):
        dst = os.path.join(a.out, fn)
        if os.path.lexists(dst):
            os.remove(dst)
        os.symlink(os.path.abspath(os.path.join(a.hebrew, fn)), dst)
    print(f"linked {len(os.listdir(a.hebrew))} Hebrew lists from {a.hebrew}", file=sys.stderr)


if __name__ == "__main__":
    main()
