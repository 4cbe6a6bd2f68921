import type { TrackEvent } from "./localrec.js";
import type { AdapterOptions, Disconnect, Trackable } from "./ga4.js";

/** Web Pixels' `analytics`, or any bus that forwards the same payloads. */
export interface PixelAnalytics {
  subscribe(name: string, callback: (event: { data?: unknown }) => void): unknown;
}

export interface ShopifyOptions extends AdapterOptions {
  /** The model's item id for a product variant (default: `variant.product.id`). */
  itemId?: (variant: any) => string | number | null | undefined;
  /** The model's category path for a collection (default: its title). */
  category?: (collection: any) => string | null | undefined;
}

export const PIXEL_EVENTS: readonly string[];

/** The localrec events a Web Pixels event stands for. */
export function eventsFromPixel(name: string, event: unknown, options?: ShopifyOptions): TrackEvent[];

/** Records product_viewed, product_added_to_cart, checkout_completed, search_submitted, collection_viewed. */
export function connectShopify(rec: Trackable, analytics: PixelAnalytics, options?: ShopifyOptions): Disconnect;
