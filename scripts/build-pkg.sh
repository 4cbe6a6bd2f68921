#!/usr/bin/env bash
# Builds the npm package into pkg/ (wasm-pack's layout, made with wasm-bindgen directly: wasm-pack
# cannot find a wasm32 sysroot outside rustup, and its 16-minute install does not fit CI).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/wasm-env.sh
export PATH="$HOME/.cargo/bin:$PATH"

CARGO_TARGET_DIR="$CARGO_TARGET_DIR_WASM" "${WASM_CARGO[@]}" build --release --lib \
  --target wasm32-unknown-unknown "${WASM_BUILD_STD[@]}"
wasm="$CARGO_TARGET_DIR_WASM/wasm32-unknown-unknown/release/localrec.wasm"

rm -rf pkg
wasm-bindgen "$wasm" --target web --out-dir pkg --out-name localrec --remove-name-section
cp js/worker.js js/worker-client.js js/worker-client.d.ts pkg/
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
    "./localrec_bg.wasm": "./localrec_bg.wasm",
    "./package.json": "./package.json"
  },
  "files": ["localrec.js", "localrec.d.ts", "localrec_bg.wasm", "localrec_bg.wasm.d.ts", "snippets", "worker.js", "worker-client.js", "worker-client.d.ts"],
  "sideEffects": ["./snippets/*"]
}
JSON
cp README.md pkg/README.md
raw=$(stat -c %s pkg/localrec_bg.wasm)
gz=$(gzip -9 -c pkg/localrec_bg.wasm | wc -c)
echo "pkg/localrec_bg.wasm: $raw bytes raw, $gz bytes gzipped (wasm path: $WASM_PATH)"
