# The two commands of the README: `make demo` and `make test`. Everything else is a step of those.
SHELL := /bin/bash
PORT ?= 8080
CACHE := $(HOME)/.cache/localrec
NATIVE := CARGO_TARGET_DIR=$(CACHE)/target cargo
export PATH := $(HOME)/.cargo/bin:$(PATH)

.PHONY: demo test bootstrap pkg test-native test-wasm test-browser serve bench fmt

## Build the npm package and serve the demo storefront on http://127.0.0.1:$(PORT)
demo: bootstrap pkg serve

## Every test: native (unit, model properties, trainer CLI), wasm in Chromium, browser end to end
test: bootstrap test-native pkg test-wasm test-browser

bootstrap:
	@scripts/bootstrap.sh

pkg:
	@scripts/build-pkg.sh

test-native:
	$(NATIVE) test --release --features gpu

test-wasm:
	@scripts/test-wasm.sh

test-browser:
	LOCALREC_BIN=$(CACHE)/target/release/localrec node --test tests/browser/

serve:
	PORT=$(PORT) node scripts/serve.mjs

fmt:
	cargo fmt

## Benchmarks (benches/): browser latency, cold start and sizes vs onnxruntime-web; training
## throughput vs PyTorch. BEAUTY=DIR holding Beauty.txt. Results: benches/results/ (JSON + README.md)
bench: bootstrap pkg
	@test -n "$(BEAUTY)" || { echo "usage: make bench BEAUTY=DIR_WITH_BEAUTY_FILES" >&2; exit 2; }
	$(NATIVE) build --release --features train
	benches/setup.sh
	benches/make-models.sh
	benches/train-throughput.sh "$(BEAUTY)"
	node benches/browser-bench.mjs
	WASM_TEST=wasm_scoring scripts/test-wasm.sh -- --nocapture
	node benches/report.mjs
