#!/usr/bin/env bash
# Native training throughput on Amazon Beauty: localrec's trainer vs the PyTorch SASRec of
# torch_sasrec.py (same architecture, loss, optimiser, batching and leave-one-out cut), at 1 and
# 2 threads, with 256 sampled negatives and with full cross-entropy (LOSSES="sampled full"),
# interleaved; localrec on each CPU backend in BACKENDS (default "flex ndarray": its default,
# burn-flex, and burn-ndarray for comparison). Writes benches/results/train-throughput.json.
#   benches/train-throughput.sh DIR_WITH_BEAUTY [EPOCHS (default 3)]
# Training time only (localrec's per-epoch validation pass is outside its timed loop; the PyTorch
# script evaluates once after training, untimed). Other heavy processes disturb the figures: run
# it on an otherwise idle machine, or with BENCH_WAIT_IDLE=1 (see below).
set -euo pipefail
cd "$(dirname "$0")"
data="${1:?usage: benches/train-throughput.sh DIR_WITH_BEAUTY [EPOCHS]}"
epochs="${2:-3}"
threads_list="${THREADS:-1 2}"
losses="${LOSSES:-sampled full}"
backends="${BACKENDS:-flex ndarray}"
negatives_of() { [ "$1" = full ] && echo 0 || echo 256; }
LOCALREC="${LOCALREC:-${CARGO_TARGET_DIR:-$HOME/.cache/localrec/target}/release/localrec}"
PY="${BENCH_VENV:-$HOME/.cache/localrec/bench-venv}/bin/python"
[ -f "$data/Beauty.txt" ] || { echo "$data/Beauty.txt not found" >&2; exit 1; }
[ -x "$LOCALREC" ] || { echo "$LOCALREC not found: cargo build --release --features train" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# BENCH_WAIT_IDLE=1 (a shared development machine): wait until no process named in BENCH_IDLE_PROCS
# (default cargo, rustc) runs before each run, and redo a run during which one appeared.
idle_procs="${BENCH_IDLE_PROCS:-cargo rustc}"
busy() { for p in $idle_procs; do pgrep -x "$p" >/dev/null && return 0; done; return 1; }
guarded() { # label, command...
  local label="$1"; shift
  for attempt in 1 2 3 4 5; do
    if [ "${BENCH_WAIT_IDLE:-0}" = 1 ]; then
      while busy; do echo "waiting for $idle_procs to finish before: $label" >&2; sleep 30; done
    fi
    "$@" & local pid=$! disturbed=0
    while kill -0 "$pid" 2>/dev/null; do busy && disturbed=1; sleep 2; done
    wait "$pid" || return 1
    if [ "$disturbed" = 0 ] || [ "${BENCH_WAIT_IDLE:-0}" != 1 ]; then
      [ "$disturbed" = 1 ] && echo "warning: $label ran while $idle_procs was running" >&2
      return 0
    fi
    echo "$label was disturbed by $idle_procs; running it again" >&2
  done
  echo "warning: $label disturbed in every attempt" >&2
}
run_localrec() { # threads, loss, backend
  local name="localrec-$3-$2-t$1"
  "$LOCALREC" train --data "$data/Beauty.txt" --format seq --out "$work/$name" --epochs "$epochs" \
    --negatives "$(negatives_of "$2")" --dropout 0.5 --layers 1 --layout pre-norm \
    --batch-size 128 --lr 1e-3 --weight-decay 0 --backend "$3" \
    --threads "$1" --quiet --patience 1000 --time-limit-min 60 > "$work/$name.log" 2>&1 \
    || { cat "$work/$name.log" >&2; return 1; }
}
run_torch() { # threads, loss
  "$PY" -W ignore torch_sasrec.py train-throughput --data "$data" --threads "$1" --epochs "$epochs" --eval \
    --negatives "$(negatives_of "$2")" --dropout 0.5 --layers 1 > "$work/torch-$2-t$1.json"
}
for loss in $losses; do
  for t in $threads_list; do
    for b in $backends; do
      echo "localrec train ($b), $loss softmax, $t thread(s), $epochs epochs" >&2
      guarded "localrec train ($b), $loss, $t thread(s)" run_localrec "$t" "$loss" "$b"
    done
    echo "pytorch train, $loss softmax, $t thread(s), $epochs epochs" >&2
    guarded "pytorch train, $loss, $t thread(s)" run_torch "$t" "$loss"
  done
done
mkdir -p results
LOSSES="$losses" BACKENDS="$backends" node collect-train.mjs "$work" "$data/Beauty.txt" "$epochs" $threads_list > results/train-throughput.json
echo "wrote benches/results/train-throughput.json" >&2
