#!/usr/bin/env bash
# Builds the npm package into pkg/ (wasm-pack's layout, made with wasm-bindgen directly: wasm-pack
# cannot find a wasm32 sysroot outside rustup, and its 16-minute install does not fit CI).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/wasm-env.sh
export PATH="$HOME/.cargo/bin:$PATH"

# Two bundles from one crate: WebGPU + CPU (release profile, shared with the wasm tests) and
# CPU only (the `wasm-small` profile: opt-level s, fat LTO), which shoppers without WebGPU get.
build() {
  CARGO_TARGET_DIR="$CARGO_TARGET_DIR_WASM" "${WASM_CARGO[@]}" build --lib \
    --target wasm32-unknown-unknown "${WASM_BUILD_STD[@]}" "$@"
}
build --release --features webgpu
build --profile wasm-small
out="$CARGO_TARGET_DIR_WASM/wasm32-unknown-unknown"

rm -rf pkg
wasm-bindgen "$out/release/localrec.wasm" --target web --out-dir pkg --out-name localrec_webgpu \
  --remove-name-section
wasm-bindgen "$out/wasm-small/localrec.wasm" --target web --out-dir pkg --out-name localrec_cpu \
  --remove-name-section
if command -v wasm-opt >/dev/null; then
  # Binaryen's size pass on the CPU bundle (optional: the package works without it).
  wasm-opt -Os --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-simd --enable-reference-types --enable-multivalue \
    pkg/localrec_cpu_bg.wasm -o pkg/localrec_cpu_bg.wasm.opt && mv pkg/localrec_cpu_bg.wasm.opt pkg/localrec_cpu_bg.wasm
fi
cp js/localrec.js js/localrec.d.ts js/worker.js js/worker-client.js js/worker-client.d.ts pkg/
version=$(awk -F'"' '/^version = /{print $2; exit}' Cargo.toml)
cat > pkg/package.json <<JSON
{
  "name": "localrec",
  "version": "$version",
  "description": "On-device personalisation for web shops: a compact Transformer recommender that runs in the shopper's browser",
  "license": "MIT OR Apache-2.0",
  "type": "module",
  "main": "localrec.js",
  "module": "localrec.js",
  "types": "localrec.d.ts",
  "exports": {
    ".": { "types": "./localrec.d.ts", "default": "./localrec.js" },
    "./worker": { "types": "./worker-client.d.ts", "default": "./worker-client.js" },
    "./localrec_cpu_bg.wasm": "./localrec_cpu_bg.wasm",
    "./localrec_webgpu_bg.wasm": "./localrec_webgpu_bg.wasm",
    "./package.json": "./package.json"
  },
  "files": ["localrec.js", "localrec.d.ts", "localrec_cpu.js", "localrec_cpu.d.ts", "localrec_cpu_bg.wasm",
            "localrec_cpu_bg.wasm.d.ts", "localrec_webgpu.js", "localrec_webgpu.d.ts", "localrec_webgpu_bg.wasm",
            "localrec_webgpu_bg.wasm.d.ts", "snippets", "worker.js", "worker-client.js", "worker-client.d.ts"],
  "sideEffects": ["./snippets/*"]
}
JSON
cp README.md pkg/README.md
for f in pkg/localrec_webgpu_bg.wasm pkg/localrec_cpu_bg.wasm; do
  echo "$f: $(stat -c %s "$f") bytes raw, $(gzip -9 -c "$f" | wc -c) bytes gzipped (wasm path: $WASM_PATH)"
done
