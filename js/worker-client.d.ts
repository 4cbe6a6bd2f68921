/** The worker entry: the same API as "localrec", run in a module Web Worker. */
export class Recommender {
  static load(options: {
    model: string | URL | Uint8Array | ArrayBuffer | Response;
    backend?: "auto" | "webgpu" | "cpu";
    storage?: "indexeddb" | "memory";
    namespace?: string;
    maxEvents?: number;
    retentionDays?: number;
    catalog?: Array<{ item_id: string; title?: string; category?: string; brand?: string; price?: number; in_stock?: boolean }>;
  }): Promise<Recommender>;
  readonly backend: "webgpu" | "cpu";
  readonly storage: "indexeddb" | "memory";
  readonly model: { version: number; items: number; dModel: number; layers: number; heads: number; maxLen: number; sha256: string; bytes: number; hasCatalog: boolean };
  track(event: { type: "view" | "cart" | "purchase"; itemId: string } | { type: "search"; query: string }): Promise<void>;
  recommend(options?: { k?: number; excludeSeen?: boolean; diversity?: number; filter?: Filter }): Promise<Array<{ itemId: string; score: number; reason: Reason }>>;
  pickOffers(options: { offers: Array<{ id: string; categories?: string[]; brands?: string[]; itemIds?: string[]; discount: number }>; k?: number; filter?: Filter }): Promise<Array<{ offerId: string; score: number; probability: number; reason: Reason }>>;
  history(): Promise<Array<{ type: string; itemId?: string; query?: string; ts: number }>>;
  forget(): Promise<void>;
  free(): Promise<void>;
}
export interface Filter { categories?: string[]; brands?: string[]; minPrice?: number; maxPrice?: number; inStock?: boolean }
export interface Reason { kind: "viewed" | "carted" | "bought" | "searched" | "popular"; itemId?: string; query?: string }
