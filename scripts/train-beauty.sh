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
sha256sum models/beauty/model.lrec
