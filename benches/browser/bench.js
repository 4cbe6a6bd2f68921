// The in-page half of the browser benchmark (benches/browser-bench.mjs drives it). Nothing here is
// imported before a measurement starts: localrec and onnxruntime-web are loaded inside the timed
// functions, so cold-start figures include fetching and compiling their wasm.

const ORT_MODULE = { wasm: "/ort/ort.wasm.min.mjs", webgpu: "/ort/ort.webgpu.min.mjs" };

export function summary(xs) {
  const s = Float64Array.from(xs).sort();
  const at = (p) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return { n: s.length, p50: at(50), p95: at(95), mean, min: s[0], max: s[s.length - 1] };
}

/** WebGPU adapter facts (null without one): proves which device the "WebGPU" rows ran on. */
/** Nothing: the benchmark page alone, for the renderer memory of a tab without either engine. */
export async function emptyPage() {
  return {};
}

export async function adapterInfo() {
  if (!navigator.gpu) return null;
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) return null;
  const i = adapter.info || {};
  return {
    vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description,
    isFallbackAdapter: adapter.isFallbackAdapter ?? i.isFallbackAdapter ?? null,
    maxBufferSize: adapter.limits.maxBufferSize,
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
  };
}

// A time budget per measurement (SwiftShader WebGPU can take seconds per call): the timed loop
// stops after `budgetMs` once it has at least MIN_CALLS calls; warm-up gets an eighth of it (at
// least 2 calls). The number of calls actually made is reported.
const MIN_CALLS = 10;
const overBudget = (start, i, budgetMs) => i >= MIN_CALLS && performance.now() - start > budgetMs;
async function warm(fn, warmup, budgetMs) {
  const start = performance.now();
  let i = 0;
  for (; i < warmup && !(i >= 2 && performance.now() - start > budgetMs / 8); i++) await fn();
  return i;
}

// ---------------------------------------------------------------------------------------------
// localrec

/** `whole`: the page downloads the model file completely (beside the bundle's download and
 * compilation) and passes its bytes, so that nothing is read before the last byte arrives; else
 * localrec requests the URL and reads the file as it arrives. */
async function loadLocalrec(model, backend, whole = false) {
  const mod = await import("/pkg/localrec.js");
  if (whole) {
    const [bytes] = await Promise.all([fetch(model).then((r) => r.arrayBuffer()), mod.default(backend)]);
    model = new Uint8Array(bytes);
  }
  return mod.Recommender.load({ model, backend, storage: "memory" });
}

/**
 * recommend({k}) latency for each history length in `lengths` (the first `len` of `historyIds`):
 * wall time around the awaited call, and rec.lastTimings per call. Each timed call answers a
 * history one event longer than the last answered one, as on a shop's page (the shopper views a
 * product, the page asks for recommendations): before it, untimed, the history is cleared, its
 * first `len - 1` events tracked and answered, and the last one tracked. A model whose keys and
 * values are cached (relative positions) then computes only that event; one counted from the
 * newest event computes every position, as it does for any call. `repeat` times the same
 * history answered again (nothing new: the cached model computes no forward at all).
 */
export async function localrecLatency({ model, backend, historyIds, lengths, warmup, calls, k, budgetMs = Infinity }) {
  const rec = await loadLocalrec(model, backend);
  const out = { backend: rec.backend, bundle: rec.bundle, model: rec.model, runs: [] };
  const appended = async (len) => {
    await rec.forget();
    for (let i = 0; i < len - 1; i++) await rec.track({ type: "view", itemId: historyIds[i] });
    if (len > 1) await rec.recommend({ k });
    await rec.track({ type: "view", itemId: historyIds[len - 1] });
  };
  try {
    for (const len of lengths) {
      const w = await warm(async () => { await appended(len); await rec.recommend({ k }); }, warmup, budgetMs);
      const wall = [], forward = [], rank = [], inner = [], scoring = [], topK = [], reasons = [];
      let events = 0;
      const start = performance.now();
      for (let i = 0; i < calls && !overBudget(start, i, budgetMs); i++) {
        await appended(len);
        const t0 = performance.now();
        await rec.recommend({ k });
        const t1 = performance.now();
        const t = rec.lastTimings;
        wall.push(t1 - t0);
        forward.push(t.forwardMs);
        rank.push(t.rankMs);
        inner.push(t.totalMs);
        scoring.push(t.scoringMs);
        topK.push(t.topKMs);
        reasons.push(t.reasonsMs);
        events = t.events;
      }
      const repeat = [];
      const again = performance.now();
      for (let i = 0; i < calls && !overBudget(again, i, budgetMs); i++) {
        const t0 = performance.now();
        await rec.recommend({ k });
        repeat.push(performance.now() - t0);
      }
      const top = (await rec.recommend({ k })).map((r) => r.itemId);
      out.runs.push({
        history: len, events, warmup: w, calls: wall.length, top,
        wallMs: summary(wall), forwardMs: summary(forward), rankMs: summary(rank), innerTotalMs: summary(inner),
        scoringMs: summary(scoring), topKMs: summary(topK), reasonsMs: summary(reasons),
        repeatMs: summary(repeat),
      });
    }
  } finally {
    rec.free();
  }
  return out;
}

/** From Recommender.load() (package import included) to the first answer after `historyIds`. */
export async function localrecCold({ model, backend, historyIds, k, category, whole }) {
  const t0 = performance.now();
  const rec = await loadLocalrec(model, backend, whole);
  const t1 = performance.now();
  for (const itemId of historyIds) await rec.track({ type: "view", itemId });
  const t2 = performance.now();
  const top = (await rec.recommend({ k })).map((r) => r.itemId);
  const t3 = performance.now();
  const out = {
    backend: rec.backend, bundle: rec.bundle, top,
    loadMs: t1 - t0, trackMs: t2 - t1, firstRecommendMs: t3 - t2, totalMs: t3 - t0,
    firstTimings: rec.lastTimings, items: rec.model.items,
  };
  if (category !== undefined) {
    // A core with shards: the shopper then opens a category page; its shards are fetched and
    // the next answer ranks them too.
    await rec.track({ type: "category", category });
    await rec.loadCategory(category);
    await rec.recommend({ k, filter: { categories: [category] } });
    out.categoryMs = performance.now() - t3;
    out.itemsAfterCategory = rec.model.items;
  }
  rec.free();
  return out;
}

// ---------------------------------------------------------------------------------------------
// onnxruntime-web: the same model exported to ONNX, plus a JS top-k

async function loadOrt(ep) {
  const ort = await import(ORT_MODULE[ep]);
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmPaths = "/ort/";
  return ort;
}

async function ortSession(ort, onnx, ep) {
  return ort.InferenceSession.create(onnx, { executionProviders: [ep], graphOptimizationLevel: "all" });
}

/**
 * Top-k rows of `scores` (row 0 is padding), skipping rows in `seen`: one pass with a small sorted
 * buffer; the set is only consulted for rows that would enter the top-k.
 */
export function topK(scores, k, seen) {
  const rows = new Int32Array(k).fill(-1);
  const vals = new Float32Array(k).fill(-Infinity);
  let n = 0;
  for (let r = 1; r < scores.length; r++) {
    const s = scores[r];
    if (n === k && !(s > vals[k - 1])) continue;
    if (seen.has(r)) continue;
    let i = n < k ? n++ : k - 1;
    while (i > 0 && vals[i - 1] < s) {
      vals[i] = vals[i - 1];
      rows[i] = rows[i - 1];
      i--;
    }
    vals[i] = s;
    rows[i] = r;
  }
  return Array.from(rows.subarray(0, n));
}

function leftPadded(rows, maxLen) {
  const ids = new BigInt64Array(maxLen);
  const h = rows.slice(-maxLen);
  h.forEach((r, i) => (ids[maxLen - h.length + i] = BigInt(r)));
  return ids;
}

async function ortRecommend(ort, session, historyRows, maxLen, k) {
  const t0 = performance.now();
  const feeds = { ids: new ort.Tensor("int64", leftPadded(historyRows, maxLen), [1, maxLen]) };
  const result = await session.run(feeds);
  const t1 = performance.now();
  const top = topK(result.scores.data, k, new Set(historyRows));
  const t2 = performance.now();
  for (const t of Object.values(result)) t.dispose?.();
  return { top, runMs: t1 - t0, topkMs: t2 - t1 };
}

export async function ortLatency({ onnx, ep, historyRows, lengths, maxLen, warmup, calls, k, budgetMs = Infinity }) {
  const ort = await loadOrt(ep);
  const session = await ortSession(ort, onnx, ep);
  const out = { ep, ortVersion: ort.env.versions?.web ?? null, runs: [] };
  try {
    for (const len of lengths) {
      const h = historyRows.slice(0, len);
      const w = await warm(() => ortRecommend(ort, session, h, maxLen, k), warmup, budgetMs);
      const wall = [], run = [], topk = [];
      let top = null;
      const start = performance.now();
      for (let i = 0; i < calls && !overBudget(start, i, budgetMs); i++) {
        const t0 = performance.now();
        const r = await ortRecommend(ort, session, h, maxLen, k);
        wall.push(performance.now() - t0);
        run.push(r.runMs);
        topk.push(r.topkMs);
        top = r.top;
      }
      out.runs.push({ history: len, warmup: w, calls: wall.length, top, wallMs: summary(wall), runMs: summary(run), topkMs: summary(topk) });
    }
  } finally {
    await session.release();
  }
  return out;
}

/** From importing onnxruntime-web (its wasm included) to the first top-k after `historyRows`. */
export async function ortCold({ onnx, ep, historyRows, maxLen, k }) {
  const t0 = performance.now();
  const ort = await loadOrt(ep);
  const session = await ortSession(ort, onnx, ep);
  const t1 = performance.now();
  const r = await ortRecommend(ort, session, historyRows, maxLen, k);
  const t2 = performance.now();
  await session.release();
  return { ep, top: r.top, loadMs: t1 - t0, firstRecommendMs: t2 - t1, totalMs: t2 - t0 };
}
