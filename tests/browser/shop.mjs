// Drives the demo storefront (www/) like a shopper: through its UI only (the search box, cards
// and links found by `data-item-id`, buttons), waiting for DOM states, never for time.
// The catalogue and offers are read from the repository to know each item's category.
import { readFile } from "node:fs/promises";

const read = async (path) => JSON.parse(await readFile(new URL(path, import.meta.url), "utf8"));

export const catalog = await read("../../models/demo/catalog.json");
export const offers = await read("../../models/demo/offers.json");
const byId = new Map(catalog.map((item) => [item.item_id, item]));

export const category = (id) => byId.get(id).category;
export const topOf = (id) => category(id).split("/")[0];

/** The top-level category an offer is about: its category, or the one its brand sells in. */
export function offerTop(offerId) {
  const offer = offers.find((o) => o.id === offerId);
  if (offer.categories.length) return offer.categories[0].split("/")[0];
  return topOf(catalog.find((item) => item.brand === offer.brands[0]).item_id);
}

/** How many of `recs` lie in a top-level category. */
export const countTop = (recs, top) => recs.filter((r) => topOf(r.id) === top).length;

/** "running/shoes:7 running/socks:1" */
export function mix(recs) {
  const counts = {};
  for (const r of recs) counts[category(r.id)] = (counts[category(r.id)] || 0) + 1;
  return Object.entries(counts)
    .map(([c, n]) => `${c}:${n}`)
    .join(" ");
}

export class Shopper {
  constructor(page) {
    this.page = page;
  }

  /** How many events the panels were last computed for. */
  async events() {
    return Number(await this.page.getAttribute("body", "data-events"));
  }

  /** Waits until the panels show the result for `n` stored events. */
  async settled(n) {
    await this.page.waitForSelector(`body[data-events="${n}"]`, { state: "attached" });
  }

  async onPage(name) {
    await this.page.waitForSelector(`#view[data-page="${name}"]`, { state: "attached" });
  }

  /** The "Recommended for you" panel: [{ id, kind, text }]. */
  recs() {
    return this.page.$$eval("#recs li[data-item-id]", (cards) =>
      cards.map((c) => {
        const reason = c.querySelector(".reason");
        return { id: c.dataset.itemId, kind: reason?.dataset.kind, text: reason?.textContent };
      }),
    );
  }

  /** The "Offers for you" panel: [{ id, kind }]. */
  offers() {
    return this.page.$$eval("#offers li[data-offer-id]", (items) =>
      items.map((o) => ({ id: o.dataset.offerId, kind: o.querySelector(".reason")?.dataset.kind })),
    );
  }

  /** The product list on the current page (search results, category, brand). */
  products() {
    return this.page.$$eval("#products li[data-item-id]", (cards) => cards.map((c) => c.dataset.itemId));
  }

  historyTexts() {
    return this.page.$$eval("#history li", (items) => items.map((li) => li.textContent));
  }

  async search(query) {
    const n = await this.events();
    await this.page.fill('input[type="search"]', query);
    await this.page.press('input[type="search"]', "Enter");
    await this.page.waitForSelector(`#view[data-page="search"] [data-query="${query}"]`, { state: "attached" });
    await this.settled(n + 1);
  }

  /** Clicks the product link with this id inside `scope` and waits for the view to be recorded. */
  async open(scope, id) {
    const n = await this.events();
    await this.page.click(`${scope} a[data-item-id="${id}"]`);
    await this.page.waitForSelector(`#view[data-page="product"] article[data-item-id="${id}"]`, { state: "attached" });
    await this.settled(n + 1);
  }

  /** Browser "back" to a page of this kind (a same-document navigation: nothing is fetched). */
  async back(name) {
    await this.page.goBack();
    await this.onPage(name);
  }

  async addToCart() {
    const n = await this.events();
    await this.page.click("#add-to-cart");
    await this.settled(n + 1);
  }

  /** Cart page, "Place order": one purchase event per cart line. */
  async checkout() {
    const n = await this.events();
    await this.page.click("#cart-link");
    await this.onPage("cart");
    const lines = await this.page.$$eval("#cart-lines li[data-item-id]", (li) => li.length);
    await this.page.click("#checkout");
    await this.onPage("thanks");
    await this.settled(n + lines);
    return lines;
  }

  /**
   * Top-level category from the menu, then a sub-category from the side navigation. The shop
   * records each category visit, so each waits for one more event (callers never open the
   * category they are already in).
   */
  async category(path) {
    const [top, sub] = path.split("/");
    const n = await this.events();
    await this.page.click(`#categories a[href="#/c/${top}"]`);
    await this.page.waitForSelector(`#view[data-page="category"] [data-category="${top}"]`, { state: "attached" });
    await this.settled(n + 1);
    if (sub) {
      await this.page.click(`.subnav a[href="#/c/${path}"]`);
      await this.page.waitForSelector(`#view[data-page="category"] [data-category="${path}"]`, { state: "attached" });
      await this.settled(n + 2);
    }
  }

  async home() {
    await this.page.click("a.logo");
    await this.onPage("home");
  }
}
