import type {
  Filter,
  LoadOptions,
  ModelInfo,
  Offer,
  OfferPick,
  Recommendation,
  StoredEvent,
  Timings,
  TrackEvent,
} from "./localrec.js";

export type * from "./localrec.js";

/** The worker entry: the same API as "localrec", run in a module Web Worker. */
export class Recommender {
  private constructor();
  static load(options: LoadOptions): Promise<Recommender>;
  readonly backend: "webgpu" | "cpu";
  readonly storage: "indexeddb" | "memory";
  readonly model: ModelInfo;
  readonly bundle: "webgpu" | "cpu";
  readonly lastTimings: Timings;
  track(event: TrackEvent): Promise<void>;
  loadCategory(category: string): Promise<number>;
  loadCatalog(): Promise<number>;
  recommend(options?: { k?: number; excludeSeen?: boolean; diversity?: number; filter?: Filter }): Promise<Recommendation[]>;
  pickOffers(options: { offers: Offer[]; k?: number; filter?: Filter }): Promise<OfferPick[]>;
  history(): Promise<StoredEvent[]>;
  forget(): Promise<void>;
  free(): Promise<void>;
}
