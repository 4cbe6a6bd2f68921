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

/**
 * Where a bundle's wasm file is: `wasmUrl[name]` when given (a URL a bundler's asset import
 * returned), else under `assetsBase` (a folder URL ending in "/", e.g. a CDN), else next to this
 * file. The last case is written as `new URL("<literal>", import.meta.url)` for each file, the
 * pattern Vite, webpack, Rollup plugins and Parcel recognise as an asset to emit.
 */
function wasmUrl(name, { assetsBase, wasmUrl: urls } = {}) {
  const base = globalThis.location?.href;
  if (urls && urls[name] !== undefined) return new URL(urls[name], base);
  if (assetsBase !== undefined) return new URL(`localrec_${name}_bg.wasm`, new URL(assetsBase, base));
  if (!import.meta.url) {
    // A bundle that is not an ES module (esbuild's or Rollup's iife/cjs output) has no import.meta.
    throw codedError(
      "BACKEND_UNAVAILABLE",
      "localrec cannot tell where its .wasm files are: this build has no import.meta.url (not an ES module bundle); build with format \"esm\", or pass load({ wasmUrl: { cpu, webgpu } }) or load({ assetsBase })",
    );
  }
  return name === "webgpu"
    ? new URL("./localrec_webgpu_bg.wasm", import.meta.url)
    : new URL("./localrec_cpu_bg.wasm", import.meta.url);
}

/** The errors this file raises, shaped as the wasm side's: an `Error` with a stable `code`. */
function codedError(code, message, cause) {
  return Object.assign(new Error(message), cause === undefined ? { code } : { code, cause });
}

/** The JS-side options of `load()` / `init()`: where the wasm files are. Checked here, so that a
 * typo is an INVALID_ARGUMENT rather than a 404. */
function assetOptions(options) {
  const { assetsBase, wasmUrl } = options;
  if (assetsBase !== undefined && typeof assetsBase !== "string" && !(assetsBase instanceof URL)) {
    throw codedError("INVALID_ARGUMENT", "assetsBase must be a URL string or URL (the folder holding the .wasm files)");
  }
  if (wasmUrl !== undefined) {
    const ok = wasmUrl && typeof wasmUrl === "object" && !(wasmUrl instanceof URL) &&
      Object.entries(wasmUrl).every(([k, v]) => (k === "cpu" || k === "webgpu") && (typeof v === "string" || v instanceof URL));
    if (!ok) throw codedError("INVALID_ARGUMENT", 'wasmUrl must be an object { cpu?: URL, webgpu?: URL } (the URLs of localrec_cpu_bg.wasm and localrec_webgpu_bg.wasm)');
  }
  return { assetsBase, wasmUrl };
}

/** Throws a clear error where there is no browser-like global scope (server rendering). */
function needBrowser(what) {
  if (typeof WebAssembly === "undefined" || typeof self === "undefined" || typeof fetch !== "function") {
    throw codedError("BACKEND_UNAVAILABLE", `localrec ${what} runs in a browser (a page or a worker), not here: on a server, import it freely but call it only in the browser (e.g. in useEffect or a client component's event handler)`);
  }
}

/** Whether this browser's WebAssembly has SIMD (both bundles are built for it): a module that
 * returns `i8x16.popcnt(i8x16.splat(0))` must validate. Asked once per page (each
 * `WebAssembly.validate` took about 1 ms of a cold start in a profile). */
let simd = null;
function hasWasmSimd() {
  simd ??= probeWasmSimd();
  return simd;
}

function probeWasmSimd() {
  try {
    return WebAssembly.validate(
      new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]),
    );
  } catch {
    return false;
  }
}

/** A model given as a URL, requested now (same credentials as the wasm side's fetch), or null. */
function prefetch(model) {
  if (typeof model !== "string" && !(model instanceof URL)) return null;
  try {
    return fetch(new URL(model, globalThis.location?.href), { credentials: "same-origin" }).catch(() => null);
  } catch {
    return null; // not a URL: the wasm side says so
  }
}

async function loadBundle(name, assets) {
  if (!hasWasmSimd()) {
    throw codedError(
      "BACKEND_UNAVAILABLE",
      "this browser's WebAssembly has no SIMD, which localrec is built for (every browser with WebGPU has it; update the browser)",
    );
  }
  const url = wasmUrl(name, assets);
  const key = `${name} ${url.href}`;
  if (!bundles.has(key)) {
    // The .wasm download starts now, beside the import of its JS glue (and the glue's own
    // imports), instead of after it; the glue compiles the Response as it streams in.
    const wasm = fetch(url, { credentials: "same-origin" });
    wasm.catch(() => {}); // reported by the glue below
    // The glue's own import (the browser-side helpers) starts now too, not after the glue has
    // arrived: one round trip fewer before the first answer. (`scripts/build-pkg.sh` writes the
    // snippet folder's name, which wasm-bindgen derives from the crate, into this path.)
    import("./snippets/localrec-SNIPPET/js/host.js").catch(() => {}); // reported by the glue
    const promise = (async () => {
      const mod = name === "webgpu" ? await import("./localrec_webgpu.js") : await import("./localrec_cpu.js");
      try {
        await mod.default({ module_or_path: wasm });
      } catch (e) {
        throw codedError(
          "BACKEND_UNAVAILABLE",
          `cannot load the localrec ${name} bundle from ${url}: ${e && e.message ? e.message : e} (if your bundler does not emit the .wasm files, pass load({ wasmUrl }) or load({ assetsBase }): see the README)`,
          e,
        );
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
export default async function init(backend = "auto", options = {}) {
  needBrowser("init()");
  const assets = assetOptions(options ?? {});
  current = await loadBundle(await bundleFor(backend), assets);
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
    needBrowser("Recommender.load()");
    // `assetsBase` and `wasmUrl` are the JS side's: where the wasm files are served from.
    let assets = {};
    if (options && typeof options === "object") {
      assets = assetOptions(options);
      const { assetsBase: _a, wasmUrl: _w, ...rest } = options;
      if (rest.shardsBase instanceof URL) rest.shardsBase = rest.shardsBase.href;
      options = rest;
    }
    const backend = options && typeof options === "object" && options.backend !== undefined ? options.backend : "auto";
    // The weights download starts first: it overlaps the WebGPU adapter request (for "auto" and
    // "webgpu"), the bundle's download and its compilation (the wasm side takes the Response as it
    // would the URL; if this request fails, it fetches the URL itself and reports the error as
    // usual).
    const early = hasWasmSimd() ? prefetch(options?.model) : null;
    let name, mod;
    try {
      name = await bundleFor(backend);
      if (backend === "webgpu" && name !== "webgpu") {
        throw codedError(
          "BACKEND_UNAVAILABLE",
          'backend "webgpu" was asked for, but this browser exposes no WebGPU adapter (navigator.gpu.requestAdapter() gave none); use backend "auto" to fall back to the CPU',
        );
      }
      mod = await loadBundle(name, assets);
    } catch (e) {
      early?.then((r) => r?.body?.cancel().catch(() => {})); // the weights are not needed
      throw e;
    }
    current = mod;
    if (early) {
      const response = await early;
      if (response) options = { ...options, model: response };
    }
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
  /** A core's shards of `category` (the page the shopper opened): fetched, verified, added. */
  loadCategory(category) { return this.#inner.loadCategory(category); }
  /** Every shard of a core not loaded yet: the whole catalogue. */
  loadCatalog() { return this.#inner.loadCatalog(); }
  recommend(options) { return this.#inner.recommend(options); }
  pickOffers(options) { return this.#inner.pickOffers(options); }
  history() { return this.#inner.history(); }
  forget() { return this.#inner.forget(); }
  free() { this.#inner.free(); }
  [Symbol.dispose]() { this.free(); }
}
