// The worker side of `localrec/worker`: runs the Recommender off the main thread. Calls are
// answered as they finish; the Recommender's methods are safe to overlap.
import { Recommender } from "./localrec.js";

let rec = null;

async function handle(method, args) {
  if (method === "load") {
    // load() downloads only the bundle its `backend` needs (no init() first: that would fetch
    // the auto choice too, e.g. the WebGPU bundle for a `backend: "cpu"` worker).
    rec = await Recommender.load(args[0]);
    return { backend: rec.backend, storage: rec.storage, model: rec.model, bundle: rec.bundle };
  }
  if (!rec) throw Object.assign(new Error("the recommender is not loaded"), { code: "INVALID_ARGUMENT" });
  if (method === "free") {
    rec.free();
    rec = null;
    return undefined;
  }
  if (!["track", "recommend", "pickOffers", "history", "forget", "loadCategory", "loadCatalog"].includes(method)) {
    throw Object.assign(new Error(`unknown method ${method}`), { code: "INVALID_ARGUMENT" });
  }
  return rec[method](...args);
}

self.onmessage = async ({ data: { id, method, args } }) => {
  try {
    const result = await handle(method, args);
    // Every answer carries the timings of the last recommend() and the model's facts, so
    // `lastTimings` and `model` (whose item count grows as shards load) read the same on both
    // entries.
    self.postMessage({ id, result, lastTimings: rec ? rec.lastTimings : undefined, model: rec ? rec.model : undefined });
  } catch (e) {
    self.postMessage({ id, error: { message: String(e && e.message ? e.message : e), code: (e && e.code) || "COMPUTE" } });
  }
};
