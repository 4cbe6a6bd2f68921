#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo-fuzz / libFuzzer) of what localrec reads from outside:
#   artefact         weights files as downloaded (any bytes)
#   artefact_sealed  header JSON + payload with a valid envelope (reaches header and tensor checks)
#   events           the trainer's log readers and the browser's track/recommend/pickOffers inputs
# Bounded: SECONDS per target (default 300). Not part of CI. Prints executions and crashes per
# target and exits non-zero if any target crashed (reproducers land in fuzz/artifacts/TARGET/).
#   scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-300}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(artefact artefact_sealed events)

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
# libFuzzer needs nightly flags: a rustup nightly where there is one, else the stable compiler
# with RUSTC_BOOTSTRAP (same compiler, nightly features unlocked).
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  fuzz=(cargo +nightly fuzz)
else
  export RUSTC_BOOTSTRAP=1
  fuzz=(cargo fuzz)
fi
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$HOME/.cache/localrec/target-fuzz}"

# Seed corpora: small real model files (one with a catalogue) and the committed event seeds.
native="${NATIVE_TARGET_DIR:-$HOME/.cache/localrec/target}"
CARGO_TARGET_DIR="$native" cargo build --release --features train --quiet
lr="$native/release/localrec"
seeds="$(mktemp -d)"
trap 'rm -rf "$seeds"' EXIT
mkdir -p "$seeds/artefact" "$seeds/artefact_sealed"
"$lr" random-model --items 12 --d-model 8 --layers 1 --max-len 8 --query-buckets 16 \
  --out "$seeds/artefact/random.lrec" >/dev/null
# Residual codes (format version 4): the codebooks, the exact rows and the codes' layout.
"$lr" random-model --items 300 --d-model 8 --layers 1 --max-len 8 --query-buckets 16 \
  --item-table rq2 --exact-head 10 --out "$seeds/artefact/coded.lrec" >/dev/null
"$lr" synth --items 50 --shoppers 100 --seed 1 --out "$seeds/shop" >/dev/null
"$lr" train --data "$seeds/shop/events.csv" --format events --catalog "$seeds/shop/catalog.json" \
  --out "$seeds/trained" --d-model 8 --max-len 8 --query-buckets 16 --epochs 1 --quiet >/dev/null
cp "$seeds/trained/model.lrec" "$seeds/artefact/catalog.lrec"
# Unsealed form for artefact_sealed: header JSON, a 0x00 byte, payload (see fuzz/src/lib.rs).
for f in "$seeds"/artefact/*.lrec; do
  node -e '
    const b = require("fs").readFileSync(process.argv[1]);
    const h = Number(b.readBigUInt64LE(12)), p = Number(b.readBigUInt64LE(20 + h));
    process.stdout.write(Buffer.concat([b.subarray(20, 20 + h), Buffer.from([0]),
                                        b.subarray(28 + h, 28 + h + p)]));' "$f" \
    > "$seeds/artefact_sealed/$(basename "$f" .lrec)"
done
# Hand-written hostile headers (e.g. a d_model whose shapes overflow), kept in the repository.
cp fuzz/seeds/artefact_sealed/* "$seeds/artefact_sealed/"

status=0
summary=()
for t in "${targets[@]}"; do
  case "$t" in
    events) seed_dir="$PWD/fuzz/seeds/events" ;;
    *) seed_dir="$seeds/$t" ;;
  esac
  corpus="$PWD/fuzz/corpus/$t"
  mkdir -p "$corpus" "fuzz/artifacts/$t"
  log="fuzz/artifacts/$t.log"
  echo "== $t: ${secs}s" >&2
  set +e
  (cd fuzz && "${fuzz[@]}" run "$t" "$corpus" "$seed_dir" -- \
     -max_total_time="$secs" -rss_limit_mb=4096 -timeout=20 -print_final_stats=1) >"$log" 2>&1
  rc=$?
  set -e
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1 || true)
  crashes=$(find "fuzz/artifacts/$t" -type f \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' \) | wc -l)
  summary+=("$t: ${runs:-?} executions in ${secs}s, $crashes crash/oom/timeout files, exit $rc")
  [ "$rc" -eq 0 ] && [ "$crashes" -eq 0 ] || { status=1; tail -40 "$log" >&2; }
done
printf '%s\n' "${summary[@]}"
exit $status
