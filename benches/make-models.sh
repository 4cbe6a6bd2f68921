#!/usr/bin/env bash
# The models of the browser benchmark, into benches/models/ (gitignored):
#   random-100k.lrec, random-1m.lrec   `localrec random-model` (random weights, d 64, 2 blocks,
#                                      1 head, max length 50, item ids item-1..item-N; int8
#                                      matrices, the item table as the trainer's default: int4
#                                      at 100k, rq12 with the first 2% of the items int8 at 1M)
#   random-100k-int8.lrec, ...-1m-int8 the same with an int8 item table (sizes only)
#   random-100k-sharded/, ...-1m-sharded/  the same split by `localrec shard` (defaults: the 20,000
#                                      most popular items in the core, at most 20,000 a shard)
#                                      over 500 categories (random-*-catalog.json: item i in
#                                      category cat-(murmur3's 32-bit finaliser of i, mod 500):
#                                      scattered like a shop's numbering; a multiplicative hash
#                                      spaced each category's ids so evenly that their gaps
#                                      gzipped to nearly nothing)
#   beauty.onnx, random-*.onnx         the same models exported to ONNX by torch_sasrec.py from the
#                                      .lrec files (dequantised weights: int8, int4 or the sum
#                                      of each row's residual centroids), for onnxruntime-web
# Needs the release binary (`make bench` builds it) and benches/setup.sh's venv. Existing files
# newer than their source are kept.
set -euo pipefail
cd "$(dirname "$0")"
LOCALREC="${LOCALREC:-${CARGO_TARGET_DIR:-$HOME/.cache/localrec/target}/release/localrec}"
PY="${BENCH_VENV:-$HOME/.cache/localrec/bench-venv}/bin/python"
mkdir -p models

for spec in 100k:100000 1m:1000000; do
  name="${spec%%:*}" items="${spec##*:}"
  out="models/random-$name.lrec"
  if [ ! -s "$out" ] || [ "$LOCALREC" -nt "$out" ]; then
    "$LOCALREC" random-model --items "$items" --d-model 64 --layers 2 --heads 1 --max-len 50 --seed 42 --out "$out"
  fi
  int8="models/random-$name-int8.lrec"
  if [ ! -s "$int8" ] || [ "$LOCALREC" -nt "$int8" ]; then
    "$LOCALREC" random-model --items "$items" --d-model 64 --layers 2 --heads 1 --max-len 50 --seed 42 --item-table int8 --out "$int8"
  fi
  catalog="models/random-$name-catalog.json"
  if [ ! -s "$catalog" ] || [ "$0" -nt "$catalog" ]; then
    node -e 'const n = +process.argv[1]; const out = [];
      const mix = (h) => { h = Math.imul(h ^ (h >>> 16), 0x85ebca6b); h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35); return (h ^ (h >>> 16)) >>> 0; };
      for (let i = 1; i <= n; i++) out.push({ item_id: `item-${i}`, category: `cat-${mix(i) % 500}` });
      require("fs").writeFileSync(process.argv[2], JSON.stringify(out));' "$items" "$catalog"
  fi
  sharded="models/random-$name-sharded"
  if [ ! -s "$sharded/model.lrec" ] || [ "$out" -nt "$sharded/model.lrec" ] || [ "$catalog" -nt "$sharded/model.lrec" ]; then
    rm -rf "$sharded"
    "$LOCALREC" shard --model "$out" --catalog "$catalog" --out "$sharded"
  fi
done

export_from() { # lrec onnx
  if [ ! -s "$2" ] || [ "$1" -nt "$2" ] || [ torch_sasrec.py -nt "$2" ]; then
    "$PY" -W ignore torch_sasrec.py export-onnx --from-lrec "$1" --out "$2" > /dev/null
    echo "wrote $2 ($(stat -c %s "$2") bytes) from $1"
  fi
}
export_from ../models/beauty/model.lrec models/beauty.onnx
export_from models/random-100k.lrec models/random-100k.onnx
export_from models/random-1m.lrec models/random-1m.onnx
