// Minimal storefront: loads the npm package from /pkg/ as a customer would, runs everything in the
// browser, and sends nothing anywhere.
import init, { Recommender, version } from "/pkg/localrec.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
let rec;
let catalog = new Map();

function card(item, reason) {
  const meta = catalog.get(item.itemId) || {};
  const li = document.createElement("li");
  li.dataset.itemId = item.itemId;
  const hue = [...(meta.category || item.itemId)].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 360, 7);
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 100 60");
  svg.innerHTML = `<rect width="100" height="60" fill="hsl(${hue} 55% 70%)"/>`;
  const title = document.createElement("div");
  title.textContent = meta.title || item.itemId;
  const why = document.createElement("div");
  why.className = "reason";
  why.textContent = reason;
  li.append(svg, title, why);
  li.addEventListener("click", async () => {
    await rec.track({ type: "view", itemId: item.itemId });
    await refresh();
  });
  return li;
}

function explain(r) {
  switch (r.kind) {
    case "popular": return "popular in the shop";
    case "searched": return `because you searched “${r.query}”`;
    default: return `because you ${r.kind} ${catalog.get(r.itemId)?.title || r.itemId}`;
  }
}

async function refresh() {
  const t0 = performance.now();
  const items = await rec.recommend({ k: 8 });
  $("latency").textContent = `${(performance.now() - t0).toFixed(1)} ms`;
  $("recs").replaceChildren(...items.map((it) => card(it, explain(it.reason))));
  const history = await rec.history();
  $("history").replaceChildren(...history.map((e) => {
    const li = document.createElement("li");
    li.textContent = e.type === "search" ? `search “${e.query}”` : `${e.type} ${catalog.get(e.itemId)?.title || e.itemId}`;
    return li;
  }));
}

async function main() {
  await init();
  $("version").textContent = version();
  const backend = params.get("backend") || "auto";
  rec = await Recommender.load({ model: "/models/demo/model.lrec", backend });
  $("backend").textContent = rec.backend;
  $("storage").textContent = rec.storage;
  const items = await fetch("/models/demo/catalog.json").then((r) => (r.ok ? r.json() : []));
  catalog = new Map(items.map((i) => [i.item_id, i]));
  $("search-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const query = $("search").value.trim();
    if (query) await rec.track({ type: "search", query });
    await refresh();
  });
  $("forget").addEventListener("click", async () => {
    await rec.forget();
    await refresh();
  });
  await refresh();
  $("status").textContent = "Ready: recommendations are computed in this browser.";
  $("status").dataset.state = "ready";
}

main().catch((e) => {
  $("status").textContent = `Error: ${e.message}`;
  $("status").dataset.state = "error";
  console.error(e);
});
