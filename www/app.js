// The localrec demo storefront. Uses the npm package as a shop would: `localrec/worker` (served at
// /pkg/) runs the model in a Web Worker, the history stays in this browser's IndexedDB, and the
// only network traffic is the start-up download of static files (page, package, model,
// catalogue, offers). Browsing after that makes no request at all.
//
// Like most shops, the page reports its e-commerce events to an analytics layer: it pushes GA4's
// recommended events (view_item, add_to_cart, purchase, view_search_results, view_item_list) to
// `window.dataLayer`, where Google Tag Manager would pick them up. localrec reads them from there
// with its GA4 adapter (`localrec/ga4`): one call, no other tracking code. (This demo loads no tag
// manager, so the dataLayer never leaves the page.)
import { Recommender } from "/pkg/worker-client.js";
import { connectDataLayer } from "/pkg/ga4.js";
import { Catalog } from "./shop/catalog.js";
import { $, h, label, when } from "./shop/dom.js";
import { categoryHref, categoryName, explain, grid, productCard, productHref, brandHref } from "./shop/ui.js";
import * as pages from "./shop/pages.js";

const params = new URLSearchParams(location.search);
// `?model=<same-origin URL>` runs the shop on another model of the same catalogue, e.g. the demo
// model split into a core and category shards by `localrec shard`.
const MODEL = params.get("model") || "/models/demo/model.lrec";
const RECS = 8;
const OFFERS = 2;

let rec = null;
let tracking = null; // the GA4 adapter's connection
let catalog = null;
window.dataLayer = window.dataLayer || [];
let offers = [];
const cart = new Map(); // item id -> quantity; kept in this tab's memory only
const lists = new Map(); // listing settings (sort, filter, page) per category/brand/search
let lastOrder = null;
let current = null; // the page on screen
let lastCategory = null; // the category page last recorded

// ---------------------------------------------------------------------------------------------
// Events: every call to the recommender that records or forgets goes through one queue, so the
// panels always show the result of the newest event, in order.

let queue = Promise.resolve();
function enqueue(task) {
  const run = queue.then(task);
  queue = run.catch((e) => fail(e));
  return run;
}

/**
 * Reports a GA4 e-commerce event to the dataLayer, as a shop's analytics set-up does; localrec's
 * adapter records it on this device. Then refreshes recommendations, offers and the privacy panel.
 */
function track(event) {
  if (event.ecommerce) window.dataLayer.push({ ecommerce: null }); // GA4's advice: clear the last one
  window.dataLayer.push(event);
  return enqueue(async () => {
    await tracking.settled();
    await refresh();
  });
}

/** GA4 `items` for catalogue ids. */
function ga4Items(ids) {
  return ids.map((id) => {
    const item = catalog.get(id) || {};
    const [top, sub] = (item.category || "").split("/");
    return { item_id: id, item_name: item.title, item_brand: item.brand, item_category: top, item_category2: sub, price: item.price, quantity: 1 };
  });
}

function forget() {
  lastCategory = null;
  return enqueue(async () => {
    await rec.forget();
    await refresh();
    say("Forgotten: nothing about your browsing is stored on this device any more.");
  });
}

async function refresh() {
  const t0 = performance.now();
  const recs = await rec.recommend({ k: RECS, filter: { inStock: true } });
  const ms = performance.now() - t0;
  const [picks, history] = await Promise.all([
    rec.pickOffers({ offers, k: OFFERS, filter: { inStock: true } }),
    rec.history(),
  ]);
  renderRecs(recs, history.length);
  renderOffers(picks);
  renderHistory(history);
  $("#latency").textContent = `${ms.toFixed(1)} ms`;
  $("#engine-latency").textContent = `${ms.toFixed(0)} ms`;
  // Tests and curious shoppers can see which history the panels were computed for.
  document.body.dataset.events = String(history.length);
}

// ---------------------------------------------------------------------------------------------
// Panels.

function renderRecs(recs, events) {
  const list = $("#recs");
  list.replaceChildren(
    ...recs.map((r) => productCard(catalog.get(r.itemId) || { item_id: r.itemId, title: r.itemId, category: "", brand: "", price: 0, in_stock: true }, { reason: r.reason, catalog, addButton: false })),
  );
  list.dataset.events = String(events);
  $("#recs-note").textContent = events
    ? "Ranked in this browser from your activity on this device."
    : "You have no history on this device yet, so these are the shop's most popular products.";
}

function offerLink(offer) {
  if (offer.categories && offer.categories.length) return categoryHref(offer.categories[0]);
  if (offer.brands && offer.brands.length) return brandHref(offer.brands[0]);
  return "#/";
}

function renderOffers(picks) {
  const byId = new Map(offers.map((o) => [o.id, o]));
  const list = $("#offers");
  list.replaceChildren(
    ...picks.map((pick) => {
      const offer = byId.get(pick.offerId);
      return h(
        "li",
        { class: "offer", dataset: { offerId: pick.offerId } },
        h("p", { class: "offer-discount" }, `${Math.round(offer.discount * 100)}% off`),
        h("h3", null, offer.title),
        h("p", { class: "reason", dataset: { kind: pick.reason.kind } }, explain(pick.reason, catalog)),
        h("a", { href: offerLink(offer) }, "Shop the offer"),
      );
    }),
  );
  if (!picks.length) list.append(h("li", { class: "muted" }, "No offers right now."));
}

const EVENT_WORDS = { view: "Viewed", cart: "Added to cart", purchase: "Bought", search: "Searched", category: "Browsed" };

/** What an event is about: the query, the category page or the product. */
function eventSubject(e) {
  if (e.type === "search") return h("q", null, e.query);
  if (e.type === "category") return h("a", { href: categoryHref(e.category) }, categoryName(e.category));
  return h("a", { href: productHref(e.itemId), dataset: { itemId: e.itemId } }, catalog.get(e.itemId)?.title || e.itemId);
}

function renderHistory(history) {
  $("#history").replaceChildren(
    ...history.map((e) => {
      return h(
        "li",
        { dataset: { type: e.type } },
        h("time", { datetime: new Date(e.ts).toISOString() }, when(e.ts)),
        " ",
        h("span", { class: "event-type" }, EVENT_WORDS[e.type] || e.type),
        " ",
        eventSubject(e),
      );
    }),
  );
  $("#history-count").textContent = history.length
    ? `${history.length} event${history.length === 1 ? "" : "s"} stored in this browser (oldest first):`
    : "Nothing is stored about you on this device.";
  $("#history-raw").textContent = JSON.stringify(history, null, 2);
  $("#forget").disabled = history.length === 0;
}

// ---------------------------------------------------------------------------------------------
// Cart.

function updateCartCount() {
  const n = [...cart.values()].reduce((a, b) => a + b, 0);
  $("#cart-count").textContent = String(n);
  $("#cart-link").setAttribute("aria-label", `Cart, ${n} item${n === 1 ? "" : "s"}`);
}

function addToCart(id) {
  const item = catalog.get(id);
  if (!item || !item.in_stock) return;
  cart.set(id, (cart.get(id) || 0) + 1);
  updateCartCount();
  say(`Added ${item.title} to your cart.`);
  const note = $("#in-cart");
  if (note && current && current.view === id) note.textContent = `In your cart: ${cart.get(id)}`;
  track({ event: "add_to_cart", ecommerce: { value: item.price, items: ga4Items([id]) } });
}

function removeFromCart(id) {
  cart.delete(id);
  updateCartCount();
  render(true);
}

async function checkout(button) {
  const order = [...cart.keys()];
  if (!order.length) return;
  button.disabled = true;
  say("Placing your order on this device…");
  track({ event: "purchase", ecommerce: { transaction_id: `demo-${Date.now()}`, items: ga4Items(order) } });
  await queue;
  cart.clear();
  updateCartCount();
  lastOrder = order;
  navigate("#/thanks");
}

// ---------------------------------------------------------------------------------------------
// Routing: #/, #/c/<top>[/<sub>], #/brand/<name>, #/p/<id>, #/search (the query lives in
// history.state, never in a URL), #/cart, #/thanks.

const context = {
  get catalog() {
    return catalog;
  },
  cart,
  get lastOrder() {
    return lastOrder;
  },
  listSettings(key, defaults) {
    if (!lists.has(key)) lists.set(key, { ...defaults });
    return lists.get(key);
  },
  /** Rank of every item within `filter`, for "Recommended for you" sorting. */
  async personalRank(filter) {
    await ready;
    // A category listing ranks all of its items: with a sharded model, its shards first.
    for (const category of filter?.categories || []) await rec.loadCategory(category);
    const ranked = await rec.recommend({ k: 1000, excludeSeen: false, ...(filter ? { filter } : {}) });
    return new Map(ranked.map((r, i) => [r.itemId, i]));
  },
};

function route() {
  const path = (location.hash.replace(/^#/, "") || "/").split("/").filter(Boolean).map(decodeURIComponent);
  const [head, ...rest] = path;
  switch (head) {
    case undefined:
      return pages.homePage(context);
    case "c":
      return pages.categoryPage(context, rest.join("/"));
    case "brand":
      return pages.brandPage(context, rest.join("/"));
    case "p":
      return pages.productPage(context, rest.join("/"));
    case "search":
      return pages.searchPage(context, (history.state && history.state.q) || "");
    case "cart":
      return pages.cartPage(context);
    case "thanks":
      return pages.thanksPage(context);
    default:
      return pages.notFoundPage();
  }
}

let shownKey = null;

/** Renders the page for the current URL unless it is already on screen. */
function render(force = false) {
  const key = `${location.hash}|${JSON.stringify(history.state)}`;
  if (key === shownKey && !force) return;
  const first = shownKey === null;
  const revisit = key === shownKey;
  shownKey = key;
  current = route();
  const view = $("#view");
  view.replaceChildren(current.node);
  view.dataset.page = current.page;
  // The search box shows the query of the results on screen, and is empty elsewhere.
  $("#search").value = current.page === "search" ? (history.state && history.state.q) || "" : "";
  document.title = `${current.title} · localrec demo shop`;
  for (const a of document.querySelectorAll("#categories a")) {
    const here = location.hash === a.getAttribute("href") || location.hash.startsWith(`${a.getAttribute("href")}/`);
    if (here) a.setAttribute("aria-current", "true");
    else a.removeAttribute("aria-current");
  }
  if (!first && !revisit) {
    window.scrollTo(0, 0);
    $("#page-title")?.focus({ preventScroll: true });
  }
  // A category page says what the shopper is after as plainly as a search does: the visit is
  // recorded once per category in a row (coming back to it from a product page adds nothing).
  if (current.category && !revisit && current.category !== lastCategory) {
    lastCategory = current.category;
    // With a model split into a core and category shards, the GA4 adapter also fetches this
    // category's shards (one request naming a shard file, nothing about the shopper) before the
    // panels refresh; a whole model makes no request.
    track({ event: "view_item_list", ecommerce: { item_list_id: current.category, items: [] } });
  }
  if (current.view && !revisit) {
    const id = current.view;
    const shown = current;
    track({ event: "view_item", ecommerce: { items: ga4Items([id]) } }).then(() => fillRelated(shown, id));
  }
}

function navigate(hash, state = null) {
  history.pushState(state, "", hash);
  render();
}

/** A product page's "More … for you": the model's ranking within the same sub-category. */
async function fillRelated(shown, id) {
  const item = catalog.get(id);
  const recs = await rec.recommend({ k: 4, filter: { categories: [item.category], inStock: true } });
  if (current !== shown) return;
  const list = $("#related");
  if (list) list.replaceWith(grid(recs.map((r) => catalog.get(r.itemId)), { catalog }, { id: "related", class: "grid grid-small" }));
}

// ---------------------------------------------------------------------------------------------
// Start-up.

function say(text) {
  $("#announce").textContent = text;
}

function setStatus(state, text) {
  const status = $("#status");
  status.dataset.state = state;
  status.textContent = text;
}

function fail(e) {
  console.error(e);
  setStatus("error", `Error: ${e && e.message ? e.message : e}`);
}

async function json(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`cannot load ${url}: HTTP ${response.status}`);
  return response.json();
}

function renderNav() {
  $("#categories").replaceChildren(
    h(
      "ul",
      { class: "nav-top" },
      catalog.tree.map((top) =>
        h(
          "li",
          null,
          h("a", { href: categoryHref(top.name) }, label(top.name)),
          h(
            "ul",
            { class: "nav-sub" },
            top.subs.map((s) => h("li", null, h("a", { href: categoryHref(s.name) }, label(s.name)))),
          ),
        ),
      ),
    ),
  );
}

function wire() {
  $("#search-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const query = $("#search").value.trim();
    if (!query) return;
    lastCategory = null;
    navigate("#/search", { q: query });
    track({ event: "view_search_results", search_term: query });
  });
  document.addEventListener("click", (ev) => {
    if (ev.target.closest(".skip")) {
      // The skip link must not change the route (routes live in the URL's fragment).
      ev.preventDefault();
      return $("#view").focus();
    }
    const add = ev.target.closest("[data-add]");
    if (add) return addToCart(add.dataset.add);
    const remove = ev.target.closest("[data-remove]");
    if (remove) return removeFromCart(remove.dataset.remove);
    const buy = ev.target.closest("#checkout");
    if (buy) return checkout(buy);
  });
  $("#forget").addEventListener("click", () => forget());
  addEventListener("hashchange", () => render());
  addEventListener("popstate", () => render());
}

let markReady;
const ready = new Promise((resolve) => (markReady = resolve));
queue = ready;

async function main() {
  const [items, offerList, pkg] = await Promise.all([
    json("/models/demo/catalog.json"),
    json("/models/demo/offers.json"),
    json("/pkg/package.json"),
  ]);
  catalog = new Catalog(items);
  // `redeemers` is the synthetic shop's ground truth for evaluating targeting; the page never uses it.
  offers = offerList.map(({ redeemers, ...offer }) => offer);
  $("#version").textContent = pkg.version;
  renderNav();
  wire();
  render();

  rec = await Recommender.load({
    model: MODEL,
    backend: params.get("backend") || "auto",
    storage: "indexeddb",
    namespace: "demo-shop",
    catalog: items,
  });
  const backend = rec.backend === "webgpu" ? "WebGPU" : "CPU";
  $("#backend").textContent = rec.backend;
  $("#backend-name").textContent = backend;
  $("#engine-backend").textContent = backend;
  $("#storage").textContent = rec.storage;
  // Everything the page reported to the dataLayer before and after this line is recorded.
  tracking = connectDataLayer(rec, window.dataLayer);
  $("#model-info").textContent = `${rec.model.items.toLocaleString("en")} items, ${(rec.model.bytes / 1024).toFixed(0)} KiB, sha256 ${rec.model.sha256.slice(0, 12)}…`;
  markReady();
  await enqueue(refresh);
  setStatus("ready", "Ready: recommendations are computed in this browser.");
}

main().catch(fail);
