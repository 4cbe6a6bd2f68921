#!/usr/bin/env bash
# Warehouse ingest at shop scale: synthetic logs of 5M and 50M events (500k items, 2M shoppers)
# as Parquet, the 5M one also as CSV, each read by the trainer in its own process:
# events/s, bytes held per event, peak RSS -> results/ingest.json. Needs ~3 GB of disk in
# $INGEST_DIR (default /tmp/localrec-ingest). INGEST_SIZES="5000000" for a quick run.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${INGEST_DIR:-/tmp/localrec-ingest}"
sizes="${INGEST_SIZES:-5000000 50000000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/localrec/target}"
cargo bench --features train --bench ingest_bench --no-run --quiet
# (Named ingest_bench: tests/ingest.rs builds a `deps/ingest-*` binary too.)
bin=$(ls -t "$CARGO_TARGET_DIR"/release/deps/ingest_bench-* | grep -v '\.d$' | head -1)
out=benches/results/ingest.json.partial
echo "[" > "$out"
first=1
for n in $sizes; do
  csv=""; [ "$n" -le 5000000 ] && csv=csv
  echo "ingest: generating $n events" >&2
  "$bin" gen "$n" 500000 2000000 "$dir/$n" $csv
  for f in parquet ${csv:+csv}; do
    file="$dir/$n/events.$f"
    line=$("$bin" read "$f" "$file")
    echo "ingest: $line" >&2
    [ $first = 1 ] || echo "," >> "$out"
    first=0
    echo "$line" >> "$out"
  done
  rm -rf "${dir:?}/$n"
done
echo "]" >> "$out"
mv "$out" benches/results/ingest.json
