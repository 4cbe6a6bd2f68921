// `import { Recommender } from "localrec/worker"`: the same async API as "localrec", with the model
// running in a module Web Worker (worker.js, same origin, no blob: URLs) so ranking never blocks
// the page. No init() call is needed.

export class Recommender {
  #worker;
  #next = 0;
  #pending = new Map();

  constructor(worker) {
    this.#worker = worker;
    worker.onmessage = ({ data: { id, result, error } }) => {
      const p = this.#pending.get(id);
      if (!p) return;
      this.#pending.delete(id);
      if (error) p.reject(Object.assign(new Error(error.message), { code: error.code }));
      else p.resolve(result);
    };
    worker.onerror = (e) => {
      const err = Object.assign(new Error(`localrec worker failed: ${e.message}`), { code: "COMPUTE" });
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
    const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
    const rec = new Recommender(worker);
    try {
      const info = await rec.#call("load", { ...options, model });
      rec.backend = info.backend;
      rec.storage = info.storage;
      rec.model = info.model;
      return rec;
    } catch (e) {
      worker.terminate();
      throw e;
    }
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
