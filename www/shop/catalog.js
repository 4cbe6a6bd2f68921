// The shop's catalogue on the client: category tree, brands and a small full-text search over
// titles, categories and brands. Everything here runs on the already downloaded catalog.json.

const TOP_ORDER = ["running", "hiking", "cycling", "yoga", "beauty", "kitchen", "home", "electronics"];

/** Lower-case word tokens with a crude plural folding ("shoes" -> "shoe", "socks" -> "sock"). */
export function tokens(text) {
  return String(text)
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean)
    .map(fold);
}

function fold(word) {
  if (word.length > 4 && word.endsWith("ies")) return word.slice(0, -3) + "y";
  if (word.length > 3 && word.endsWith("es") && /(sh|ch|x|ss)es$/.test(word)) return word.slice(0, -2);
  if (word.length > 3 && word.endsWith("s") && !word.endsWith("ss")) return word.slice(0, -1);
  return word;
}

export class Catalog {
  constructor(items) {
    this.items = items;
    this.byId = new Map(items.map((item) => [item.item_id, item]));
    const tops = new Map();
    for (const item of items) {
      const [top, sub] = item.category.split("/");
      if (!tops.has(top)) tops.set(top, new Map());
      const subs = tops.get(top);
      subs.set(sub, (subs.get(sub) || 0) + 1);
    }
    const rank = (t) => (TOP_ORDER.includes(t) ? TOP_ORDER.indexOf(t) : TOP_ORDER.length);
    /** [{ name: "running", count, subs: [{ name: "running/shoes", count }] }] in shop order. */
    this.tree = [...tops.entries()]
      .sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b))
      .map(([top, subs]) => ({
        name: top,
        count: [...subs.values()].reduce((a, b) => a + b, 0),
        subs: [...subs.entries()]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([sub, count]) => ({ name: `${top}/${sub}`, count })),
      }));
    this.brands = new Map();
    for (const item of items) {
      if (!this.brands.has(item.brand)) this.brands.set(item.brand, []);
      this.brands.get(item.brand).push(item);
    }
    // Search index: per item, the tokens of its title (weight 2) and of category and brand (1).
    this.index = items.map((item) => ({
      item,
      title: new Set(tokens(item.title)),
      other: new Set(tokens(`${item.category} ${item.brand}`)),
    }));
  }

  get(id) {
    return this.byId.get(id);
  }

  /** A top-level ("running") or sub-category ("running/shoes") node, or undefined. */
  category(path) {
    const [top, sub] = path.split("/");
    const node = this.tree.find((t) => t.name === top);
    if (!node || sub === undefined) return node;
    return node.subs.find((s) => s.name === path);
  }

  /** Items of a category; "running" also matches "running/shoes". */
  inCategory(path) {
    return this.items.filter((i) => i.category === path || i.category.startsWith(`${path}/`));
  }

  brandItems(brand) {
    return this.brands.get(brand) || [];
  }

  /** The top-level category a brand sells in (every demo brand sells in one). */
  brandTop(brand) {
    const first = this.brandItems(brand)[0];
    return first && first.category.split("/")[0];
  }

  /**
   * Items matching a query, best first: `{ items, exact }`. Items matching every word of the
   * query when there are any (`exact`), else items matching some of them. Title hits count twice
   * as much as category and brand hits; ties keep catalogue order.
   */
  search(query) {
    const words = [...new Set(tokens(query))];
    if (!words.length) return { items: [], exact: true };
    const hits = [];
    for (const [position, entry] of this.index.entries()) {
      let matched = 0;
      let score = 0;
      for (const word of words) {
        if (entry.title.has(word)) {
          matched++;
          score += 2;
        } else if (entry.other.has(word)) {
          matched++;
          score += 1;
        }
      }
      if (matched) hits.push({ item: entry.item, all: matched === words.length, score, position });
    }
    const exact = hits.filter((h) => h.all);
    const chosen = exact.length ? exact : hits;
    chosen.sort((a, b) => b.score - a.score || a.position - b.position);
    return { items: chosen.map((h) => h.item), exact: exact.length > 0 || hits.length === 0 };
  }
}
