// Building blocks shared by the pages and the panels: product cards, reasons in words,
// breadcrumbs.
import { h, price, label } from "./dom.js";
import { picture } from "./art.js";

export const productHref = (id) => `#/p/${encodeURIComponent(id)}`;
export const categoryHref = (path) => `#/c/${path.split("/").map(encodeURIComponent).join("/")}`;
export const brandHref = (brand) => `#/brand/${encodeURIComponent(brand)}`;

/** A category path in words: "hiking/boots" is "Hiking › Boots". */
export const categoryName = (path) => path.split("/").map(label).join(" › ");

/** A recommendation's reason in words. */
export function explain(reason, catalog) {
  const title = (id) => catalog.get(id)?.title || id;
  switch (reason && reason.kind) {
    case "viewed":
      return `because you viewed ${title(reason.itemId)}`;
    case "carted":
      return `because you added ${title(reason.itemId)} to your cart`;
    case "bought":
      return `because you bought ${title(reason.itemId)}`;
    case "searched":
      return `because you searched “${reason.query}”`;
    case "browsed":
      return `because you browsed ${categoryName(reason.category)}`;
    case "popular":
      return "popular in the shop";
    default:
      return "picked for you";
  }
}

/**
 * A product card: the whole card is one link to the product page (the link's ::after covers the
 * card), plus an optional reason line and an optional "Add to cart" button above the link.
 */
export function productCard(item, { reason, catalog, addButton = true } = {}) {
  const id = item.item_id;
  return h(
    "li",
    { class: "card", dataset: { itemId: id } },
    picture(item),
    h(
      "div",
      { class: "card-body" },
      h("h3", { class: "card-title" }, h("a", { href: productHref(id), class: "stretch", dataset: { itemId: id } }, item.title)),
      h("p", { class: "card-meta" }, `${item.brand} · ${label(item.category)}`),
      h(
        "p",
        { class: "card-price" },
        price(item.price),
        item.in_stock ? null : h("span", { class: "badge badge-out" }, "out of stock"),
      ),
      reason ? h("p", { class: "reason", dataset: { kind: reason.kind } }, explain(reason, catalog)) : null,
      addButton && item.in_stock
        ? h("button", { type: "button", class: "add", dataset: { add: id }, "aria-label": `Add ${item.title} to cart` }, "Add to cart")
        : null,
    ),
  );
}

export function grid(items, options = {}, attrs = {}) {
  return h("ol", { class: "grid", ...attrs }, items.filter(Boolean).map((item) => productCard(item, options)));
}

/** Home › Running › Shoes */
export function breadcrumb(category, extra) {
  const parts = [h("li", null, h("a", { href: "#/" }, "Home"))];
  if (category) {
    const [top, sub] = category.split("/");
    parts.push(h("li", null, h("a", { href: categoryHref(top) }, label(top))));
    if (sub) parts.push(h("li", null, h("a", { href: categoryHref(category) }, label(sub))));
  }
  if (extra) parts.push(h("li", { "aria-current": "page" }, extra));
  return h("nav", { class: "breadcrumb", "aria-label": "Breadcrumb" }, h("ol", null, parts));
}
