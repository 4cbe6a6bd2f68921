#!/usr/bin/env bash
# Shop-scale training: a synthetic log (500k items, 2M shoppers) of 5M and 50M events as
# Parquet, trained for one epoch with the trainer's defaults by `localrec train` in its own
# process: read and prepare time, the epoch's time and throughput, validation time, peak RSS
# through it all -> results/shop-scale.json. Test figures rank a seeded 10,000 users (full
# ranking; ranking all 2M twice would take longer than the epoch on 2 cores). At 500k items the
# default item table is residual codes (rq12): the figures include its k-means and fine-tuning.
# SHOP_SIZES="5000000" for a quick run; SHOP_DIR for the scratch space (~1 GB at 50M).
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${SHOP_DIR:-/tmp/localrec-shop}"
sizes="${SHOP_SIZES:-5000000 50000000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/localrec/target}"
# LOCALREC_FEATURES=gpu SHOP_ARGS="--device wgpu" trains on a GPU.
features="${LOCALREC_FEATURES:-train}"
cargo build --release --features "$features" --quiet
cargo bench --features "$features" --bench ingest_bench --no-run --quiet
gen=$(ls -t "$CARGO_TARGET_DIR"/release/deps/ingest_bench-* | grep -v '\.d$' | head -1)
localrec="$CARGO_TARGET_DIR/release/localrec"
out=benches/results/shop-scale.json.partial
echo "[" > "$out"
first=1
for n in $sizes; do
  echo "shop-scale: generating $n events" >&2
  "$gen" gen "$n" 500000 2000000 "$dir/$n"
  "$localrec" train --data "$dir/$n/events.parquet" --format parquet \
    --epochs 1 --test-users 10000 --quiet --out "$dir/$n/model" ${SHOP_ARGS:-}
  line=$(node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1] + "/report.json", "utf8"));
    const e = r.training.curve[0];
    // The shipped item table: int8 / int4, or residual codes (coded by k-means, then fine-tuned).
    const c = r.test.compact;
    const table = c ? {
      item_table: c.encoding, exact_head: c.exact_head, coding_seconds: c.coding_seconds,
      finetune_seconds: c.finetuned?.seconds, finetune_epochs: c.finetuned ? c.finetuned.curve.length - 1 : 0,
      finetune_best_epoch: c.finetuned?.best_epoch, finetune_stopped: c.finetuned?.stopped,
      finetune_histories: c.finetuned?.curve[1]?.histories,
      compact_ndcg_relative_to_int8: (c.finetuned ?? c).ndcg_relative_to_int8,
    } : { item_table: r.test.item_table };
    console.log(JSON.stringify({
      events: r.data.stats.events, users: r.data.stats.users, items: r.data.stats.items,
      backend: r.training.options.backend, threads: r.training.threads,
      negatives: r.training.negatives,
      read_seconds: r.read_seconds, prepare_seconds: r.prepare_seconds,
      log_heap_bytes_per_event: r.log_heap_bytes / r.data.stats.events,
      epoch_seconds: e.seconds, sequences_per_second: e.sequences_per_second, steps: e.steps,
      valid_seconds: e.valid_seconds, validation_users: r.training.validation_users,
      test_users: r.test.users, wall_seconds: r.wall_seconds, peak_rss_bytes: r.peak_rss_bytes,
      model_bytes: r.model.bytes, ...table,
    }));' "$dir/$n/model")
  echo "shop-scale: $line" >&2
  [ $first = 1 ] || echo "," >> "$out"
  first=0
  echo "$line" >> "$out"
  rm -rf "${dir:?}/$n"
done
echo "]" >> "$out"
mv "$out" benches/results/shop-scale.json
