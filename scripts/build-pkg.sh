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
# No Binaryen pass: `wasm-opt -Os` (binaryen 132) made the CPU bundle smaller raw (1.24 -> 1.13 MB)
# but larger gzipped (346 -> 388 kB), and its inlining (3,758 -> 1,591 functions) slowed the cold
# start: Chromium compiles a function when it is first called, and bigger functions bring more
# code that never runs (first answer on Beauty +41 / +54 ms, paired medians of 16 and 12 fresh
# contexts; load() from bytes +25 ms).
cp js/localrec.js js/localrec.d.ts js/worker.js js/worker-client.js js/worker-client.d.ts \
  js/ga4.js js/ga4.d.ts js/shopify.js js/shopify.d.ts js/tracker.js pkg/
# localrec.js starts importing the glue's helper module early (one round trip fewer on a cold
# start): its folder is named by wasm-bindgen.
snippet=$(cd pkg/snippets && ls -d localrec-*)
[ "$(echo "$snippet" | wc -w)" = 1 ] || { echo "expected one localrec snippet folder, found: $snippet" >&2; exit 1; }
sed -i "s|./snippets/localrec-SNIPPET/js/host.js|./snippets/$snippet/js/host.js|" pkg/localrec.js
grep -q "./snippets/$snippet/js/host.js" pkg/localrec.js || { echo "pkg/localrec.js: the snippet path was not written" >&2; exit 1; }
# The package manifest is js/package.json; only its version comes from Cargo.toml.
version=$(awk -F'"' '/^version = /{print $2; exit}' Cargo.toml)
node -e '
  const fs = require("fs");
  const pkg = JSON.parse(fs.readFileSync("js/package.json", "utf8"));
  pkg.version = process.argv[1];
  fs.writeFileSync("pkg/package.json", JSON.stringify(pkg, null, 2) + "\n");' "$version"
# The npm page is js/README.md (for shop developers); the repository README is for contributors.
cp js/README.md LICENSE-MIT LICENSE-APACHE pkg/
for f in pkg/localrec_webgpu_bg.wasm pkg/localrec_cpu_bg.wasm; do
  echo "$f: $(stat -c %s "$f") bytes raw, $(gzip -9 -c "$f" | wc -c) bytes gzipped (wasm path: $WASM_PATH)"
done
