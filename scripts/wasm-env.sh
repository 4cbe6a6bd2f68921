# Sourced by the build scripts: chooses how to compile for wasm32-unknown-unknown.
#
# Where rustup has the wasm32 target (a laptop with internet), the normal toolchain is used.
# Otherwise Debian's rustc-web 1.96 builds std for wasm32 from rust-web-src (-Zbuild-std), linked
# with rustup's rust-lld. scripts/bootstrap.sh installs what is missing.

LOCALREC_CACHE="${LOCALREC_CACHE:-$HOME/.cache/localrec}"
export CARGO_TARGET_DIR_NATIVE="${CARGO_TARGET_DIR_NATIVE:-$LOCALREC_CACHE/target}"
export CARGO_TARGET_DIR_WASM="${CARGO_TARGET_DIR_WASM:-$LOCALREC_CACHE/target-wasm}"

if rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  WASM_PATH="rustup"
  WASM_CARGO=(cargo)
  WASM_BUILD_STD=()
else
  WASM_PATH="debian-build-std"
  WASM_CARGO=(/usr/bin/cargo)
  # `test` too, even for the package: `cargo test` builds std with it, and asking for the same set
  # here lets the package and the wasm tests share one compiled dependency tree.
  WASM_BUILD_STD=(-Zbuild-std=std,panic_abort,test)
  export RUSTC_BOOTSTRAP=1 RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc
  lld=""
  for candidate in \
    "$(rustc --print sysroot 2>/dev/null)/lib/rustlib/x86_64-unknown-linux-gnu/bin/rust-lld" \
    "$HOME/.rustup/toolchains/stable-x86_64-unknown-linux-gnu/lib/rustlib/x86_64-unknown-linux-gnu/bin/rust-lld" \
    /usr/bin/wasm-ld-19 /usr/bin/wasm-ld; do
    if [ -x "$candidate" ]; then lld="$candidate"; break; fi
  done
  export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER="$lld"
fi
# Both bundles (and the wasm tests) are built for WebAssembly SIMD: matrixmultiply's wasm SIMD
# kernels and LLVM's vectoriser need the feature at compile time. Every browser with WebGPU has
# wasm SIMD; where it is missing, js/localrec.js refuses to load with BACKEND_UNAVAILABLE.
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="${CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS:--C target-feature=+simd128}"
export WASM_PATH
