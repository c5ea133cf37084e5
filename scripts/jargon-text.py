#!/usr/bin/env python3
"""More licence-clean English running text for the fast tier's English silver: the Jargon
File 4.4.7 (public domain: "to be freely used, shared, and modified"; Debian package
`dict-jargon`), prose about computing people, companies, universities and places.

    apt-get install dict-jargon
    python3 scripts/jargon-text.py --out target/english/jargon.txt

Writes each entry's paragraphs one a line (3,746 lines, 192,533 words), with the File's
cross-reference braces ("{hacker}") removed and a leading "[techspeak]"-style usage label
dropped; headwords, pronunciations and paragraphs under five words are left out.
"""

import argparse
import gzip
import os
import re
import sys


def paragraphs(text):
    """Indented lines joined into paragraphs (the dictd layout: a headword line, then
    its paragraphs indented by four spaces)."""
    cur = []
    for line in text.split("\n"):
        if line.startswith("    "):
            cur.append(line.strip())
        elif cur:
            yield " ".join(cur)
            cur = []
    if cur:
        yield " ".join(cur)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dict", default="/usr/share/dictd/jargon.dict.dz")
    ap.add_argument("--out", default="target/english/jargon.txt")
    a = ap.parse_args()
    if not os.path.exists(a.dict):
        sys.exit(f"jargon-text: {a.dict} is missing (apt-get install dict-jargon)")
    with gzip.open(a.dict, "rt", encoding="utf-8") as f:
        text = f.read()
    out = []
    for p in paragraphs(text):
        p = re.sub(r"\s+", " ", re.sub(r"\{\s*([^}]*)\}", r"\1", p)).strip()
        if p.startswith("["):
            p = p.split("] ", 1)[1] if "] " in p else ""
        if len(p.split()) >= 5:
            out.append(p)
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    with open(a.out, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
    print(f"wrote {a.out}: {len(out)} lines, {sum(len(p.split()) for p in out)} words", file=sys.stderr)


if __name__ == "__main__":
    main()
