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
  "Trained on Amazon Beauty (Beauty.txt and Beauty_item2attributes.json from the S3-Rec / ICLRec repositories: 22,363 users, 12,101 items, 198,502 interactions; 5-core). This is the public quality benchmark; published full-ranking SASRec figures on this file (test, seen items excluded): NDCG@10 0.0591-0.0601 / HR@10 0.0977-0.0994 with full cross-entropy, 2 blocks, dropout 0.6, 200 epochs (CE-SCE-LLMRec, 5 seeds); 0.0531 / 0.0921 with 256 sampled negatives (transformer_benchmark)."
