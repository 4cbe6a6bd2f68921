#!/usr/bin/env bash
# wasm-bindgen tests (tests/web.rs) in headless Chromium through chromedriver; browser flags in
# webdriver.json (WebGPU on, via SwiftShader). Shares the package build's compiled dependencies.
# Extra arguments go to the test runner. WASM_TEST picks the test target (default `web`);
# `WASM_TEST=wasm_scoring scripts/test-wasm.sh -- --nocapture` prints the SIMD scoring figures.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/wasm-env.sh
export PATH="$HOME/.cargo/bin:$PATH"
export CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
export WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-180}"
CARGO_TARGET_DIR="$CARGO_TARGET_DIR_WASM" "${WASM_CARGO[@]}" test --release \
  --target wasm32-unknown-unknown "${WASM_BUILD_STD[@]}" --features webgpu --test "${WASM_TEST:-web}" "$@"
