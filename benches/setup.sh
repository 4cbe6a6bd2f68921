#!/usr/bin/env bash
# Installs what the benchmarks need beyond `make bootstrap`:
#   - benches/node_modules: onnxruntime-web (the browser peer) and playwright-core (npm ci);
#   - a Python venv at $HOME/.cache/localrec/bench-venv with CPU-only PyTorch and onnx
#     (the PyTorch SASRec trainer and the ONNX export).
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")"
VENV="${BENCH_VENV:-$HOME/.cache/localrec/bench-venv}"

if [ ! -d node_modules/onnxruntime-web ] || [ ! -d node_modules/playwright-core ]; then
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
fi

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import torch, onnx, numpy" 2>/dev/null; then
  "$VENV/bin/pip" install --quiet --upgrade pip
  # CPU wheels (no CUDA download); plain PyPI if that index cannot be reached.
  "$VENV/bin/pip" install --quiet torch --index-url https://download.pytorch.org/whl/cpu \
    || "$VENV/bin/pip" install --quiet torch
  "$VENV/bin/pip" install --quiet numpy onnx
fi
"$VENV/bin/python" -c "import torch, onnx; print('bench venv: torch', torch.__version__, '· onnx', onnx.__version__)"
