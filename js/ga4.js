// `import { connectDataLayer } from "localrec/ga4"`: feeds the GA4 e-commerce events a shop
// already pushes to `window.dataLayer` (Google Tag Manager, gtag.js) into a Recommender, so that
// adding localrec to such a shop is one call. Everything stays in the page: the adapter reads the
// pushes and calls `rec.track()`; it sends nothing anywhere.
//
//   view_item                         -> view (each item)
//   add_to_cart                       -> cart (each item)
//   purchase                          -> purchase (each item)
//   view_search_results, search       -> search (`search_term`)
//   view_item_list                    -> category (item_list_id, else item_list_name, else the
//                                        items' shared item_category path "a/b/c")
//   Universal Analytics: ecommerce.detail / add / purchase .products -> view / cart / purchase
//
// Existing entries are replayed, later pushes are seen through a wrapped `dataLayer.push` (the
// original, e.g. GTM's, is called first and its result returned). Anything else, and anything
// the model rejects (an unknown item or category), is counted and never thrown into the page.

import { tracker } from "./tracker.js";

const ITEM_EVENTS = { view_item: "view", add_to_cart: "cart", purchase: "purchase" };
const UA_ACTIONS = { detail: "view", add: "cart", purchase: "purchase" };

/** The id of a GA4 item (`item_id`) or a Universal Analytics product (`id`), as a string. */
function idOf(item) {
  const id = item && typeof item === "object" ? (item.item_id ?? item.id) : undefined;
  return typeof id === "string" || typeof id === "number" ? String(id).trim() || null : null;
}

/** The category path the items of a list share ("hiking/boots"), or null. */
function sharedCategory(items) {
  if (!Array.isArray(items) || items.length === 0) return null;
  const path = (item) =>
    ["item_category", "item_category2", "item_category3", "item_category4", "item_category5"]
      .map((k) => (item && typeof item[k] === "string" ? item[k].trim() : ""))
      .filter(Boolean)
      .join("/");
  const first = path(items[0]);
  return first && items.every((i) => path(i) === first) ? first : null;
}

function text(v) {
  return typeof v === "string" && v.trim() ? v.trim() : null;
}

/**
 * The localrec events one dataLayer entry stands for (an empty list for anything else). Accepts
 * GA4 objects (`{event, ecommerce: {items}}`), gtag's `arguments` (`["event", name, params]`) and
 * Universal Analytics' enhanced e-commerce (`{ecommerce: {detail: {products}}}`).
 */
export function eventsFromDataLayer(entry) {
  if (!entry || typeof entry !== "object") return [];
  // gtag("event", "view_item", {...}) pushes its arguments object.
  if (typeof entry.length === "number" && entry[0] === "event" && typeof entry[1] === "string") {
    const params = entry[2] && typeof entry[2] === "object" ? entry[2] : {};
    return eventsFromDataLayer({ event: entry[1], ecommerce: params, ...params });
  }
  const ecommerce = entry.ecommerce && typeof entry.ecommerce === "object" ? entry.ecommerce : null;
  const name = typeof entry.event === "string" ? entry.event : null;
  if (name && ITEM_EVENTS[name]) {
    const items = Array.isArray(ecommerce?.items) ? ecommerce.items : [];
    return items.map(idOf).filter(Boolean).map((itemId) => ({ type: ITEM_EVENTS[name], itemId }));
  }
  if (name === "view_search_results" || name === "search") {
    const query = text(entry.search_term) ?? text(ecommerce?.search_term);
    return query ? [{ type: "search", query }] : [];
  }
  if (name === "view_item_list") {
    const category =
      text(ecommerce?.item_list_id) ?? text(ecommerce?.item_list_name) ?? sharedCategory(ecommerce?.items);
    return category ? [{ type: "category", category }] : [];
  }
  if (ecommerce) {
    for (const [action, type] of Object.entries(UA_ACTIONS)) {
      const products = ecommerce[action]?.products;
      if (Array.isArray(products)) return products.map(idOf).filter(Boolean).map((itemId) => ({ type, itemId }));
    }
  }
  return [];
}

/**
 * Connects a Recommender (main-thread or worker) to a dataLayer array. Returns `disconnect()`,
 * which stops listening (and restores `dataLayer.push` when nothing wrapped it since). It carries:
 * - `disconnect.counts`: `{ tracked, ignored, rejected }` — entries that were not e-commerce
 *   events are `ignored`; events the recommender refused (unknown item, category) `rejected`;
 * - `disconnect.settled()`: a promise for the moment every event seen so far is recorded.
 * Options: `onTrack(event, error)` is called after each event is recorded (error null) or refused;
 * `loadShards` (default true): a category visit also calls `rec.loadCategory()` (for a model split
 * into a core and category shards; nothing happens with a whole model).
 */
export function connectDataLayer(rec, dataLayer = (globalThis.dataLayer ??= []), options = {}) {
  if (!Array.isArray(dataLayer)) throw new TypeError("connectDataLayer needs the dataLayer array");
  const original = dataLayer.push;
  const wrapped = function push(...entries) {
    const result = original.apply(this, entries);
    for (const entry of entries) feed(() => eventsFromDataLayer(entry));
    return result;
  };
  const { feed, disconnect } = tracker(rec, options, () => {
    if (dataLayer.push === wrapped) dataLayer.push = original;
  });
  for (const entry of dataLayer) feed(() => eventsFromDataLayer(entry));
  dataLayer.push = wrapped;
  return disconnect;
}
