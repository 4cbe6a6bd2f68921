// `import { Recommender } from "localrec/worker"`: the same async API as "localrec", with the model
// running in a module Web Worker (worker.js, same origin, no blob: URLs) so ranking never blocks
// the page. No init() call is needed.

export class Recommender {
  #worker;
  #url;
  #next = 0;
  #pending = new Map();
  #lastTimings = { forwardMs: 0, rankMs: 0, scoringMs: 0, topKMs: 0, reasonsMs: 0, totalMs: 0, events: 0 };

  constructor(worker, url) {
    this.#worker = worker;
    this.#url = url;
    worker.onmessage = ({ data: { id, result, error, lastTimings } }) => {
      if (lastTimings) this.#lastTimings = lastTimings;
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
      const why = e.message || `its script ${this.#url} could not be loaded or failed to start`;
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
    let model = options.model;
    if (typeof model === "string" || model instanceof URL) model = new URL(model, location.href).href;
    else if (model instanceof Response) model = new Uint8Array(await model.arrayBuffer());
    const url = new URL("./worker.js", import.meta.url);
    const worker = new Worker(url, { type: "module" });
    const rec = new Recommender(worker, url);
    try {
      const info = await rec.#call("load", { ...options, model });
      rec.backend = info.backend;
      rec.storage = info.storage;
      rec.model = info.model;
      rec.bundle = info.bundle;
      return rec;
    } catch (e) {
      worker.terminate();
      throw e;
    }
  }

  /** Where the last recommend() spent its time, in milliseconds (as on the main thread). */
  get lastTimings() {
    return this.#lastTimings;
  }

  track(event) {
    return this.#call("track", event);
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
