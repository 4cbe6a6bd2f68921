// A core with category shards (`localrec shard`) in the browser: the first answer needs only the
// core; opening a category fetches that category's shards and nothing else; every request names a
// content-addressed file and nothing about the shopper; a damaged or missing shard is refused with
// its code and the history stays; with every shard in, the ranking is the whole model's.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { DEMO_MOUNTS } from "../../scripts/serve.mjs";
import { open, splitDemoModel } from "./helpers.mjs";

const CORE_ITEMS = 300;

let split;
let manifest;
before(async () => {
  split = await splitDemoModel(CORE_ITEMS);
  manifest = split.index;
});
after(() => split?.remove());

const serve = () => ({ mounts: [["/sharded/", split.dir], ...DEMO_MOUNTS] });
const SHARD = /^\/sharded\/shards\/[0-9a-f]{64}\.lrec$/;
const HISTORY = [
  { type: "search", query: "merino hiking socks" },
  { type: "category", category: "hiking/socks" },
  { type: "view", itemId: "sku-0001" },
];

/** Every request since `from`: GET, same origin, no body, no query string, and (for shards) a
 * content-addressed name that says nothing about the shopper. */
function checkRequests(b, from, words) {
  const seen = b.requests.slice(from);
  for (const r of seen) {
    const url = new URL(r.url);
    assert.equal(url.origin, b.base, r.url);
    assert.equal(r.method, "GET", r.url);
    assert.equal(r.body, null, r.url);
    assert.equal(url.search, "", r.url);
    for (const w of words) assert.ok(!r.url.toLowerCase().includes(w), `${r.url} names ${w}`);
  }
  return seen.map((r) => new URL(r.url).pathname);
}

test("a core answers alone; a category page fetches only its shards; all shards rank as the whole model", { timeout: 300_000 }, async () => {
  const b = await open({ serve: serve() });
  try {
    await b.page.goto(`${b.base}/tests/blank.html`);
    const start = b.requests.length;
    const first = await b.page.evaluate(async (history) => {
      const { Recommender } = await import("/pkg/localrec.js");
      const rec = await Recommender.load({ model: "/sharded/model.lrec", backend: "cpu", storage: "memory" });
      globalThis.rec = rec;
      for (const e of history) await rec.track(e);
      const top = await rec.recommend({ k: 10 });
      return { model: rec.model, top: top.map((r) => r.itemId) };
    }, HISTORY);
    // Numbered shard ids need version 5; every file is written as 7.
    assert.equal(first.model.version, 7);
    assert.equal(first.model.items, CORE_ITEMS);
    assert.equal(first.model.catalogItems, 3000);
    assert.equal(first.model.shards, manifest.shards.length);
    assert.equal(first.model.shardsLoaded, 0);
    assert.equal(first.top.length, 10);
    const loadPaths = checkRequests(b, start, []);
    assert.ok(!loadPaths.some((p) => SHARD.test(p)), `no shard before a category is opened: ${loadPaths}`);

    // The shopper opens hiking/socks: exactly that category's shards are fetched.
    const before = b.requests.length;
    const opened = await b.page.evaluate(async () => {
      const added = await rec.loadCategory("hiking/socks");
      const again = await rec.loadCategory("hiking/socks");
      const socks = await rec.recommend({ k: 5, filter: { categories: ["hiking/socks"] } });
      return { added, again, model: rec.model, socks: socks.map((r) => r.itemId) };
    });
    const wanted = manifest.shards.filter((s) => s.category === "hiking/socks");
    assert.ok(wanted.length > 0);
    const paths = checkRequests(b, before, ["hiking", "socks", "merino", "sku-"]);
    assert.deepEqual(paths.sort(), wanted.map((s) => `/sharded/shards/${s.sha256}.lrec`).sort());
    const inShards = wanted.reduce((n, s) => n + s.items, 0);
    assert.equal(opened.added, inShards);
    assert.equal(opened.again, 0, "a loaded category is not fetched again");
    assert.equal(opened.model.items, CORE_ITEMS + inShards);
    assert.equal(opened.socks.length, 5);

    // A prefix covers its subcategories; then everything; then the whole model's ranking.
    const all = await b.page.evaluate(async (history) => {
      const hiking = await rec.loadCategory("hiking");
      const rest = await rec.loadCatalog();
      const sharded = await rec.recommend({ k: 10 });
      const { Recommender } = await import("/pkg/localrec.js");
      const whole = await Recommender.load({ model: "/models/demo/model.lrec", backend: "cpu", storage: "memory", namespace: "whole" });
      for (const e of history) await whole.track(e);
      const want = await whole.recommend({ k: 10 });
      return { hiking, rest, model: rec.model, sharded, want };
    }, HISTORY);
    const hikingItems = manifest.shards.filter((s) => s.category.startsWith("hiking/") && s.category !== "hiking/socks").reduce((n, s) => n + s.items, 0);
    assert.equal(all.hiking, hikingItems);
    assert.equal(all.model.items, 3000);
    assert.equal(all.model.shardsLoaded, manifest.shards.length);
    assert.deepEqual(all.sharded.map((r) => r.itemId), all.want.map((r) => r.itemId));
    for (let i = 0; i < 10; i++) assert.ok(Math.abs(all.sharded[i].score - all.want[i].score) < 1e-4);
    const shardPaths = checkRequests(b, before, ["merino", "sku-"]).filter((p) => SHARD.test(p));
    assert.equal(new Set(shardPaths).size, manifest.shards.length, "each shard fetched once");
    // Content-addressed files are cached for good; the core is revalidated.
    const head = async (path) => (await fetch(`${b.base}${path}`)).headers.get("cache-control");
    assert.equal(await head(`/sharded/shards/${manifest.shards[0].sha256}.lrec`), "public, max-age=31536000, immutable");
    assert.equal(await head("/sharded/model.lrec"), "no-cache");
    assert.deepEqual(b.errors, []);
  } finally {
    await b.close();
  }
});

test("a damaged or missing shard is refused with its code; the history and catalogue stay", { timeout: 180_000 }, async () => {
  const b = await open({ serve: serve() });
  try {
    await b.page.goto(`${b.base}/tests/blank.html`);
    let mode = "damage";
    await b.page.route(/\/shards\/[0-9a-f]{64}\.lrec$/, async (route) => {
      if (mode === "missing") return route.fulfill({ status: 404, body: "" });
      const response = await route.fetch();
      const body = Buffer.from(await response.body());
      body[body.length >> 1] ^= 0xff;
      return route.fulfill({ response, body });
    });
    const out = await b.page.evaluate(async (history) => {
      const { Recommender } = await import("/pkg/localrec.js");
      const rec = await Recommender.load({ model: "/sharded/model.lrec", backend: "cpu", storage: "memory" });
      globalThis.rec = rec;
      for (const e of history) await rec.track(e);
      const err = await rec.loadCategory("yoga/mats").then(() => null, (e) => ({ code: e.code, message: e.message }));
      return { err, history: (await rec.history()).length, items: rec.model.items };
    }, HISTORY);
    assert.equal(out.err?.code, "MODEL_CORRUPT", JSON.stringify(out.err));
    assert.equal(out.history, HISTORY.length);
    assert.equal(out.items, CORE_ITEMS);
    mode = "missing";
    const missing = await b.page.evaluate(() => rec.loadCategory("yoga/mats").then(() => null, (e) => e.code));
    assert.equal(missing, "FETCH");
    // Downloads the failed call started ahead may still be in the handler: wait for them. (Removing
    // the route under them lets Chromium continue those requests, and their fulfil then throws.)
    await b.page.unrouteAll({ behavior: "wait" });
    const retried = await b.page.evaluate(async () => ({ added: await rec.loadCategory("yoga/mats"), items: rec.model.items }));
    assert.ok(retried.added > 0);
    assert.equal(retried.items, CORE_ITEMS + retried.added);
  } finally {
    await b.close();
  }
});

test("the GA4 adapter loads a category's shards on view_item_list, unless told not to", { timeout: 180_000 }, async () => {
  const b = await open({ serve: serve() });
  try {
    await b.page.goto(`${b.base}/tests/blank.html`);
    const out = await b.page.evaluate(async () => {
      const { Recommender } = await import("/pkg/localrec.js");
      const { connectDataLayer } = await import("/pkg/ga4.js");
      const run = async (options) => {
        const rec = await Recommender.load({ model: "/sharded/model.lrec", backend: "cpu", storage: "memory" });
        const dataLayer = [];
        const disconnect = connectDataLayer(rec, dataLayer, options);
        dataLayer.push({ event: "view_item_list", ecommerce: { item_list_id: "kitchen/knives", items: [] } });
        await disconnect.settled();
        const out = { items: rec.model.items, counts: { ...disconnect.counts }, history: (await rec.history()).length };
        disconnect();
        rec.free();
        return out;
      };
      return { auto: await run(), off: await run({ loadShards: false }) };
    });
    const knives = manifest.shards.filter((s) => s.category === "kitchen/knives").reduce((n, s) => n + s.items, 0);
    assert.ok(knives > 0);
    assert.equal(out.auto.items, CORE_ITEMS + knives);
    assert.deepEqual(out.auto.counts, { tracked: 1, ignored: 0, rejected: 0 });
    assert.equal(out.auto.history, 1);
    assert.equal(out.off.items, CORE_ITEMS);
    assert.equal(out.off.history, 1);
  } finally {
    await b.close();
  }
});

test('shards: "all" fetches the whole catalogue at load; the worker entry loads categories too', { timeout: 180_000 }, async () => {
  const b = await open({ serve: serve() });
  try {
    await b.page.goto(`${b.base}/tests/blank.html`);
    const out = await b.page.evaluate(async () => {
      const { Recommender } = await import("/pkg/localrec.js");
      const all = await Recommender.load({ model: "/sharded/model.lrec", backend: "cpu", storage: "memory", shards: "all" });
      const { Recommender: InWorker } = await import("/pkg/worker-client.js");
      const worker = await InWorker.load({ model: "/sharded/model.lrec", backend: "cpu", storage: "memory" });
      const before = worker.model.items;
      const added = await worker.loadCategory("kitchen");
      const after = worker.model.items;
      const bad = [await all.loadCategory(42).then(() => null, (e) => e.code), await all.loadCategory(" ").then(() => null, (e) => e.code)];
      return { all: all.model, before, added, after, bad };
    });
    assert.equal(out.all.items, 3000);
    assert.equal(out.all.shardsLoaded, manifest.shards.length);
    assert.equal(out.before, CORE_ITEMS);
    assert.ok(out.added > 0);
    assert.equal(out.after, CORE_ITEMS + out.added);
    assert.deepEqual(out.bad, ["INVALID_ARGUMENT", "INVALID_ARGUMENT"]);
  } finally {
    await b.close();
  }
});
