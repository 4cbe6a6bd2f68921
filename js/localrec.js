// The package entry, `import { Recommender } from "localrec"`.
//
// The package holds two wasm bundles built from the same Rust code: `localrec_webgpu` (burn's
// WebGPU and CPU backends) and `localrec_cpu` (CPU only, built for size). Shoppers whose browser
// gives no hardware WebGPU adapter never download the WebGPU stack: `Recommender.load()` asks
// `navigator.gpu.requestAdapter()` first (for `backend: "auto"` or `"webgpu"`) and imports the
// bundle that should run. `rec.bundle` says which one was loaded, `rec.backend` what actually runs.

const bundles = new Map();
let current = null;

/** What WebGPU this page has: "none", "software" (a fallback adapter such as SwiftShader) or
 * "hardware". Asked once per page (the only adapter request besides the one burn's wgpu makes to
 * create its device). */
let adapterCheck = null;
function webGpuKind() {
  adapterCheck ??= probeWebGpu();
  return adapterCheck;
}

async function probeWebGpu() {
  const gpu = globalThis.navigator && globalThis.navigator.gpu;
  if (!gpu) return "none";
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter) return "none";
    const info = adapter.info || {};
    const fallback = info.isFallbackAdapter === true || adapter.isFallbackAdapter === true;
    const named = /swiftshader|llvmpipe|lavapipe|software|microsoft basic render/i.test(
      `${info.architecture || ""} ${info.vendor || ""} ${info.description || ""}`,
    );
    return fallback || named ? "software" : "hardware";
  } catch {
    return "none";
  }
}

/** Where the wasm files are: `assetsBase` (a URL ending in "/", e.g. a CDN) or next to this file. */
function wasmUrl(name, assetsBase) {
  const file = `localrec_${name}_bg.wasm`;
  return assetsBase ? new URL(file, new URL(assetsBase, globalThis.location?.href)) : new URL(`./${file}`, import.meta.url);
}

/** Whether this browser's WebAssembly has SIMD (both bundles are built for it): a module that
 * returns `i8x16.popcnt(i8x16.splat(0))` must validate. */
function hasWasmSimd() {
  try {
    return WebAssembly.validate(
      new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]),
    );
  } catch {
    return false;
  }
}

function loadBundle(name, assetsBase) {
  if (!hasWasmSimd()) {
    return Promise.reject(
      Object.assign(
        new Error("this browser's WebAssembly has no SIMD, which localrec is built for (every browser with WebGPU has it; update the browser)"),
        { code: "BACKEND_UNAVAILABLE" },
      ),
    );
  }
  const key = `${name} ${assetsBase ?? ""}`;
  if (!bundles.has(key)) {
    const url = wasmUrl(name, assetsBase);
    const promise = (async () => {
      const mod = name === "webgpu" ? await import("./localrec_webgpu.js") : await import("./localrec_cpu.js");
      try {
        await mod.default({ module_or_path: url });
      } catch (e) {
        throw Object.assign(new Error(`cannot load the localrec ${name} bundle from ${url}: ${e && e.message ? e.message : e}`), {
          code: "BACKEND_UNAVAILABLE",
          cause: e,
        });
      }
      return mod;
    })();
    promise.catch(() => bundles.delete(key)); // a failed download can be retried
    bundles.set(key, promise);
  }
  return bundles.get(key);
}

/**
 * Which bundle a `backend` option needs on this page: "webgpu" or "cpu". `auto` takes WebGPU only
 * on a hardware adapter: a software one (SwiftShader and other fallback adapters) is hundreds of
 * times slower than the CPU bundle. `webgpu` takes any adapter, software included.
 */
export async function bundleFor(backend = "auto") {
  if (backend === "cpu") return "cpu";
  const kind = backend === "webgpu" || backend === "auto" ? await webGpuKind() : "none";
  if (backend === "webgpu") return kind === "none" ? "cpu" : "webgpu";
  if (backend === "auto") return kind === "hardware" ? "webgpu" : "cpu";
  return "cpu"; // an unknown value: the CPU bundle loads and reports INVALID_ARGUMENT
}

/**
 * Optional: downloads and compiles the bundle `Recommender.load({backend})` would pick, so that a
 * later load answers sooner. `Recommender.load()` does this itself when needed.
 */
export default async function init(backend = "auto", { assetsBase } = {}) {
  current = await loadBundle(await bundleFor(backend), assetsBase);
  return current;
}

/** The crate version of the loaded bundle (call after `init()` or `Recommender.load()`). */
export function version() {
  if (!current) throw new Error("no localrec bundle is loaded yet: await init() or Recommender.load() first");
  return current.version();
}

export class Recommender {
  #inner;
  #bundle;

  constructor(inner, bundle) {
    if (!inner) throw new TypeError("use `await Recommender.load(options)`");
    this.#inner = inner;
    this.#bundle = bundle;
  }

  static async load(options) {
    // `assetsBase` is the JS side's: where the wasm files are served from (a CDN, another path).
    let assetsBase;
    if (options && typeof options === "object") ({ assetsBase, ...options } = options);
    const backend = options && typeof options === "object" && options.backend !== undefined ? options.backend : "auto";
    const name = await bundleFor(backend);
    if (backend === "webgpu" && name !== "webgpu") {
      throw Object.assign(
        new Error('backend "webgpu" was asked for, but this browser exposes no WebGPU adapter (navigator.gpu.requestAdapter() gave none); use backend "auto" to fall back to the CPU'),
        { code: "BACKEND_UNAVAILABLE" },
      );
    }
    const mod = await loadBundle(name, assetsBase);
    current = mod;
    return new Recommender(await mod.Recommender.load(options), name);
  }

  /** "webgpu" or "cpu": what actually runs. */
  get backend() { return this.#inner.backend; }
  /** "indexeddb" or "memory": what actually stores the history. */
  get storage() { return this.#inner.storage; }
  /** Facts about the loaded model. */
  get model() { return this.#inner.model; }
  /** "webgpu" or "cpu": which wasm bundle was downloaded. */
  get bundle() { return this.#bundle; }
  /** Where the last recommend() spent its time, in milliseconds. */
  get lastTimings() { return this.#inner.lastTimings; }

  track(event) { return this.#inner.track(event); }
  recommend(options) { return this.#inner.recommend(options); }
  pickOffers(options) { return this.#inner.pickOffers(options); }
  history() { return this.#inner.history(); }
  forget() { return this.#inner.forget(); }
  free() { this.#inner.free(); }
  [Symbol.dispose]() { this.free(); }
}
