#!/usr/bin/env bash
# Regenerates models/demo/: a synthetic shop (localrec synth) and the model trained on it.
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/localrec/target}" cargo build --release --features train --quiet
bin="${CARGO_TARGET_DIR:-$HOME/.cache/localrec/target}/release/localrec"
shop=$(mktemp -d)
"$bin" synth --items 3000 --shoppers 20000 --seed 42 --out "$shop"
"$bin" train --data "$shop/events.csv" --format events --catalog "$shop/catalog.json" --out models/demo \
  --seed 42 --layers 2 --heads 2 --dropout 0.2 --time-limit-min 45 --patience 4 --purchase-weight 8 "$@"
cp "$shop/catalog.json" "$shop/offers.json" models/demo/
rm -rf "$shop"
node scripts/model-readme.mjs models/demo "Demo shop model" "scripts/make-demo-model.sh $*" \
  "Trained on a synthetic shop from \`localrec synth --items 3000 --shoppers 20000 --seed 42\` (catalog.json and offers.json here are that shop's). \`make demo\` serves it as is."
