#!/usr/bin/env node
// Browser benchmark: localrec's recommend() against onnxruntime-web running the same SASRec
// (exported by benches/torch_sasrec.py from the same model.lrec, so both rank with the same
// weights), in headless Debian Chromium driven by playwright-core, served from 127.0.0.1.
//
//   node benches/browser-bench.mjs [--models beauty,100k,1m] [--backends cpu,webgpu]
//        [--calls 200] [--warmup 20] [--cold 5] [--out benches/results/browser.json]
//
// CPU rows: Chromium without WebGPU; localrec backend "cpu" (CPU-only bundle) vs onnxruntime-web's
// wasm execution provider (numThreads 1, no proxy worker). WebGPU rows: Chromium with
// --enable-unsafe-webgpu, whose adapter here is SwiftShader (software rendering on the CPU — not
// GPU figures); localrec backend "webgpu" vs onnxruntime-web's WebGPU execution provider.
// The ONNX peer's time includes building the input tensor, session.run and a JS top-k (k=10,
// history items excluded). Models come from benches/make-models.sh.
import { chromium } from "playwright-core";
import { existsSync, readFileSync, readdirSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join, resolve } from "node:path";
import { loadavg } from "node:os";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { startBenchServer } from "./serve-bench.mjs";
import { CHROMIUM, CHROMIUM_ARGS } from "../scripts/chromium.mjs";
import { machine, versions, today } from "./machine.mjs";

const benches = resolve(fileURLToPath(new URL(".", import.meta.url)));
const root = resolve(benches, "..");
const BASE_ARGS = CHROMIUM_ARGS;

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}
const opts = {
  models: option("models", "beauty,100k,1m").split(","),
  backends: option("backends", "cpu,webgpu").split(","),
  calls: Number(option("calls", 200)),
  warmup: Number(option("warmup", 20)),
  // SwiftShader WebGPU calls take hundreds of ms; their first few compile the shaders.
  webgpuWarmup: Number(option("webgpu-warmup", 10)),
  cold: Number(option("cold", 5)),
  // Cold-start trials per engine on the throttled network (0: not measured).
  slowTrials: Number(option("slow-trials", 3)),
  // Per latency measurement (one engine, one history length): stop the timed calls after this many
  // seconds once 10 are done. Only SwiftShader WebGPU comes near it; the calls made are reported.
  budgetS: Number(option("budget-s", 240)),
  // Cold-start trials stop after 3 once a model's trials have taken this long.
  coldBudgetS: Number(option("cold-budget-s", 90)),
  k: 10,
  lengths: [10, 50],
  out: resolve(option("out", join(benches, "results", "browser.json"))),
  // --append: keep the other backends' rows of an existing result file (rerun one backend).
  append: process.argv.includes("--append"),
};

const MODELS = {
  beauty: { lrec: join(root, "models/beauty/model.lrec"), lrecUrl: "/models/beauty/model.lrec", onnx: "beauty.onnx" },
  "100k": { lrec: join(benches, "models/random-100k.lrec"), lrecUrl: "/bench-models/random-100k.lrec", onnx: "random-100k.onnx" },
  "1m": { lrec: join(benches, "models/random-1m.lrec"), lrecUrl: "/bench-models/random-1m.lrec", onnx: "random-1m.onnx" },
};

/** The header of a model.lrec (src/format/): config and item ids. Since format version 7 the
 * per-item lists are a section of the payload (LEB128 columns, then the ids' text:
 * src/format/lists.rs); they are read into the header as earlier versions held them. */
function lrecHeader(path) {
  const buf = readFileSync(path);
  const len = Number(buf.readBigUInt64LE(12));
  const header = JSON.parse(buf.subarray(20, 20 + len).toString("utf8"));
  if (header.lists) {
    const n = header.config.n_items;
    let at = 28 + len + header.lists.offset;
    const number = () => {
      let value = 0, shift = 0, byte;
      do {
        byte = buf[at++];
        value += (byte & 0x7f) * 2 ** shift;
        shift += 7;
      } while (byte & 0x80);
      return value;
    };
    const column = (count) => Array.from({ length: count }, number);
    header.popularity = column(n);
    const lengths = column(n);
    if (header.lists.attribute_ids !== undefined) {
      const counts = column(n);
      const ids = column(header.lists.attribute_ids);
      let k = 0;
      header.attributes = counts.map((c) => ids.slice(k, (k += c)));
    }
    header.items = lengths.map((l) => buf.toString("utf8", at, (at += l)));
  }
  return header;
}

/** "lrec (int8)", "lrec (int8, int4 item table)" or "lrec (int8, rq12 item table)": how a model
 * file stores its matrices (the item table's dtype when it is not int8). */
function lrecFormat(path) {
  const table = lrecHeader(path).tensors.find((t) => t.name === "item_emb");
  if (table?.dtype === "i4") return "lrec (int8, int4 item table)";
  return table?.dtype?.startsWith("rq") ? `lrec (int8, ${table.dtype} item table)` : "lrec (int8)";
}

/** `n` distinct rows in 1..items, reproducible. */
function historyRows(items, n, seed = 20240601) {
  let x = seed >>> 0;
  const rows = [];
  const seen = new Set();
  while (rows.length < n) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    const r = 1 + (x % items);
    if (!seen.has(r)) {
      seen.add(r);
      rows.push(r);
    }
  }
  return rows;
}

function fileSize(path) {
  const raw = readFileSync(path);
  return { file: path.startsWith(root) ? path.slice(root.length + 1) : path, bytes: raw.length, gzipBytes: gzipSync(raw, { level: 9 }).length };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : null;
};

/** Chromium's renderer processes now: pid list (DevTools' SystemInfo domain). */
async function rendererPids(browser) {
  const cdp = await browser.newBrowserCDPSession();
  try {
    const { processInfo } = await cdp.send("SystemInfo.getProcessInfo");
    return processInfo.filter((p) => p.type === "renderer").map((p) => p.id);
  } finally {
    await cdp.detach();
  }
}

/** Peak and current resident memory of a process, in bytes (Linux /proc), or null. */
function processMemory(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (key) => Number(status.match(new RegExp(`^${key}:\\s+(\\d+) kB`, "m"))?.[1]) * 1024;
    return { peakRssBytes: kb("VmHWM"), rssBytes: kb("VmRSS") };
  } catch {
    return null;
  }
}

/**
 * Runs `fn` of bench.js in a new browser context (empty cache). With `memory`, also reports the
 * peak and current resident memory of the page's renderer process (the largest of the renderers
 * that were not there before the context; Chromium also starts small spare ones): the whole tab's
 * memory, WebAssembly memories, JS heaps and the browser's own buffers alike, read after `fn`
 * answered.
 */
async function inFreshContext(browser, base, fn, arg, requests, memory = false, network = null) {
  const before = memory ? new Set(await rendererPids(browser)) : null;
  const context = await browser.newContext();
  const errors = [];
  context.on("request", (r) => requests && requests.push(r.url()));
  try {
    const page = await context.newPage();
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    await page.goto(`${base}/bench/`);
    if (network) {
      // Throttled after the page loads: only what `fn` downloads goes through it.
      const cdp = await context.newCDPSession(page);
      await cdp.send("Network.enable");
      await cdp.send("Network.emulateNetworkConditions", { offline: false, ...network });
    }
    const result = await page.evaluate(
      async ([fn, arg]) => {
        try {
          const bench = await import("/bench/bench.js");
          return await bench[fn](arg);
        } catch (e) {
          return { error: `${e && e.code ? e.code + ": " : ""}${e && e.message ? e.message : e}` };
        }
      },
      [fn, arg],
    );
    if (errors.length && result && typeof result === "object") result.pageErrors = errors.slice(0, 5);
    if (memory && result && typeof result === "object") {
      const fresh = (await rendererPids(browser)).filter((pid) => !before.has(pid));
      // Chromium starts spare renderers beside the page's; the page's is the largest.
      const mem = fresh
        .map(processMemory)
        .filter(Boolean)
        .reduce((a, b) => (!a || b.peakRssBytes > a.peakRssBytes ? b : a), null);
      result.peakRssBytes = mem?.peakRssBytes ?? null;
      result.rssBytes = mem?.rssBytes ?? null;
    }
    return result;
  } catch (e) {
    return { error: String(e && e.message ? e.message : e), pageErrors: errors.slice(0, 5) };
  } finally {
    await context.close();
  }
}

// --wait-idle or BENCH_WAIT_IDLE=1 (a shared development machine): before each measurement wait
// until no process named in BENCH_IDLE_PROCS (default cargo, rustc) runs, and redo a measurement
// during which one appeared. Without it such measurements are only marked `disturbed`.
const IDLE_PROCS = (process.env.BENCH_IDLE_PROCS || "cargo rustc").split(/\s+/).filter(Boolean);
const WAIT_IDLE = process.env.BENCH_WAIT_IDLE === "1" || process.argv.includes("--wait-idle");
const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));
function busy() {
  return IDLE_PROCS.some((p) => {
    try {
      execFileSync("pgrep", ["-x", p], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  });
}
async function guarded(label, fn) {
  let r;
  for (let attempt = 1; attempt <= 5; attempt++) {
    if (WAIT_IDLE) {
      while (busy()) {
        log(`waiting for ${IDLE_PROCS.join("/")} to finish before: ${label}`);
        await sleep(30_000);
      }
    }
    let disturbed = false;
    const timer = setInterval(() => (disturbed ||= busy()), 2000);
    try {
      r = await fn();
    } finally {
      clearInterval(timer);
    }
    disturbed ||= busy();
    if (!disturbed) return r;
    if (!WAIT_IDLE) break;
    log(`${label}: ${IDLE_PROCS.join("/")} ran meanwhile; measuring again`);
  }
  log(`warning: ${label} ran while ${IDLE_PROCS.join("/")} was running`);
  if (r && typeof r === "object") r.disturbed = true;
  return r;
}

function log(...a) {
  console.error(`[${new Date().toISOString().slice(11, 19)}]`, ...a);
}

/** The throttled network of the slow-network rows (Chromium's network emulation, bytes/s). */
const SLOW_NETWORK = { label: "10 Mbit/s down, 5 Mbit/s up, 40 ms latency, gzip", latency: 40, downloadThroughput: 10e6 / 8, uploadThroughput: 5e6 / 8 };

/**
 * Cold start to the first answer where the download, not the CPU, takes most of the time: every
 * file gzipped by the server (as a CDN sends them) and the page's network throttled. localrec
 * reading the model as it arrives (given its URL) against the same page downloading the whole file
 * before handing its bytes over (beside the bundle's download and compilation, so that only the
 * reading differs), and onnxruntime-web; Beauty and the 1M core.
 */
async function benchSlowNetwork(browser, result, opts) {
  const server = await startBenchServer(0, "127.0.0.1", { gzip: true });
  const base = `http://127.0.0.1:${server.address().port}`;
  const { label, ...network } = SLOW_NETWORK;
  result.slowNetwork = { network: label, trials: opts.slowTrials, rows: [] };
  try {
    const cases = [];
    if (opts.models.includes("beauty")) cases.push({ model: "beauty", file: MODELS.beauty.lrec, url: MODELS.beauty.lrecUrl, onnx: MODELS.beauty.onnx });
    const core = join(benches, "models/random-1m-sharded/model.lrec");
    if (opts.models.includes("1m") && existsSync(core)) cases.push({ model: "1m core", file: core, url: "/bench-models/random-1m-sharded/model.lrec" });
    for (const c of cases) {
      const header = lrecHeader(c.file);
      const rows = historyRows(header.config.n_items, 10);
      const ids = rows.map((r) => header.items[r - 1]);
      const trials = { streamed: [], whole: [], ort: [] };
      for (let t = 0; t < opts.slowTrials; t++) {
        log("cpu", c.model, "slow network cold start", t + 1, "/", opts.slowTrials);
        for (const whole of [false, true]) {
          trials[whole ? "whole" : "streamed"].push(await guarded(`cpu ${c.model} slow network localrec`, () => inFreshContext(browser, base, "localrecCold",
            { model: c.url, backend: "cpu", historyIds: ids, k: opts.k, whole }, null, false, network)));
        }
        if (c.onnx) {
          trials.ort.push(await guarded(`cpu ${c.model} slow network onnxruntime-web`, () => inFreshContext(browser, base, "ortCold",
            { onnx: `/bench-models/${c.onnx}`, ep: "wasm", historyRows: rows, maxLen: header.config.max_len, k: opts.k }, null, false, network)));
        }
      }
      const med = (list, key) => median(list.filter((x) => x && !x.error).map((x) => x[key]));
      const errors = Object.values(trials).flat().filter((x) => !x || x.error).map((x) => x?.error ?? "no result");
      const row = {
        model: c.model, gzipBytes: fileSize(c.file).gzipBytes,
        streamed: { totalMsMedian: med(trials.streamed, "totalMs"), loadMsMedian: med(trials.streamed, "loadMs") },
        whole: { totalMsMedian: med(trials.whole, "totalMs"), loadMsMedian: med(trials.whole, "loadMs") },
        ort: c.onnx ? { totalMsMedian: med(trials.ort, "totalMs"), loadMsMedian: med(trials.ort, "loadMs") } : null,
        errors, raw: trials,
      };
      row.streamedOverWhole = row.streamed.totalMsMedian / row.whole.totalMsMedian;
      row.streamedOverOrt = row.ort ? row.streamed.totalMsMedian / row.ort.totalMsMedian : null;
      result.slowNetwork.rows.push(row);
      log("cpu", c.model, `slow network cold total median: streamed ${row.streamed.totalMsMedian?.toFixed(0)} ms, whole file first ${row.whole.totalMsMedian?.toFixed(0)} ms,`,
        `onnxruntime-web ${row.ort?.totalMsMedian?.toFixed(0) ?? "–"} ms`, errors.length ? errors : "");
    }
  } finally {
    server.close();
  }
}

/**
 * The same random models split into a core and category shards (benches/make-models.sh): what a
 * shopper downloads before the first answer (the core), the cold start to that answer, and what
 * opening one category page then costs (its shards' bytes, fetch, verification, the next answer).
 */
async function benchSharded(browser, base, result, opts) {
  result.sharded = result.sharded || [];
  for (const name of opts.models.filter((n) => n === "100k" || n === "1m")) {
    const dir = join(benches, `models/random-${name}-sharded`);
    if (!existsSync(join(dir, "model.lrec"))) {
      log(`${dir} is missing (benches/make-models.sh): sharded row of ${name} not measured`);
      continue;
    }
    const header = lrecHeader(join(dir, "model.lrec"));
    const shards = header.shards.shards;
    // One category page: the first by name (the 500 categories are filled evenly by a hash).
    const byCategory = new Map();
    for (const sh of shards) byCategory.set(sh.category, [...(byCategory.get(sh.category) || []), sh]);
    const category = [...byCategory.keys()].sort()[0];
    const gz = (f) => gzipSync(readFileSync(f), { level: 9 }).length;
    const shardGz = shards.map((sh) => gz(join(dir, "shards", `${sh.sha256}.lrec`)));
    const categoryShards = byCategory.get(category);
    const ids = header.items.slice(0, 10);
    const trials = [];
    for (let t = 0; t < opts.cold; t++) {
      log("cpu", `${name}-sharded`, "cold start", t + 1, "/", opts.cold);
      trials.push(await guarded(`cpu ${name}-sharded localrec cold start`, () => inFreshContext(browser, base, "localrecCold",
        { model: `/bench-models/random-${name}-sharded/model.lrec`, backend: "cpu", historyIds: ids, k: opts.k, category }, null, true)));
    }
    const ok = trials.filter((x) => x && !x.error);
    const med = (key) => median(ok.map((x) => x[key]).filter((v) => v != null));
    const full = result.cold.find((c) => c.model === name && c.backend === "cpu");
    const row = {
      model: name, items: header.shards.total_items, coreItems: header.items.length, shards: shards.length,
      categories: byCategory.size, core: fileSize(join(dir, "model.lrec")),
      shardsBytes: shards.reduce((n, sh) => n + sh.bytes, 0), shardsGzipBytes: shardGz.reduce((a, b) => a + b, 0),
      category: { name: category, shards: categoryShards.length, items: categoryShards.reduce((n, sh) => n + sh.items, 0),
        gzipBytes: categoryShards.reduce((n, sh) => n + shardGz[shards.indexOf(sh)], 0) },
      cold: {
        trials: ok.length, errors: trials.filter((x) => !x || x.error).map((x) => x?.error ?? "no result"),
        loadMsMedian: med("loadMs"), firstRecommendMsMedian: med("firstRecommendMs"), totalMsMedian: med("totalMs"),
        categoryMsMedian: med("categoryMs"), peakRssBytesMedian: med("peakRssBytes"),
      },
      // The whole model's cold start in this run, localrec and onnxruntime-web (null if not run).
      fullLocalrecTotalMsMedian: full?.localrec.totalMsMedian ?? null,
      fullOrtTotalMsMedian: full?.ort.totalMsMedian ?? null,
      raw: trials,
    };
    result.sharded = [...result.sharded.filter((r) => r.model !== name), row];
    log("cpu", `${name}-sharded`, "core gzip MB", (row.core.gzipBytes / 1e6).toFixed(2), "cold total", row.cold.totalMsMedian?.toFixed(1),
      "ms; category", category, (row.category.gzipBytes / 1e6).toFixed(2), "MB gzip,", row.cold.categoryMsMedian?.toFixed(1), "ms");
  }
}

async function main() {
  for (const name of opts.models) {
    const m = MODELS[name];
    if (!m) throw new Error(`unknown model ${name} (beauty, 100k, 1m)`);
    for (const f of [m.lrec, join(benches, "models", m.onnx)]) {
      if (!existsSync(f)) throw new Error(`${f} is missing: run benches/make-models.sh first`);
    }
  }
  if (!existsSync(join(root, "pkg/localrec.js"))) throw new Error("pkg/ is missing: run `make pkg` first");

  mkdirSync(resolve(opts.out, ".."), { recursive: true });
  const server = await startBenchServer(0);
  const base = `http://127.0.0.1:${server.address().port}`;
  const result = {
    kind: "browser",
    date: today(),
    machine: machine(),
    loadAverageAtStart: loadavg(),
    versions: versions(),
    settings: {
      waitIdle: WAIT_IDLE, idleProcesses: IDLE_PROCS,
      calls: opts.calls, warmup: opts.warmup, webgpuWarmup: opts.webgpuWarmup, coldTrials: opts.cold, budgetSeconds: opts.budgetS, coldBudgetSeconds: opts.coldBudgetS, k: opts.k, historyLengths: opts.lengths,
      storage: "memory", ortWasmThreads: 1, ortProxy: false, chromiumArgs: BASE_ARGS, server: "127.0.0.1, no compression",
    },
    adapters: {},
    models: {},
    cases: [],
    cold: [],
    sizes: { wasm: [], js: [], models: [] },
    notes: [
      "WebGPU rows: Chromium --enable-unsafe-webgpu on a machine without a GPU gets SwiftShader, software rendering on the CPU — not GPU figures.",
      "localrec's recommend() is timed after one more tracked event than its last answer (the history cleared, its first n - 1 events tracked and answered, the n-th tracked, untimed): with relative positions (the trainer's default since format version 6) it computes only that event over the cached keys and values; repeatP50 is the same history answered again (nothing new to compute). onnxruntime-web runs the whole graph every call.",
      "onnxruntime-web times include the input tensor, session.run (scores read back to JS) and a JS top-k over all items (history excluded); localrec's recommend() includes scoring the quantised catalogue (int8 up to 20,000 items, int4 up to 100,000, residual codes rq12 above), top-k and reasons.",
      "The ONNX graph takes a fixed [1, 50] input (history left-padded with 0); localrec runs the Transformer on the history's own length (at most 50).",
    ],
  };
  const fetched = new Set();

  try {
    for (const backend of opts.backends) {
      const webgpu = backend === "webgpu";
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: webgpu ? [...BASE_ARGS, "--enable-unsafe-webgpu"] : BASE_ARGS,
      });
      try {
        result.versions.chromiumBrowser = browser.version();
        const adapter = await inFreshContext(browser, base, "adapterInfo", null);
        result.adapters[backend] = adapter;
        log(backend, "adapter:", JSON.stringify(adapter));
        if (webgpu && !adapter) {
          result.notes.push("No WebGPU adapter with --enable-unsafe-webgpu: WebGPU rows not measured.");
          continue;
        }
        if (!webgpu) {
          // The same page with neither engine loaded: the part of both engines' renderer memory
          // that any tab takes.
          const empty = [];
          for (let t = 0; t < 3; t++) empty.push(await inFreshContext(browser, base, "emptyPage", null, null, true));
          result.emptyPagePeakRssBytes = median(empty.map((x) => x?.peakRssBytes).filter((v) => v != null));
          log("cpu empty page renderer peak RSS MB", (result.emptyPagePeakRssBytes / 1e6).toFixed(1));
        }
        const label = webgpu ? "WebGPU (SwiftShader, software rendering — not GPU figures)" : "CPU";
        const ep = webgpu ? "webgpu" : "wasm";
        for (const name of opts.models) {
          const m = MODELS[name];
          const header = lrecHeader(m.lrec);
          const c = header.config;
          const rows = historyRows(c.n_items, Math.max(...opts.lengths));
          const ids = rows.map((r) => header.items[r - 1]);
          const rowOf = new Map(header.items.map((id, i) => [id, i + 1]));
          result.models[name] = {
            items: c.n_items, dModel: c.d_model, layers: c.layers, heads: c.heads, maxLen: c.max_len,
            attributes: c.n_attributes, eventTypes: c.event_types, lrec: m.lrecUrl, onnx: `/bench-models/${m.onnx}`,
          };
          const common = { k: opts.k, lengths: opts.lengths, warmup: webgpu ? opts.webgpuWarmup : opts.warmup, calls: opts.calls, budgetMs: opts.budgetS * 1000 };
          log(backend, name, "localrec latency");
          const reqs = [];
          const lr = await guarded(`${backend} ${name} localrec latency`, () => inFreshContext(browser, base, "localrecLatency",
            { ...common, model: m.lrecUrl, backend: webgpu ? "webgpu" : "cpu", historyIds: ids }, reqs));
          log(backend, name, "onnxruntime-web latency");
          const or = await guarded(`${backend} ${name} onnxruntime-web latency`, () => inFreshContext(browser, base, "ortLatency",
            { ...common, onnx: `/bench-models/${m.onnx}`, ep, historyRows: rows, maxLen: c.max_len }, reqs));
          reqs.filter((u) => u.endsWith(".wasm") || u.endsWith(".mjs") || u.endsWith(".js")).forEach((u) => fetched.add(new URL(u).pathname));
          for (const len of opts.lengths) {
            const a = lr.runs?.find((r) => r.history === len);
            const b = or.runs?.find((r) => r.history === len);
            const lrTopRows = a ? a.top.map((id) => rowOf.get(id)) : null;
            const overlap = a && b ? lrTopRows.filter((r) => b.top.includes(r)).length : null;
            result.cases.push({
              model: name, items: c.n_items, layers: c.layers, backend, label, history: len,
              localrec: a ? {
                backend: lr.backend, bundle: lr.bundle, events: a.events,
                p50: a.wallMs.p50, p95: a.wallMs.p95, mean: a.wallMs.mean, calls: a.calls,
                forwardP50: a.forwardMs.p50, rankP50: a.rankMs.p50, innerTotalP50: a.innerTotalMs.p50,
                scoringP50: a.scoringMs.p50, topKP50: a.topKMs.p50, reasonsP50: a.reasonsMs.p50,
                wallMs: a.wallMs, forwardMs: a.forwardMs, rankMs: a.rankMs,
                scoringMs: a.scoringMs, topKMs: a.topKMs, reasonsMs: a.reasonsMs,
                repeatP50: a.repeatMs.p50, repeatMs: a.repeatMs,
              } : { error: lr.error || "no result", pageErrors: lr.pageErrors },
              ort: b ? {
                ep: or.ep, p50: b.wallMs.p50, p95: b.wallMs.p95, mean: b.wallMs.mean, calls: b.calls,
                runP50: b.runMs.p50, topkP50: b.topkMs.p50, wallMs: b.wallMs, runMs: b.runMs, topkMs: b.topkMs,
              } : { error: or.error || "no result", pageErrors: or.pageErrors },
              ratioP50: a && b ? a.wallMs.p50 / b.wallMs.p50 : null,
              disturbed: Boolean(lr.disturbed || or.disturbed),
              top10Agreement: overlap,
              top10SameOrder: a && b ? JSON.stringify(lrTopRows) === JSON.stringify(b.top) : null,
            });
            const last = result.cases[result.cases.length - 1];
            log(backend, name, `h=${len}`, "localrec p50", a?.wallMs.p50?.toFixed(3), "ort p50", b?.wallMs.p50?.toFixed(3),
              "ratio", last.ratioP50?.toFixed(2), "top10 overlap", overlap, a ? "" : lr.error, b ? "" : or.error);
          }
          // Cold start: a fresh browser context (empty cache) per trial, engines interleaved.
          const trials = { localrec: [], ort: [] };
          const histCold = { lr: ids.slice(0, 10), rows: rows.slice(0, 10) };
          const coldStart = Date.now();
          for (let t = 0; t < opts.cold && !(t >= 3 && Date.now() - coldStart > opts.coldBudgetS * 1000); t++) {
            log(backend, name, "cold start", t + 1, "/", opts.cold);
            trials.localrec.push(await guarded(`${backend} ${name} localrec cold start`, () => inFreshContext(browser, base, "localrecCold",
              { model: m.lrecUrl, backend: webgpu ? "webgpu" : "cpu", historyIds: histCold.lr, k: opts.k }, reqs, true)));
            trials.ort.push(await guarded(`${backend} ${name} onnxruntime-web cold start`, () => inFreshContext(browser, base, "ortCold",
              { onnx: `/bench-models/${m.onnx}`, ep, historyRows: histCold.rows, maxLen: c.max_len, k: opts.k }, reqs, true)));
          }
          const summarise = (list, keys) => {
            const ok = list.filter((x) => x && !x.error);
            const out = { trials: ok.length, errors: list.filter((x) => !x || x.error).map((x) => x?.error ?? "no result") };
            for (const key of keys) out[`${key}Median`] = median(ok.map((x) => x[key]).filter((v) => v != null));
            return out;
          };
          const lc = summarise(trials.localrec, ["loadMs", "trackMs", "firstRecommendMs", "totalMs", "peakRssBytes", "rssBytes"]);
          const oc = summarise(trials.ort, ["loadMs", "firstRecommendMs", "totalMs", "peakRssBytes", "rssBytes"]);
          result.cold.push({
            model: name, items: c.n_items, layers: c.layers, backend, label, history: 10,
            localrec: lc, ort: oc,
            ratioTotal: lc.totalMsMedian != null && oc.totalMsMedian != null ? lc.totalMsMedian / oc.totalMsMedian : null,
            raw: trials,
          });
          log(backend, name, "cold total median: localrec", lc.totalMsMedian?.toFixed(1), "ort", oc.totalMsMedian?.toFixed(1),
            "renderer peak RSS MB: localrec", (lc.peakRssBytesMedian / 1e6).toFixed(1), "ort", (oc.peakRssBytesMedian / 1e6).toFixed(1));
          writeFileSync(opts.out + ".partial", JSON.stringify(result, null, 1));
        }
        if (!webgpu) await benchSharded(browser, base, result, opts);
        if (!webgpu && opts.slowTrials > 0) await benchSlowNetwork(browser, result, opts);
      } finally {
        await browser.close();
      }
    }
  } finally {
    server.close();
  }

  // Sizes: every wasm bundle of the package, the onnxruntime-web files the pages actually fetched,
  // and each model file (raw and gzip -9).
  for (const f of readdirSync(join(root, "pkg")).sort()) {
    if (f.endsWith(".wasm")) result.sizes.wasm.push({ engine: "localrec", ...fileSize(join(root, "pkg", f)) });
    if (f.endsWith(".js")) result.sizes.js.push({ engine: "localrec", ...fileSize(join(root, "pkg", f)) });
  }
  for (const p of [...fetched].sort()) {
    if (!p.startsWith("/ort/")) continue;
    const f = join(benches, "node_modules/onnxruntime-web/dist", p.slice(5));
    (p.endsWith(".wasm") ? result.sizes.wasm : result.sizes.js).push({ engine: "onnxruntime-web", fetched: true, ...fileSize(f) });
  }
  for (const name of opts.models) {
    const m = MODELS[name];
    result.sizes.models.push({ model: name, format: lrecFormat(m.lrec), ...fileSize(m.lrec) });
    // The same random model with an int8 item table (benches/make-models.sh), for the size the
    // int4 default saves.
    const int8 = m.lrec.replace(/\.lrec$/, "-int8.lrec");
    if (int8 !== m.lrec && existsSync(int8)) {
      result.sizes.models.push({ model: name, format: lrecFormat(int8), ...fileSize(int8) });
    }
    result.sizes.models.push({ model: name, format: "onnx (f32)", ...fileSize(join(benches, "models", m.onnx)) });
  }
  result.loadAverageAtEnd = loadavg();
  result.measured = [{ backends: opts.backends, models: opts.models, date: result.date, loadAverageAtStart: result.loadAverageAtStart, loadAverageAtEnd: result.loadAverageAtEnd }];
  if (opts.append && existsSync(opts.out)) {
    const prev = JSON.parse(readFileSync(opts.out, "utf8"));
    const other = (x) => !(opts.backends.includes(x.backend) && opts.models.includes(x.model));
    result.cases = [...prev.cases.filter(other), ...result.cases];
    result.cold = [...prev.cold.filter(other), ...result.cold];
    result.adapters = { ...(prev.adapters || {}), ...result.adapters };
    result.models = { ...prev.models, ...result.models };
    result.emptyPagePeakRssBytes ??= prev.emptyPagePeakRssBytes;
    const measuredSharded = new Set((result.sharded || []).map((r) => r.model));
    result.sharded = [...(prev.sharded || []).filter((r) => !measuredSharded.has(r.model)), ...(result.sharded || [])];
    result.slowNetwork ??= prev.slowNetwork;
    result.measured = [...(prev.measured || []), ...result.measured];
    for (const key of ["wasm", "js", "models"]) {
      const seen = new Set(result.sizes[key].map((x) => x.file));
      result.sizes[key].push(...prev.sizes[key].filter((x) => !seen.has(x.file)));
    }
    const order = ["cpu", "webgpu"], models = Object.keys(MODELS);
    const byBackend = (a, b) =>
      order.indexOf(a.backend) - order.indexOf(b.backend) || models.indexOf(a.model) - models.indexOf(b.model);
    result.cases.sort(byBackend);
    result.cold.sort(byBackend);
  }
  mkdirSync(resolve(opts.out, ".."), { recursive: true });
  writeFileSync(opts.out, JSON.stringify(result, null, 1) + "\n");
  rmSync(opts.out + ".partial", { force: true });
  log("wrote", opts.out);
}

await main();
