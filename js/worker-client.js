// `import { Recommender } from "localrec/worker"`: the same async API as "localrec", with the model
// running in a module Web Worker (worker.js, same origin, no blob: URLs) so ranking never blocks
// the page. No init() call is needed.

export class Recommender {
  #worker;
  #next = 0;
  #pending = new Map();
  #model = null;
  #lastTimings = { forwardMs: 0, rankMs: 0, scoringMs: 0, topKMs: 0, reasonsMs: 0, totalMs: 0, events: 0 };

  constructor(worker) {
    this.#worker = worker;
    worker.onmessage = ({ data: { id, result, error, lastTimings, model } }) => {
      if (lastTimings) this.#lastTimings = lastTimings;
      if (model) this.#model = model;
      const p = this.#pending.get(id);
      if (!p) return;
      this.#pending.delete(id);
      if (error) p.reject(Object.assign(new Error(error.message), { code: error.code }));
      else p.resolve(result);
    };
    worker.onerror = (e) => {
      e.preventDefault?.();
      // A script that fails to load (404, blocked by CSP, not served as JavaScript) gives an
      // ErrorEvent with no message: say what happened and where.
      // (No URL here: a second `new URL("./worker.js", import.meta.url)` would make bundlers emit
      // the script again as a raw asset.)
      const why = e.message || "its script (localrec's worker.js, as your bundler emitted it) could not be loaded or failed to start";
      const code = e.message ? "COMPUTE" : "BACKEND_UNAVAILABLE";
      const err = Object.assign(new Error(`localrec worker failed: ${why}`), { code });
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
    };
  }

  #call(method, ...args) {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, method, args });
    });
  }

  static async load(options = {}) {
    if (typeof Worker === "undefined") {
      throw Object.assign(
        new Error("localrec/worker runs in a browser page (it starts a Web Worker), not here (server rendering): import it anywhere, but call Recommender.load() only in the browser"),
        { code: "BACKEND_UNAVAILABLE" },
      );
    }
    // URLs the page gave are resolved against the page (the worker's own location differs) and
    // sent as strings (URL objects cannot be posted).
    const abs = (u) => (typeof u === "string" || u instanceof URL ? new URL(u, location.href).href : u);
    const model = options.model instanceof Response ? new Uint8Array(await options.model.arrayBuffer()) : abs(options.model);
    const sent = { ...options, model };
    // A core's shards are found beside its URL, which a Response turned into bytes no longer has.
    const shardsBase = options.shardsBase ?? (options.model instanceof Response && options.model.url ? options.model.url : undefined);
    if (shardsBase !== undefined) sent.shardsBase = abs(shardsBase);
    if (options.assetsBase !== undefined) sent.assetsBase = abs(options.assetsBase);
    if (options.wasmUrl && typeof options.wasmUrl === "object") {
      sent.wasmUrl = Object.fromEntries(Object.entries(options.wasmUrl).map(([k, v]) => [k, abs(v)]));
    }
    // Written inline as `new Worker(new URL("<literal>", import.meta.url), { type: "module" })`,
    // the one form Vite, webpack and Rollup plugins recognise as a worker entry to bundle.
    if (!import.meta.url) {
      throw Object.assign(
        new Error('localrec/worker cannot tell where its worker.js is: this build has no import.meta.url (not an ES module bundle); build with format "esm"'),
        { code: "BACKEND_UNAVAILABLE" },
      );
    }
    const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
    const rec = new Recommender(worker);
    try {
      const info = await rec.#call("load", sent);
      rec.backend = info.backend;
      rec.storage = info.storage;
      rec.#model = info.model;
      rec.bundle = info.bundle;
      return rec;
    } catch (e) {
      worker.terminate();
      throw e;
    }
  }

  /** Facts about the loaded model (its item count grows as shards load). */
  get model() {
    return this.#model;
  }

  /** Where the last recommend() spent its time, in milliseconds (as on the main thread). */
  get lastTimings() {
    return this.#lastTimings;
  }

  track(event) {
    return this.#call("track", event);
  }
  loadCategory(category) {
    return this.#call("loadCategory", category);
  }
  loadCatalog() {
    return this.#call("loadCatalog");
  }
  recommend(options) {
    return this.#call("recommend", options);
  }
  pickOffers(options) {
    return this.#call("pickOffers", options);
  }
  history() {
    return this.#call("history");
  }
  forget() {
    return this.#call("forget");
  }
  async free() {
    await this.#call("free");
    this.#worker.terminate();
  }
}
