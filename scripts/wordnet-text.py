#!/usr/bin/env python3
"""Licence-clean English running text for the fast tier's English silver: WordNet 3.0's
glosses (Princeton's WordNet licence: use, copy, modify and distribute for any purpose,
with its copyright notice; Debian package `wordnet-base`).

    apt-get install wordnet-base
    python3 scripts/wordnet-text.py --out target/english/wordnet.txt

Writes one line a sentence:
  - every instance synset (a named person, place, organisation, event, work: 7,730 of
    them) as "Name, gloss." ("Abraham Lincoln, 16th President of the United States ..."):
    a name with the context that says what it is;
  - the definitions and quoted examples of the other synsets that name something: a
    capitalised word past the first ("a member of the Democratic Party"), since the rest
    teaches the fast tier only what an `O` looks like, which the gold has plenty of.
No line is invented or edited beyond joining the lemma to its gloss.
"""

import argparse
import os
import re
import sys

POS_FILES = ["data.noun", "data.verb", "data.adj", "data.adv"]
NAMED = re.compile(r"\S\s+[A-Z][a-z]")


def synsets(path):
    with open(path, encoding="latin-1") as f:
        for line in f:
            if line.startswith("  "):
                continue  # the licence header
            head, _, gloss = line.partition(" | ")
            parts = head.split()
            n_words = int(parts[3], 16)
            lemmas = [parts[4 + 2 * i].replace("_", " ") for i in range(n_words)]
            instance = " @i " in head
            yield lemmas, instance, gloss.strip()


def gloss_parts(gloss):
    """The definition and the quoted examples of a gloss."""
    examples = re.findall(r'"([^"]+)"', gloss)
    definition = re.sub(r'"[^"]*"', "", gloss).strip(" ;")
    return definition, examples


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--wordnet", default="/usr/share/wordnet")
    ap.add_argument("--out", default="target/english/wordnet.txt")
    a = ap.parse_args()
    if not os.path.exists(os.path.join(a.wordnet, "data.noun")):
        sys.exit(f"wordnet-text: {a.wordnet}/data.noun is missing (apt-get install wordnet-base)")
    lines, seen = [], set()

    def add(text):
        text = re.sub(r"\s+", " ", text).strip()
        if len(text.split()) >= 3 and text not in seen:
            seen.add(text)
            lines.append(text)

    instances = 0
    for fn in POS_FILES:
        for lemmas, instance, gloss in synsets(os.path.join(a.wordnet, fn)):
            definition, examples = gloss_parts(gloss)
            if instance:
                instances += 1
                add(f"{lemmas[0]}, {definition}.")
            elif NAMED.search(definition):
                add(definition[0].upper() + definition[1:] + ".")
            for ex in examples:
                if NAMED.search(ex):
                    add(ex)
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    with open(a.out, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    words = sum(len(l.split()) for l in lines)
    print(f"wrote {a.out}: {len(lines)} lines ({instances} instance glosses), {words} words", file=sys.stderr)


if __name__ == "__main__":
    main()
