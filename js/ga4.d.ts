import type { TrackEvent } from "./localrec.js";

/** Anything with `track()`: the main-thread or the worker Recommender. */
export interface Trackable {
  track(event: TrackEvent): Promise<void>;
  /** When present (a Recommender), category visits also load that category's shards. */
  loadCategory?(category: string): Promise<number>;
}

/** Counts of an adapter: events recorded, inputs that were no e-commerce event, events refused. */
export interface AdapterCounts {
  readonly tracked: number;
  readonly ignored: number;
  readonly rejected: number;
}

/** Stops the adapter. Also carries its counts and a promise for everything seen so far. */
export interface Disconnect {
  (): void;
  readonly counts: AdapterCounts;
  settled(): Promise<void>;
}

export interface AdapterOptions {
  /** Called after each event is recorded (`error` null) or refused by the recommender. */
  onTrack?: (event: TrackEvent, error: unknown) => void;
  /** Default true: a category visit also calls `rec.loadCategory()` (a model split into a core
   * and category shards fetches that category's items; a whole model makes no request). */
  loadShards?: boolean;
}

/** The localrec events one dataLayer entry stands for (GA4, gtag arguments or Universal Analytics). */
export function eventsFromDataLayer(entry: unknown): TrackEvent[];

/** Records the GA4 e-commerce events pushed to `dataLayer` (default `window.dataLayer`), past and future. */
export function connectDataLayer(rec: Trackable, dataLayer?: unknown[], options?: AdapterOptions): Disconnect;
