#!/usr/bin/env bash
# Trains the public-benchmark model into models/beauty/ from the Amazon Beauty files
# (Beauty.txt and Beauty_item2attributes.json from the S3-Rec / ICLRec repositories).
#   scripts/train-beauty.sh DIR_WITH_BEAUTY_FILES [extra train flags]
set -euo pipefail
cd "$(dirname "$0")/.."
data="${1:?usage: scripts/train-beauty.sh DIR_WITH_BEAUTY_FILES [extra train flags]}"
shift
target="${CARGO_TARGET_DIR:-$HOME/.cache/localrec/target}"
CARGO_TARGET_DIR="$target" cargo build --release --features train --quiet
"$target/release/localrec" train --data "$data/Beauty.txt" --attributes "$data/Beauty_item2attributes.json" \
  --format seq --out models/beauty --seed 42 "$@"
node scripts/model-readme.mjs models/beauty "Amazon Beauty benchmark model" \
  "scripts/train-beauty.sh DIR_WITH_BEAUTY_FILES $*" \
  "Trained on Amazon Beauty (Beauty.txt and Beauty_item2attributes.json from the S3-Rec / ICLRec repositories: 22,363 users, 12,101 items, 198,502 interactions; 5-core). This is the public quality benchmark; the best published full-ranking SASRec numbers on this file are HR@10 0.0921 / NDCG@10 0.0531."
