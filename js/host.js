// Browser-side helpers the wasm core imports (wasm-bindgen copies this file into pkg/snippets/).
// History lives here, on the device: IndexedDB when the browser allows it, else memory.
// Nothing in this file (or anywhere in localrec) sends data over the network; `fetchModel` only
// downloads the weights file the page asked for.

export async function fetchModel(source) {
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  let response = source;
  if (typeof source === "string" || source instanceof URL) {
    response = await fetch(source, { credentials: "same-origin" });
  }
  if (!(response instanceof Response)) {
    throw new TypeError("`model` must be a URL, a Uint8Array, an ArrayBuffer or a Response");
  }
  if (!response.ok) {
    throw new Error(`cannot fetch model ${response.url}: HTTP ${response.status}`);
  }
  return new Uint8Array(await response.arrayBuffer());
}

export async function hasWebGpu() {
  const gpu = globalThis.navigator && globalThis.navigator.gpu;
  if (!gpu) return false;
  try {
    return (await gpu.requestAdapter()) != null;
  } catch {
    return false;
  }
}

export function now() {
  return Date.now();
}

export function perfNow() {
  return globalThis.performance ? globalThis.performance.now() : Date.now();
}

function keep(events, maxEvents, retentionDays) {
  const cutoff = retentionDays > 0 ? Date.now() - retentionDays * 86400000 : -Infinity;
  const fresh = events.filter((e) => e.ts >= cutoff);
  return fresh.slice(Math.max(0, fresh.length - maxEvents));
}

class MemoryStore {
  constructor(maxEvents, retentionDays) {
    this.kind = "memory";
    this.events = [];
    this.maxEvents = maxEvents;
    this.retentionDays = retentionDays;
  }
  async load() {
    this.events = keep(this.events, this.maxEvents, this.retentionDays);
    return this.events.slice();
  }
  async append(event) {
    this.events = keep([...this.events, event], this.maxEvents, this.retentionDays);
  }
  async clear() {
    this.events = [];
  }
}

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("IndexedDB transaction aborted"));
  });
}

class IndexedDbStore {
  static async open(namespace, maxEvents, retentionDays) {
    if (!globalThis.indexedDB) throw new Error("no IndexedDB");
    const req = indexedDB.open(`localrec:${namespace}`, 1);
    req.onupgradeneeded = () => req.result.createObjectStore("events", { autoIncrement: true });
    const db = await request(req);
    const store = new IndexedDbStore();
    store.kind = "indexeddb";
    store.db = db;
    store.maxEvents = maxEvents;
    store.retentionDays = retentionDays;
    return store;
  }
  async load() {
    const tx = this.db.transaction("events", "readwrite");
    const os = tx.objectStore("events");
    const [keys, values] = await Promise.all([request(os.getAllKeys()), request(os.getAll())]);
    const kept = keep(values, this.maxEvents, this.retentionDays);
    const drop = values.length - kept.length;
    // keep() only removes from the front (oldest or expired first), so the first `drop` keys go.
    for (let i = 0; i < drop; i++) os.delete(keys[i]);
    await done(tx);
    return kept;
  }
  async append(event) {
    const tx = this.db.transaction("events", "readwrite");
    const os = tx.objectStore("events");
    os.add(event);
    const count = await request(os.count());
    if (count > this.maxEvents) {
      const keys = await request(os.getAllKeys(null, count - this.maxEvents));
      for (const k of keys) os.delete(k);
    }
    await done(tx);
  }
  async clear() {
    const tx = this.db.transaction("events", "readwrite");
    tx.objectStore("events").clear();
    await done(tx);
  }
}

export async function openStore(kind, namespace, maxEvents, retentionDays) {
  if (kind === "indexeddb") {
    try {
      const store = await IndexedDbStore.open(namespace, maxEvents, retentionDays);
      await store.load();
      return store;
    } catch {
      // Private mode, blocked storage, no IndexedDB: keep working in memory and say so.
    }
  }
  return new MemoryStore(maxEvents, retentionDays);
}
