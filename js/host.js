// Browser-side helpers the wasm core imports (wasm-bindgen copies this file into pkg/snippets/).
// History lives here, on the device: IndexedDB when the browser allows it, else memory.
// Nothing in this file (or anywhere in localrec) sends data over the network; `openModel` only
// downloads the weights file the page asked for.

/**
 * Opens a model source for reading as it arrives: bytes (read as one chunk), a URL (requested
 * now) or a Response (e.g. one `load()` requested early). `readChunk` then gives the body chunk by
 * chunk, so that the core parses the header and decodes tensors while the rest downloads.
 */
export async function openModel(source) {
  if (source instanceof Uint8Array) return { chunk: source };
  if (source instanceof ArrayBuffer) return { chunk: new Uint8Array(source) };
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
  if (response.bodyUsed) throw new TypeError("the `model` Response's body was already read");
  if (!response.body) return { chunk: new Uint8Array(await response.arrayBuffer()) };
  return { reader: response.body.getReader() };
}

/** The next chunk of an `openModel` source (a Uint8Array), or null at its end. */
export async function readChunk(source) {
  if (!source.reader) {
    const chunk = source.chunk ?? null;
    source.chunk = null;
    return chunk;
  }
  const { value, done } = await source.reader.read();
  return done ? null : value;
}

/** Stops a download the core refused part-way (a damaged or foreign file). */
export function closeModel(source) {
  source.reader?.cancel().catch(() => {});
}

/** Whether `fileDigests` can use the browser's SHA-256 (else the core hashes as bytes arrive). */
export function canDigest() {
  return Boolean(globalThis.crypto && globalThis.crypto.subtle);
}

/** The absolute URL a `model` source names, if it names one: where a core's shards/ folder is. */
export function modelUrl(source) {
  try {
    if (typeof source === "string") return new URL(source, globalThis.location.href).href;
    if (source instanceof URL) return source.href;
    if (source instanceof Response && source.url) return source.url;
  } catch {
    // not a URL: no base
  }
  return undefined;
}

// Shard downloads by URL: in flight, or done and not yet read. Overlapping loadCategory() calls
// share one request; a download started ahead (`prefetchShards`) waits here until it is read.
const shardFetches = new Map();

/** Forgets `entry` unless a newer download of the same URL has taken its place. */
function drop(url, entry) {
  if (shardFetches.get(url) === entry) shardFetches.delete(url);
}

function shardUrl(base, path) {
  return new URL(path, new URL(base, globalThis.location.href)).href;
}

/** The download of `url`, started if it is not already under way or waiting to be read. */
function shardDownload(url) {
  let entry = shardFetches.get(url);
  if (!entry) {
    entry = { read: false };
    entry.promise = (async () => {
      const response = await fetch(url, { credentials: "same-origin" });
      if (!response.ok) throw new Error(`cannot fetch shard ${url}: HTTP ${response.status}`);
      return new Uint8Array(await response.arrayBuffer());
    })();
    shardFetches.set(url, entry);
    // A failed download is forgotten at once (the next call retries); a finished one once read.
    entry.promise.then(
      () => entry.read && drop(url, entry),
      () => drop(url, entry),
    );
  }
  return entry;
}

/**
 * Downloads one catalogue shard, `path` (`shards/<sha256>.lrec`) resolved against `base` (the
 * core's URL or `shardsBase`). The request carries nothing but that file name: no query string,
 * no body, cookies only as any same-origin asset would. The core then checks the file's SHA-256
 * against its manifest.
 */
export function fetchShard(base, path) {
  const url = shardUrl(base, path);
  const entry = shardDownload(url);
  if (!entry.read) {
    entry.read = true;
    entry.promise.then(() => drop(url, entry), () => {});
  }
  return entry.promise;
}

// Downloads queued by prefetchShards and not started yet (arrays of URLs).
const prefetchQueues = new Set();

/** Drops the downloads of `paths` started ahead and not read, and those still queued (a call
 * that stopped at an error): a later call fetches them afresh. */
export function forgetShards(base, paths) {
  const urls = new Set(Array.from(paths, (path) => shardUrl(base, path)));
  for (const queue of prefetchQueues) {
    const kept = queue.filter((url) => !urls.has(url));
    queue.splice(0, queue.length, ...kept);
  }
  for (const url of urls) {
    const entry = shardFetches.get(url);
    if (entry?.read === false) drop(url, entry);
  }
}

/**
 * Starts downloading `paths` a few at a time (6: what browsers open to one host over HTTP/1.1),
 * ahead of the `fetchShard` calls that read them one by one (the core verifies and adds shards in
 * order): fetching overlaps that work.
 */
export function prefetchShards(base, paths, concurrency = 6) {
  const queue = Array.from(paths, (path) => shardUrl(base, path));
  prefetchQueues.add(queue);
  const next = () => {
    const url = queue.shift();
    if (url === undefined) {
      prefetchQueues.delete(queue);
      return;
    }
    shardDownload(url).promise.catch(() => {}).finally(next);
  };
  for (let i = 0; i < concurrency; i++) next();
}

/**
 * SHA-256 of a weights file's body (every byte but the 32-byte trailer) and of the whole file, by
 * the browser's native implementation, or null where `crypto.subtle` is missing (pages not served
 * over HTTPS or from localhost): the wasm core then hashes in software, about ten times slower
 * (0.7 s for a 52 MB file). The core checks the body's digest against the file's trailer.
 */
export async function fileDigests(bytes) {
  const subtle = globalThis.crypto && globalThis.crypto.subtle;
  if (!subtle || !(bytes instanceof Uint8Array) || bytes.length < 32) return null;
  try {
    const [body, file] = await Promise.all([
      subtle.digest("SHA-256", bytes.subarray(0, bytes.length - 32)),
      subtle.digest("SHA-256", bytes),
    ]);
    return [new Uint8Array(body), new Uint8Array(file)];
  } catch {
    return null; // e.g. a view of a SharedArrayBuffer: hashed in wasm instead
  }
}

export function now() {
  return Date.now();
}

export function perfNow() {
  return globalThis.performance ? globalThis.performance.now() : Date.now();
}

// The stores below only mirror the history the wasm core keeps: its cap and retention are
// decided there (src/runtime/history.rs). `apply(event, drop)` appends `event` (unless null), then
// removes the positions in `drop` (ascending, counted after the append). Each call updates the
// store's view synchronously and queues its write, so calls land in the order they were made.

class MemoryStore {
  constructor() {
    this.kind = "memory";
    this.events = [];
  }
  async load() {
    return this.events.slice();
  }
  async apply(event, drop) {
    if (event != null) this.events.push(event);
    removePositions(this.events, drop);
  }
  async clear() {
    this.events = [];
  }
}

/** Removes the ascending positions `drop` from `list` in place; returns what was removed. */
function removePositions(list, drop) {
  const removed = [];
  for (let i = drop.length - 1; i >= 0; i--) {
    if (drop[i] < list.length) removed.push(...list.splice(drop[i], 1));
  }
  return removed;
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
  static async open(namespace) {
    if (!globalThis.indexedDB) throw new Error("no IndexedDB");
    const req = indexedDB.open(`localrec:${namespace}`, 1);
    req.onupgradeneeded = () => req.result.createObjectStore("events", { autoIncrement: true });
    const db = await request(req);
    const store = new IndexedDbStore();
    store.kind = "indexeddb";
    store.db = db;
    const tx = db.transaction("events", "readonly");
    const os = tx.objectStore("events");
    const [keys, values] = await Promise.all([request(os.getAllKeys()), request(os.getAll())]);
    await done(tx);
    // Keys in arrival order, mirroring the history position by position. New events get the
    // next key explicitly, so a write's key is known before it lands.
    store.keys = keys;
    store.values = values;
    store.nextKey = keys.length ? Math.max(...keys.filter((k) => typeof k === "number"), 0) + 1 : 1;
    return store;
  }
  async load() {
    const values = this.values;
    this.values = null;
    return values ?? [];
  }
  apply(event, drop) {
    const tx = this.db.transaction("events", "readwrite");
    const os = tx.objectStore("events");
    if (event != null) {
      const key = this.nextKey++;
      this.keys.push(key);
      os.put(event, key);
    }
    for (const key of removePositions(this.keys, drop)) os.delete(key);
    return done(tx);
  }
  clear() {
    const tx = this.db.transaction("events", "readwrite");
    tx.objectStore("events").clear();
    this.keys = [];
    return done(tx);
  }
}

export async function openStore(kind, namespace) {
  if (kind === "indexeddb") {
    try {
      return await IndexedDbStore.open(namespace);
    } catch {
      // Private mode, blocked storage, no IndexedDB: keep working in memory and say so.
    }
  }
  return new MemoryStore();
}
