// The analytics adapters (`localrec/ga4`, `localrec/shopify`) replay recorded event sequences,
// written from the public documentation of both schemas (GA4's recommended e-commerce events and
// Universal Analytics' enhanced e-commerce for Tag Manager; Shopify's standard Web Pixels
// events), malformed entries included. First against a recording recommender, then in Chromium
// against the real package and the demo model.
import { test } from "node:test";
import assert from "node:assert/strict";
import { connectDataLayer, eventsFromDataLayer } from "../../js/ga4.js";
import { connectShopify } from "../../js/shopify.js";
import { open } from "./helpers.mjs";

function gtag() {
  return arguments; // what gtag.js pushes: its arguments object
}

/** A dataLayer as a GTM shop fills it: container start, ecommerce clears, events, junk. */
export const DATA_LAYER = [
  { "gtm.start": 1733043600000, event: "gtm.js" },
  { event: "gtm.dom" },
  { ecommerce: null },
  {
    event: "view_item_list",
    ecommerce: {
      item_list_id: "hiking/boots",
      item_list_name: "Hiking boots",
      items: [{ item_id: "sku-0003", item_name: "Northbound Trail Boot", index: 0, item_category: "hiking", item_category2: "boots", price: 129.99 }],
    },
  },
  { ecommerce: null },
  {
    event: "view_item",
    ecommerce: {
      currency: "EUR",
      value: 129.99,
      items: [{ item_id: "sku-0003", item_name: "Northbound Trail Boot", item_brand: "Northbound", item_category: "hiking", item_category2: "boots", price: 129.99, quantity: 1 }],
    },
  },
  { event: "view_search_results", search_term: "trail running shoes" },
  { ecommerce: null },
  { event: "add_to_cart", ecommerce: { currency: "EUR", value: 129.99, items: [{ item_id: "sku-0003", quantity: 1 }] } },
  { ecommerce: null },
  {
    event: "purchase",
    ecommerce: {
      transaction_id: "T_12345",
      value: 149.97,
      tax: 4.9,
      shipping: 5.99,
      currency: "EUR",
      items: [{ item_id: "sku-0003", quantity: 1 }, { item_id: "sku-0010", quantity: 2 }],
    },
  },
  // A list of items with no list id or name: the category the items share.
  { event: "view_item_list", ecommerce: { items: [{ item_id: "sku-0001", item_category: "running", item_category2: "shoes" }, { item_id: "sku-0002", item_category: "running", item_category2: "shoes" }] } },
  // gtag.js
  gtag("event", "view_item", { currency: "EUR", items: [{ item_id: "sku-0005", price: 20 }] }),
  gtag("config", "G-XXXXXXX"),
  // Universal Analytics enhanced e-commerce
  { event: "productDetail", ecommerce: { detail: { actionField: { list: "Search Results" }, products: [{ name: "Socks", id: "sku-0007", price: "15.25" }] } } },
  { event: "addToCart", ecommerce: { currencyCode: "EUR", add: { products: [{ id: "sku-0007", quantity: 1 }] } } },
  { ecommerce: { purchase: { actionField: { id: "T12346", revenue: "15.25" }, products: [{ id: "sku-0007", quantity: 1 }] } } },
  // Malformed or unknown: counted as ignored, never thrown.
  null,
  42,
  "view_item",
  { event: "view_item" },
  { event: "view_item", ecommerce: { items: "sku-0003" } },
  { event: "add_to_cart", ecommerce: { items: [{ item_name: "no id" }, null] } },
  { event: "search", search_term: "   " },
  { event: "view_item_list", ecommerce: { items: [{ item_id: "a", item_category: "x" }, { item_id: "b", item_category: "y" }] } },
  { event: "purchase", ecommerce: { items: [{ item_id: "no-such-item" }] } },
];

export const EXPECTED_GA4 = [
  { type: "category", category: "hiking/boots" },
  { type: "view", itemId: "sku-0003" },
  { type: "search", query: "trail running shoes" },
  { type: "cart", itemId: "sku-0003" },
  { type: "purchase", itemId: "sku-0003" },
  { type: "purchase", itemId: "sku-0010" },
  { type: "category", category: "running/shoes" },
  { type: "view", itemId: "sku-0005" },
  { type: "view", itemId: "sku-0007" },
  { type: "cart", itemId: "sku-0007" },
  { type: "purchase", itemId: "sku-0007" },
  { type: "purchase", itemId: "no-such-item" },
];

/** Records calls; refuses ids that start with "no-" as the real one refuses unknown items. */
function recorder() {
  const calls = [];
  return {
    calls,
    async track(event) {
      calls.push(event);
      if (String(event.itemId).startsWith("no-")) throw Object.assign(new Error("unknown item"), { code: "UNKNOWN_ITEM" });
    },
  };
}

test("GA4: past and future pushes map onto localrec events, in order, and junk is counted", async () => {
  const dataLayer = DATA_LAYER.slice(0, 6);
  const gtmPush = [];
  // Tag Manager has already replaced push; its version must keep working.
  dataLayer.push = function (...entries) {
    gtmPush.push(...entries);
    return Array.prototype.push.apply(this, entries);
  };
  const rec = recorder();
  const seen = [];
  const disconnect = connectDataLayer(rec, dataLayer, { onTrack: (e, err) => seen.push(err ? err.code : e.type) });
  const length = dataLayer.push(...DATA_LAYER.slice(6));
  assert.equal(length, DATA_LAYER.length, "push returns what the original push returns");
  assert.equal(gtmPush.length, DATA_LAYER.length - 6, "GTM's push still sees every entry");
  await disconnect.settled();
  assert.deepEqual(rec.calls, EXPECTED_GA4);
  assert.deepEqual({ ...disconnect.counts }, { tracked: 11, ignored: 15, rejected: 1 });
  assert.equal(seen.at(-1), "UNKNOWN_ITEM");
  disconnect();
  dataLayer.push({ event: "view_item", ecommerce: { items: [{ item_id: "sku-0009" }] } });
  await disconnect.settled();
  assert.equal(rec.calls.length, EXPECTED_GA4.length, "nothing is recorded after disconnect()");
  assert.equal(gtmPush.length, DATA_LAYER.length - 5, "disconnect() gives push back to GTM");
});

test("GA4: a throwing onTrack and a failing recommender never reach the page", async () => {
  const dataLayer = [];
  const rec = { track: () => Promise.reject(new Error("storage full")) };
  const disconnect = connectDataLayer(rec, dataLayer, {
    onTrack: () => {
      throw new Error("the shop's callback is broken");
    },
  });
  dataLayer.push({ event: "view_item", ecommerce: { items: [{ item_id: "sku-0001" }] } });
  await disconnect.settled();
  assert.deepEqual({ ...disconnect.counts }, { tracked: 0, ignored: 0, rejected: 1 });
  assert.deepEqual(eventsFromDataLayer({ event: "view_item", ecommerce: { items: [{ item_id: 17 }] } }), [
    { type: "view", itemId: "17" },
  ]);
});

/** Web Pixels events as documented (abridged to the fields the adapter reads and their neighbours). */
const variant = (productId, sku) => ({
  id: `4100${productId.slice(-4)}`,
  image: { src: "//cdn.example/p.jpg" },
  price: { amount: 129.99, currencyCode: "EUR" },
  product: { id: productId, title: "Trail Boot", untranslatedTitle: "Trail Boot", vendor: "Northbound", type: "boots", url: "/products/trail-boot" },
  sku,
  title: "Default Title",
  untranslatedTitle: "Default Title",
});
const pixel = (name, data) => ({ id: `evt-${name}`, clientId: "c-1", name, timestamp: "2026-12-01T10:00:00.000Z", context: {}, data });
export const PIXELS = [
  ["page_viewed", pixel("page_viewed", {})],
  ["collection_viewed", pixel("collection_viewed", { collection: { id: "987", title: "hiking/boots", productVariants: [variant("sku-0003", "NB-3")] } })],
  ["product_viewed", pixel("product_viewed", { productVariant: variant("sku-0003", "NB-3") })],
  ["search_submitted", pixel("search_submitted", { searchResult: { query: "trail running shoes", productVariants: [] } })],
  ["product_added_to_cart", pixel("product_added_to_cart", { cartLine: { cost: { totalAmount: { amount: 129.99, currencyCode: "EUR" } }, merchandise: variant("sku-0003", "NB-3"), quantity: 1 } })],
  ["checkout_completed", pixel("checkout_completed", { checkout: { currencyCode: "EUR", order: { id: "1001" }, lineItems: [{ id: "l1", quantity: 1, title: "Trail Boot", variant: variant("sku-0003", "NB-3") }, { id: "l2", quantity: 2, title: "Socks", variant: variant("sku-0010", "SK-10") }] } })],
  // Malformed
  ["product_viewed", pixel("product_viewed", { productVariant: null })],
  ["product_viewed", { name: "product_viewed" }],
  ["checkout_completed", pixel("checkout_completed", { checkout: { lineItems: "none" } })],
  ["search_submitted", pixel("search_submitted", { searchResult: {} })],
];

// The same journey as the dataLayer's first six events: a collection, a product, a search, the
// cart, a checkout of two lines.
export const EXPECTED_SHOPIFY = EXPECTED_GA4.slice(0, 6);

function fakeAnalytics() {
  const subscribers = new Map();
  return {
    subscribe(name, callback) {
      subscribers.set(name, [...(subscribers.get(name) || []), callback]);
    },
    publish(name, event) {
      for (const cb of subscribers.get(name) || []) cb(event);
    },
    names: () => [...subscribers.keys()].sort(),
  };
}

test("Shopify: the five standard events map onto localrec events; item ids are configurable", async () => {
  const analytics = fakeAnalytics();
  const rec = recorder();
  const disconnect = connectShopify(rec, analytics);
  assert.deepEqual(analytics.names(), ["checkout_completed", "collection_viewed", "product_added_to_cart", "product_viewed", "search_submitted"]);
  for (const [name, event] of PIXELS) analytics.publish(name, event);
  await disconnect.settled();
  assert.deepEqual(rec.calls, EXPECTED_SHOPIFY);
  assert.deepEqual({ ...disconnect.counts }, { tracked: 6, ignored: 4, rejected: 0 });
  disconnect();
  analytics.publish(...PIXELS[2]);
  await disconnect.settled();
  assert.equal(rec.calls.length, EXPECTED_SHOPIFY.length);

  const bySku = recorder();
  const other = fakeAnalytics();
  connectShopify(bySku, other, { itemId: (v) => v.sku, category: (c) => `collection-${c.id}` });
  other.publish(...PIXELS[1]);
  other.publish(...PIXELS[2]);
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(bySku.calls, [
    { type: "category", category: "collection-987" },
    { type: "view", itemId: "NB-3" },
  ]);
  assert.throws(() => connectShopify(rec, {}), /subscribe/);
});

test("GA4 and Shopify in Chromium: the history holds exactly the mapped events, and nothing is sent", { timeout: 180_000 }, async () => {
  const b = await open();
  try {
    await b.page.goto(`${b.base}/tests/blank.html`);
    const before = b.requests.length;
    const result = await b.page.evaluate(
      async ({ dataLayer, pixels }) => {
        const { Recommender } = await import("/pkg/localrec.js");
        const { connectDataLayer } = await import("/pkg/ga4.js");
        const { connectShopify } = await import("/pkg/shopify.js");
        const options = { model: "/models/demo/model.lrec", backend: "cpu", storage: "memory" };
        const rec = await Recommender.load(options);
        const loaded = performance.getEntriesByType("resource").length;
        window.dataLayer = dataLayer.slice(0, 3);
        const disconnect = connectDataLayer(rec);
        for (const entry of dataLayer.slice(3)) window.dataLayer.push(entry);
        await disconnect.settled();
        const ga4 = (await rec.history()).map(({ type, itemId, query, category }) => ({ type, itemId, query, category }));
        const counts = { ...disconnect.counts };
        disconnect();
        await rec.forget();
        const subscribers = {};
        const analytics = { subscribe: (name, cb) => (subscribers[name] = cb) };
        const off = connectShopify(rec, analytics);
        for (const [name, event] of pixels) subscribers[name]?.(event);
        await off.settled();
        const shopify = (await rec.history()).map(({ type, itemId, query, category }) => ({ type, itemId, query, category }));
        return { ga4, counts, shopify, after: performance.getEntriesByType("resource").length - loaded };
      },
      // gtag's arguments objects do not cross into the page: send them as arrays.
      { dataLayer: DATA_LAYER.map((e) => (e && typeof e === "object" && !Array.isArray(e) && "length" in e ? [...e] : e)), pixels: PIXELS },
    );
    const strip = (list) => list.map((e) => Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined)));
    // The real model refuses the unknown item, as the recorder did.
    assert.deepEqual(strip(result.ga4), EXPECTED_GA4.filter((e) => e.itemId !== "no-such-item"));
    assert.deepEqual(result.counts, { tracked: 11, ignored: 15, rejected: 1 });
    assert.deepEqual(strip(result.shopify), EXPECTED_SHOPIFY);
    assert.equal(result.after, 0, "recording makes no request");
    const sent = b.requests.slice(before).filter((r) => !/\/(pkg|models|tests)\//.test(r.url));
    assert.deepEqual(sent, [], "only the page, package and model were fetched");
    assert.deepEqual(b.errors, []);
  } finally {
    await b.close();
  }
});
