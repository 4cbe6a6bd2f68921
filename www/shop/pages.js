// The storefront's pages. Each returns `{ page, title, node }` (plus `view` for a product page,
// whose showing the app records as a `view` event). Pages only read the catalogue and the cart;
// recording events is the app's job.
import { h, price, label } from "./dom.js";
import { picture } from "./art.js";
import { breadcrumb, brandHref, categoryHref, grid, productHref } from "./ui.js";

const PAGE_SIZE = 24;

// A representative sub-category per top-level category, for the home page's tiles.
const TILE_GLYPH = {
  running: "shoes",
  hiking: "boots",
  cycling: "helmets",
  yoga: "mats",
  beauty: "fragrance",
  kitchen: "pans",
  home: "lighting",
  electronics: "headphones",
};

const heading = (text) => h("h1", { id: "page-title", tabindex: "-1" }, text);

export function homePage(ctx) {
  const tiles = ctx.catalog.tree.map((top) =>
    h(
      "li",
      { class: "tile" },
      picture({ title: top.name, category: `${top.name}/${TILE_GLYPH[top.name] || top.subs[0].name.split("/")[1]}` }),
      h("a", { href: categoryHref(top.name), class: "stretch" }, label(top.name)),
      h("span", { class: "tile-count" }, `${top.count} products`),
    ),
  );
  return {
    page: "home",
    title: "Home",
    node: h(
      "div",
      null,
      h(
        "div",
        { class: "hero" },
        heading("Gear for every day, picked for you on your device"),
        h(
          "p",
          null,
          "Recommendations and offers in this shop are computed by a small Transformer running inside your browser. " +
            "What you browse, search and buy stays on this device; the shop's server only ever sends static files.",
        ),
      ),
      h("h2", null, "Shop by category"),
      h("ul", { class: "tiles" }, tiles),
    ),
  };
}

/**
 * A sortable, filterable product list with "Show more". `key` keeps its settings while the shopper
 * goes back and forth; `filter` is what "Recommended for you" ranks within.
 */
function listing(ctx, key, items, { filter, relevance = false } = {}) {
  const settings = ctx.listSettings(key, { sort: relevance ? "relevance" : "featured", inStock: false, shown: PAGE_SIZE });
  const count = h("p", { class: "count", "aria-live": "polite" });
  const list = h("div", { class: "listing-items" });
  const sort = h(
    "select",
    { id: "sort", name: "sort" },
    [
      [relevance ? "relevance" : "featured", relevance ? "Best match" : "Featured"],
      ["for-you", "Recommended for you"],
      ["price-asc", "Price: low to high"],
      ["price-desc", "Price: high to low"],
    ].map(([value, text]) => h("option", { value, selected: settings.sort === value }, text)),
  );
  const inStock = h("input", { type: "checkbox", id: "in-stock", name: "in-stock", checked: settings.inStock });
  let token = 0;

  async function show() {
    const mine = ++token;
    let shown = items.filter((i) => !settings.inStock || i.in_stock);
    if (settings.sort === "price-asc") shown = [...shown].sort((a, b) => a.price - b.price);
    if (settings.sort === "price-desc") shown = [...shown].sort((a, b) => b.price - a.price);
    if (settings.sort === "for-you") {
      const rank = await ctx.personalRank(filter);
      if (mine !== token) return;
      shown = [...shown].sort((a, b) => (rank.get(a.item_id) ?? Infinity) - (rank.get(b.item_id) ?? Infinity));
    }
    count.textContent = `${shown.length} product${shown.length === 1 ? "" : "s"}`;
    const more =
      shown.length > settings.shown
        ? h(
            "button",
            {
              type: "button",
              class: "more",
              onclick: () => {
                settings.shown += PAGE_SIZE;
                show();
              },
            },
            `Show more (${shown.length - settings.shown} left)`,
          )
        : null;
    list.replaceChildren(grid(shown.slice(0, settings.shown), { catalog: ctx.catalog }, { id: "products" }), more || "");
  }

  sort.addEventListener("change", () => {
    settings.sort = sort.value;
    show();
  });
  inStock.addEventListener("change", () => {
    settings.inStock = inStock.checked;
    show();
  });
  show();
  return h(
    "div",
    { class: "listing" },
    h(
      "div",
      { class: "toolbar" },
      count,
      h("label", { for: "sort" }, "Sort by ", sort),
      h("label", { for: "in-stock", class: "check" }, inStock, " In stock only"),
    ),
    list,
  );
}

export function categoryPage(ctx, path) {
  const node = ctx.catalog.category(path);
  if (!node) return notFoundPage();
  const [top, sub] = path.split("/");
  const topNode = ctx.catalog.category(top);
  const side = h(
    "nav",
    { class: "subnav", "aria-label": `${label(top)} categories` },
    h("h2", null, h("a", { href: categoryHref(top), "aria-current": sub ? null : "page" }, `All ${label(top)}`)),
    h(
      "ul",
      null,
      topNode.subs.map((s) =>
        h(
          "li",
          null,
          h("a", { href: categoryHref(s.name), "aria-current": s.name === path ? "page" : null }, label(s.name)),
          h("span", { class: "muted" }, ` ${s.count}`),
        ),
      ),
    ),
  );
  const title = sub ? `${label(top)} ${label(sub)}` : label(top);
  return {
    page: "category",
    title,
    category: path,
    node: h(
      "div",
      { class: "with-side", dataset: { category: path } },
      side,
      h(
        "div",
        null,
        breadcrumb(sub ? top : null),
        heading(title),
        listing(ctx, `c:${path}`, ctx.catalog.inCategory(path), { filter: { categories: [path] } }),
      ),
    ),
  };
}

export function brandPage(ctx, brand) {
  const items = ctx.catalog.brandItems(brand);
  if (!items.length) return notFoundPage();
  return {
    page: "brand",
    title: brand,
    node: h(
      "div",
      { dataset: { brand } },
      breadcrumb(ctx.catalog.brandTop(brand), brand),
      heading(`${brand}`),
      listing(ctx, `b:${brand}`, items, { filter: { brands: [brand] } }),
    ),
  };
}

export function searchPage(ctx, query) {
  if (!query) {
    return {
      page: "search",
      title: "Search",
      node: h("div", null, heading("Search"), h("p", null, "Type what you are looking for into the search box above.")),
    };
  }
  const { items, exact } = ctx.catalog.search(query);
  return {
    page: "search",
    title: `Search: ${query}`,
    node: h(
      "div",
      { dataset: { query } },
      heading(`Results for “${query}”`),
      exact ? null : h("p", { class: "note" }, "No product matches every word; these match some of them."),
      items.length
        ? listing(ctx, `s:${query}`, items, { relevance: true })
        : h("p", null, "Nothing matches that search. Try a category from the menu."),
    ),
  };
}

export function productPage(ctx, id) {
  const item = ctx.catalog.get(id);
  if (!item) return notFoundPage();
  const [top, sub] = item.category.split("/");
  const inCart = ctx.cart.get(id) || 0;
  const add = h(
    "button",
    { type: "button", id: "add-to-cart", class: "primary", dataset: { add: id }, disabled: !item.in_stock },
    item.in_stock ? "Add to cart" : "Out of stock",
  );
  return {
    page: "product",
    title: item.title,
    view: id,
    node: h(
      "article",
      { class: "product", dataset: { itemId: id } },
      breadcrumb(item.category, item.title),
      h(
        "div",
        { class: "product-main" },
        h("figure", null, picture(item, { decorative: false })),
        h(
          "div",
          { class: "product-info" },
          heading(item.title),
          h("p", { class: "muted" }, "by ", h("a", { href: brandHref(item.brand) }, item.brand), ` · ${label(top)} › ${label(sub)}`),
          h("p", { class: "product-price" }, price(item.price)),
          h(
            "p",
            { class: item.in_stock ? "stock in" : "stock out" },
            item.in_stock ? "In stock, ready to ship" : "Currently out of stock",
          ),
          add,
          h("p", { id: "in-cart", class: "muted", "aria-live": "polite" }, inCart ? `In your cart: ${inCart}` : ""),
          h(
            "p",
            { class: "fineprint" },
            "Viewing this page was recorded in your browser only, to personalise this shop for you. " +
              "See “Your data on this device” below.",
          ),
        ),
      ),
      h(
        "section",
        { class: "related", "aria-labelledby": "related-title" },
        h("h2", { id: "related-title" }, `More ${label(sub).toLowerCase()} for you`),
        h("ol", { id: "related", class: "grid grid-small" }),
      ),
    ),
  };
}

export function cartPage(ctx) {
  const lines = [...ctx.cart.entries()].map(([id, qty]) => ({ item: ctx.catalog.get(id), qty })).filter((l) => l.item);
  if (!lines.length) {
    return {
      page: "cart",
      title: "Cart",
      node: h("div", null, heading("Your cart"), h("p", null, "Your cart is empty. ", h("a", { href: "#/" }, "Continue shopping"), ".")),
    };
  }
  const total = lines.reduce((sum, l) => sum + l.item.price * l.qty, 0);
  return {
    page: "cart",
    title: "Cart",
    node: h(
      "div",
      null,
      heading("Your cart"),
      h(
        "ul",
        { class: "cart-lines", id: "cart-lines" },
        lines.map(({ item, qty }) =>
          h(
            "li",
            { dataset: { itemId: item.item_id } },
            picture(item),
            h("a", { href: productHref(item.item_id), dataset: { itemId: item.item_id } }, item.title),
            h("span", { class: "qty" }, `× ${qty}`),
            h("span", { class: "line-price" }, price(item.price * qty)),
            h("button", { type: "button", class: "link", dataset: { remove: item.item_id }, "aria-label": `Remove ${item.title}` }, "Remove"),
          ),
        ),
      ),
      h("p", { class: "total" }, "Total ", h("strong", null, price(total))),
      h("button", { type: "button", id: "checkout", class: "primary" }, "Place order"),
      h(
        "p",
        { class: "fineprint" },
        "This demo has no server and takes no payment: placing the order records a purchase of each item in your browser, " +
          "so that recommendations stop suggesting what you already own.",
      ),
    ),
  };
}

export function thanksPage(ctx) {
  const order = ctx.lastOrder;
  if (!order) return homePage(ctx);
  return {
    page: "thanks",
    title: "Thank you",
    node: h(
      "div",
      null,
      heading("Thank you for your order"),
      h("p", null, `${order.length} item${order.length === 1 ? "" : "s"} — recorded as purchases on this device only.`),
      grid(
        order.map((id) => ctx.catalog.get(id)),
        { catalog: ctx.catalog, addButton: false },
        { id: "order" },
      ),
      h("p", null, h("a", { href: "#/" }, "Continue shopping")),
    ),
  };
}

export function notFoundPage() {
  return {
    page: "not-found",
    title: "Not found",
    node: h("div", null, heading("Page not found"), h("p", null, h("a", { href: "#/" }, "Back to the shop"))),
  };
}
