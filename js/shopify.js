// `import { connectShopify } from "localrec/shopify"`: feeds Shopify's standard Web Pixels events
// into a Recommender, written against the documented event payloads:
//
//   product_viewed          data.productVariant                      -> view
//   product_added_to_cart   data.cartLine.merchandise                -> cart
//   checkout_completed      data.checkout.lineItems[].variant        -> purchase (each line)
//   search_submitted        data.searchResult.query                  -> search
//   collection_viewed       data.collection (title)                  -> category
//
// `analytics` is anything with `subscribe(name, callback)`: the `analytics` object of a Web
// Pixel, or a shop's own bus that forwards the same payloads. Item ids default to the product's
// id (`variant.product.id`); pass `itemId(variant)` when the model was trained on variant ids or
// SKUs, and `category(collection)` to map collections onto the model's category paths.
// Everything stays in the page; refused events are counted, never thrown.

import { tracker } from "./tracker.js";

const defaultItemId = (variant) => variant?.product?.id ?? variant?.id;
const defaultCategory = (collection) => collection?.title;

function clean(v) {
  return (typeof v === "string" || typeof v === "number") && String(v).trim() ? String(v).trim() : null;
}

/** The localrec events a Web Pixels event stands for (empty for anything else). */
export function eventsFromPixel(name, event, { itemId = defaultItemId, category = defaultCategory } = {}) {
  const data = event && typeof event === "object" ? event.data : null;
  if (!data || typeof data !== "object") return [];
  const item = (type, variant) => {
    const id = clean(itemId(variant));
    return id ? [{ type, itemId: id }] : [];
  };
  switch (name) {
    case "product_viewed":
      return item("view", data.productVariant);
    case "product_added_to_cart":
      return item("cart", data.cartLine?.merchandise);
    case "checkout_completed": {
      const lines = Array.isArray(data.checkout?.lineItems) ? data.checkout.lineItems : [];
      return lines.flatMap((line) => item("purchase", line?.variant));
    }
    case "search_submitted": {
      const query = clean(data.searchResult?.query);
      return query ? [{ type: "search", query }] : [];
    }
    case "collection_viewed": {
      const path = clean(category(data.collection));
      return path ? [{ type: "category", category: path }] : [];
    }
    default:
      return [];
  }
}

export const PIXEL_EVENTS = [
  "product_viewed",
  "product_added_to_cart",
  "checkout_completed",
  "search_submitted",
  "collection_viewed",
];

/**
 * Subscribes a Recommender to the five standard events. Returns `disconnect()` (stops recording;
 * Web Pixels has no unsubscribe, so later events are dropped), with `disconnect.counts`
 * (`{ tracked, ignored, rejected }`) and `disconnect.settled()`, as `localrec/ga4` does.
 */
export function connectShopify(rec, analytics, options = {}) {
  if (!analytics || typeof analytics.subscribe !== "function") {
    throw new TypeError("connectShopify needs Web Pixels' `analytics` (an object with subscribe())");
  }
  const { feed, disconnect } = tracker(rec, options);
  for (const name of PIXEL_EVENTS) {
    analytics.subscribe(name, (event) => feed(() => eventsFromPixel(name, event, options)));
  }
  return disconnect;
}
