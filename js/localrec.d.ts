declare global {
  // `Symbol.dispose` for `using`, also where the compiler's lib predates it (ES2022, ES2024).
  interface SymbolConstructor {
    readonly dispose: unique symbol;
  }
}

/** A catalogue entry (needed for filters and offers when the model file has no catalogue). */
export interface CatalogEntry {
  item_id: string;
  title?: string;
  category?: string;
  brand?: string;
  price?: number;
  in_stock?: boolean;
}

export interface LoadOptions {
  /** The int8 weights file: a URL, the bytes, or a fetch Response. */
  model: string | URL | Uint8Array | ArrayBuffer | Response;
  /** "auto" (default): WebGPU when the browser gives an adapter, else CPU. */
  backend?: "auto" | "webgpu" | "cpu";
  /** "indexeddb" (default; falls back to memory when unavailable) or "memory". */
  storage?: "indexeddb" | "memory";
  /** Keeps several shops or models apart on one origin. Default "default". */
  namespace?: string;
  /** History bound: the newest events kept (default 200). */
  maxEvents?: number;
  /** Events older than this are dropped (default 90 days; 0 keeps all). */
  retentionDays?: number;
  catalog?: CatalogEntry[];
  /** A core split by `localrec shard`: "category" (default) fetches a category's shards when
   * `loadCategory()` is called; "all" fetches every shard before `load()` resolves. */
  shards?: "category" | "all";
  /** The URL a core's `shards/` folder is resolved against (default: the model's URL; needed
   * when `model` is given as bytes). */
  shardsBase?: string | URL;
  /** Where the wasm files are served from, when not next to the package's JS (e.g. a CDN:
   * "https://cdn.example/localrec/"). The worker script itself must stay same-origin. */
  assetsBase?: string | URL;
  /** The URL of each wasm file, as a bundler's asset import gives them (esbuild's `file` loader):
   * takes precedence over `assetsBase`. */
  wasmUrl?: WasmUrls;
}

/** Where each of the package's two wasm files is served. */
export interface WasmUrls {
  /** localrec_cpu_bg.wasm */
  cpu?: string | URL;
  /** localrec_webgpu_bg.wasm */
  webgpu?: string | URL;
}

export type TrackEvent =
  | { type: "view" | "cart" | "purchase"; itemId: string; ts?: number }
  | { type: "search"; query: string; itemId?: string; ts?: number }
  /** A category page visit ("hiking/boots"); the model reads it as a search for its words. */
  | { type: "category"; category: string; ts?: number };

export interface Filter {
  /** Category names or prefixes ("running" matches "running/shoes"). */
  categories?: string[];
  brands?: string[];
  minPrice?: number;
  maxPrice?: number;
  inStock?: boolean;
}

export interface Reason {
  kind: "viewed" | "carted" | "bought" | "searched" | "browsed" | "popular";
  itemId?: string;
  query?: string;
  category?: string;
}

export interface Recommendation {
  itemId: string;
  score: number;
  reason: Reason;
}

/** An offer; other fields of the shop's own offer objects (a banner, a link) are ignored. */
export interface Offer {
  id: string;
  title?: string;
  categories?: string[];
  brands?: string[];
  itemIds?: string[];
  discount: number;
}

export interface OfferPick {
  offerId: string;
  score: number;
  probability: number;
  reason: Reason;
}

export interface StoredEvent {
  type: "view" | "cart" | "purchase" | "search" | "category";
  itemId?: string;
  query?: string;
  category?: string;
  ts: number;
}

export interface ModelInfo {
  /** The weights file's format version (1; 2 for an int4 item table; 3 for a core with shards;
   * 4 for an item table of residual-quantisation codes). */
  version: number;
  /** How the file stores its item table: int8, int4, or `rqM`: M one-byte residual codes per
   * item, the most popular items int8 (`localrec eval --item-table rqM --write-model`). */
  itemTable: "int8" | "int4" | `rq${number}`;
  /** Items ranked now: the whole catalogue, or a core's and its loaded shards'. */
  items: number;
  /** Items of the whole catalogue (more than `items` while shards are still to load). */
  catalogItems: number;
  /** Shards the core lists (0: the file is the whole catalogue), and how many are loaded. */
  shards: number;
  shardsLoaded: number;
  dModel: number;
  layers: number;
  heads: number;
  maxLen: number;
  sha256: string;
  bytes: number;
  hasCatalog: boolean;
}

export interface Timings {
  /** History to model input, the Transformer, and reading its state back. */
  forwardMs: number;
  /** Everything after the Transformer: the next three, and the rest. */
  rankMs: number;
  /** The int8 dot product of the shopper's state with every catalogue row. */
  scoringMs: number;
  /** Exclusions, filters, top-k and diversity. */
  topKMs: number;
  /** Explaining the recommended items. */
  reasonsMs: number;
  totalMs: number;
  events: number;
}

/** Errors are `Error`s with a stable `code`. */
export type ErrorCode =
  | "MODEL_CORRUPT"
  | "MODEL_VERSION"
  | "BAD_EVENT"
  | "UNKNOWN_ITEM"
  | "INVALID_ARGUMENT"
  | "BACKEND_UNAVAILABLE"
  | "FETCH"
  | "STORAGE"
  | "COMPUTE";

export class Recommender {
  private constructor();
  static load(options: LoadOptions): Promise<Recommender>;
  readonly backend: "webgpu" | "cpu";
  readonly storage: "indexeddb" | "memory";
  readonly bundle: "webgpu" | "cpu";
  readonly model: ModelInfo;
  readonly lastTimings: Timings;
  track(event: TrackEvent): Promise<void>;
  /** Fetches the shards of a category (or prefix) the shopper opened; resolves to the items added. */
  loadCategory(category: string): Promise<number>;
  /** Fetches every shard not loaded yet; resolves to the items added. */
  loadCatalog(): Promise<number>;
  recommend(options?: { k?: number; excludeSeen?: boolean; diversity?: number; filter?: Filter }): Promise<Recommendation[]>;
  pickOffers(options: { offers: Offer[]; k?: number; filter?: Filter }): Promise<OfferPick[]>;
  history(): Promise<StoredEvent[]>;
  forget(): Promise<void>;
  free(): void;
  [Symbol.dispose](): void;
}

/** Which bundle `Recommender.load({backend})` would download on this page. */
export function bundleFor(backend?: "auto" | "webgpu" | "cpu"): Promise<"webgpu" | "cpu">;
/** Optional warm-up: downloads and compiles that bundle ahead of `Recommender.load()`. */
export default function init(
  backend?: "auto" | "webgpu" | "cpu",
  options?: { assetsBase?: string | URL; wasmUrl?: WasmUrls },
): Promise<unknown>;
/** The crate version of the loaded bundle. */
export function version(): string;
