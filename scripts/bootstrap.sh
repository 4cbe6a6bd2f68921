#!/usr/bin/env bash
# Installs everything the build, the demo and the tests need, on a fresh Debian machine or a
# laptop. Idempotent: when everything is there it only checks, in a second or two.
#
#   scripts/bootstrap.sh            # all of it
#   scripts/bootstrap.sh --no-browser   # skip Chromium (building only)
#
# Fails loudly: if a tool cannot be installed it says which and how to install it by hand.
set -euo pipefail
cd "$(dirname "$0")/.."

want_browser=1
[ "${1:-}" = "--no-browser" ] && want_browser=0

say() { printf '\033[1mbootstrap:\033[0m %s\n' "$*" >&2; }
die() { printf '\033[31mbootstrap: %s\033[0m\n' "$*" >&2; exit 1; }

apt_install() {
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  command -v apt-get >/dev/null || die "need $* but this is not a Debian/Ubuntu machine: install $* by hand"
  say "apt-get install $*"
  if [ -z "${BOOTSTRAP_APT_UPDATED:-}" ]; then
    $sudo apt-get update -qq || die "apt-get update failed; install $* by hand"
    export BOOTSTRAP_APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null \
    || die "apt-get install $* failed; install it by hand (Debian packages: $*)"
}

# Rust (native trainer and tests).
command -v cargo >/dev/null || die "cargo not found: install Rust 1.95+ from https://rustup.rs"
native_rust=$(rustc --version | awk '{print $2}')
case "$native_rust" in
  1.9[5-9]*|1.1[0-9][0-9]*) ;;
  *) die "rustc $native_rust is too old: burn 0.22 needs 1.95+ (rustup update stable)";;
esac

# wasm32: the rustup target where it exists, else Debian's rustc-web (1.96) with build-std.
if rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "wasm32: rustup target (rustc $native_rust)"
else
  if ! { [ -x /usr/bin/rustc ] && /usr/bin/rustc --version | grep -qE '^rustc 1\.(9[5-9]|1[0-9][0-9])' \
         && [ -d /usr/lib/rustlib/src/rust/library ] && [ -x /usr/bin/cargo ]; }; then
    say "no rustup wasm32 target: installing Debian rustc-web + rust-web-src for -Zbuild-std"
    apt_install rustc-web cargo-web rust-web-src
  fi
  /usr/bin/rustc --version | grep -qE '^rustc 1\.(9[5-9]|1[0-9][0-9])' \
    || die "Debian rustc-web is $(/usr/bin/rustc --version); need 1.95+ (or: rustup target add wasm32-unknown-unknown)"
  # shellcheck source=scripts/wasm-env.sh
  source scripts/wasm-env.sh
  [ -x "$CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER" ] || {
    apt_install lld-19
    source scripts/wasm-env.sh
    [ -x "$CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER" ] \
      || die "no wasm linker: need rustup's rust-lld or Debian's lld-19 (apt-get install lld-19)"
  }
  say "wasm32: Debian $(/usr/bin/rustc --version | cut -d' ' -f1-2) with -Zbuild-std"
fi

# wasm-bindgen-cli at exactly the version in Cargo.lock.
bindgen_version=$(awk -F'"' '/^name = "wasm-bindgen"$/{getline; print $2; exit}' Cargo.lock)
[ -n "$bindgen_version" ] || die "cannot read the wasm-bindgen version from Cargo.lock"
export PATH="$HOME/.cargo/bin:$PATH"
if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $bindgen_version"; then
  say "installing wasm-bindgen-cli $bindgen_version (takes ~9 minutes on 2 cores)"
  # Not --locked: its lock file pins webpki-roots 1.0.11, which some registry mirrors lack.
  cargo install wasm-bindgen-cli --version "$bindgen_version" --force --quiet \
    || die "cargo install wasm-bindgen-cli --version $bindgen_version failed; install it by hand"
fi

# Node.js for the dev server and the browser tests.
command -v node >/dev/null || apt_install nodejs npm
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' \
  || die "Node.js $(node --version) is too old: need 20.19+ (the example apps' bundlers: Vite 8, Next.js 16)"

if [ "$want_browser" = 1 ]; then
  if ! [ -x /usr/bin/chromium ] || ! [ -x /usr/bin/chromedriver ]; then
    apt_install chromium chromium-driver
  fi
  [ -x /usr/bin/chromium ] || die "Chromium missing: apt-get install chromium chromium-driver"
  # playwright-core drives the system Chromium; it never downloads a browser.
  if ! [ -d node_modules/playwright-core ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "npm ci (playwright-core)"
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error \
      || die "npm ci failed; run it by hand in $(pwd)"
  fi
fi
# Mesa's software Vulkan driver (lavapipe): the GPU training test (tests/gpu.rs) runs burn's
# wgpu runtime on it where the machine has no GPU. Optional: without it that test skips.
if command -v apt-get >/dev/null && [ "$(uname -s)" = Linux ] \
  && ! ls /usr/share/vulkan/icd.d/lvp_icd.*.json >/dev/null 2>&1; then
  ( apt_install mesa-vulkan-drivers libvulkan1 ) || say "no software Vulkan driver: the GPU test will skip"
fi
say "ready"
