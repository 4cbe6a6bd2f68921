// The storefront keeps behaviour on the device: every request of the whole session is recorded
// (by the browser context, which also sees the Web Worker's fetches, by the page, and by the
// server itself); after the initial load, browsing, searching, buying, sorting and forgetting
// make no request at all, and no request ever carries a viewed item id or a search term.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { DEMO_MOUNTS } from "../../scripts/serve.mjs";
import { open, ready, splitDemoModel } from "./helpers.mjs";
import { Shopper, topOf } from "./shop.mjs";

// The third session runs the shop on the demo model split into a core (300 items) and category
// shards (`localrec shard`): after load, the only requests allowed are shard files of the
// categories the shopper opened.
let split = null;
after(() => split?.remove());

const QUERIES = ["trail running shoes", "merino hiking socks"];
// Distinctive words of the queries ("shoes" and "socks" as well: no request has any reason to
// contain them). They cover the category pages visited too ("hiking", "hiking/socks"), which the
// shop records as events.
const TERMS = [...new Set(QUERIES.flatMap((q) => q.split(" ")))];

/** The start-up downloads: static files, all GET, all from the shop's own origin. */
const STARTUP = [
  "/",
  "/style.css",
  "/app.js",
  "/pkg/worker-client.js",
  "/pkg/worker.js",
  "/pkg/localrec.js",
  "/models/demo/model.lrec",
  "/models/demo/catalog.json",
  "/models/demo/offers.json",
  "/pkg/package.json",
];

for (const [webgpu, sharded] of [[false, false], [true, false], [false, true]]) {
  const backend = webgpu ? "webgpu" : "cpu";
  const what = sharded ? "only the opened categories' shards after load" : "nothing after load";
  test(`storefront privacy on ${backend}${sharded ? " with a sharded model" : ""}: ${what}, no behaviour in any request`, { timeout: 600_000 }, async () => {
    if (sharded) split ??= await splitDemoModel(300);
    const b = await open({ webgpu, serve: sharded ? { mounts: [["/sharded/", split.dir], ...DEMO_MOUNTS] } : {} });
    const pageRequests = [];
    b.page.on("request", (r) => pageRequests.push(r.url()));
    const workerRequests = [];
    b.page.on("worker", (w) => workerRequests.push(w.url()));
    try {
      b.page.setDefaultTimeout(60_000);
      const query = [webgpu && "backend=webgpu", sharded && "model=/sharded/model.lrec"].filter(Boolean).join("&");
      await b.page.goto(`${b.base}/${query ? `?${query}` : ""}`); // auto never picks SwiftShader
      await ready(b.page);
      const shop = new Shopper(b.page);
      await shop.settled(0);
      const loaded = { requests: b.requests.length, served: b.served.length, page: pageRequests.length };

      // The initial load: exactly the static files, all GET, same origin, no cookies, and the
      // worker's own fetches (wasm, model) are visible to the recorder.
      const paths = b.requests.map((r) => new URL(r.url).pathname);
      const startup = STARTUP.map((p) => (sharded && p === "/models/demo/model.lrec" ? "/sharded/model.lrec" : p));
      for (const path of startup) assert.ok(paths.includes(path), `${path} not requested (or not seen): ${paths}`);
      assert.ok(paths.some((p) => /^\/pkg\/[\w.-]+\.wasm$/.test(p)), `no wasm bundle requested (or not seen): ${paths}`);
      assert.ok(workerRequests.some((u) => u.endsWith("/pkg/worker.js")), "the model runs in a Web Worker");
      for (const r of b.requests) {
        assert.ok(r.url.startsWith(`${b.base}/`), `request to another origin: ${r.url}`);
        assert.equal(r.method, "GET", `${r.method} ${r.url}`);
        assert.equal(r.body, null, `request body on ${r.url}`);
        assert.ok(!("cookie" in r.headers), `cookie sent with ${r.url}`);
      }

      // Browse: search, open products from results, recommendations and offers, add to cart,
      // buy, change category, sort by "Recommended for you", open a brand page, show more, forget.
      const viewed = new Set();
      await shop.search(QUERIES[0]);
      const results = await shop.products();
      for (const id of results.slice(0, 2)) {
        await shop.open("#products", id);
        viewed.add(id);
        await shop.back("search");
      }
      const rec = (await shop.recs())[0].id;
      await shop.open("#recs", rec);
      viewed.add(rec);
      await shop.addToCart();
      await shop.checkout();
      await shop.category("hiking/socks");
      await shop.search(QUERIES[1]);
      const [sock] = await shop.products();
      assert.equal(topOf(sock), "hiking");
      await shop.open("#products", sock);
      viewed.add(sock);
      await shop.category("hiking");
      await b.page.selectOption("#sort", "for-you");
      await b.page.click("button.more");
      await b.page.waitForFunction(() => document.querySelectorAll("#products li").length > 24);
      const before = await shop.events();
      await b.page.click("#offers li[data-offer-id] a");
      await b.page.waitForSelector('#view[data-page="category"], #view[data-page="brand"]', { state: "attached" });
      // An offer for a category leads to its page, which counts as a visit (a brand's does not).
      const offerCategory = (await b.page.getAttribute("#view", "data-page")) === "category";
      const opened = ["hiking/socks", "hiking"];
      if (offerCategory) opened.push(decodeURIComponent((await b.page.evaluate(() => location.hash)).replace(/^#\/c\//, "")));
      if (offerCategory) await shop.settled(before + 1);
      await b.page.click("#cart-link");
      await shop.onPage("cart");
      const events = await shop.events();
      // search, 2 views, view, cart, purchase, 2 category visits, search, view, category visit,
      // offer's category
      assert.equal(events, 11 + (offerCategory ? 1 : 0), "every action was recorded on the device");
      await b.page.click("#forget");
      await shop.settled(0);

      // Not one request after the initial load, as seen by the browser, the page and the server;
      // with a sharded model, only GETs of shard files of the categories the shopper opened.
      const isOpenedShard = (url) => {
        const m = new URL(url, b.base).pathname.match(/^\/sharded\/shards\/([0-9a-f]{64})\.lrec$/);
        const shard = m && split.index.shards.find((s) => s.sha256 === m[1]);
        return Boolean(shard) && opened.some((c) => shard.category === c || shard.category.startsWith(`${c}/`));
      };
      const extra = (list) => list.filter((u) => !(sharded && isOpenedShard(u)));
      assert.deepEqual(extra(b.requests.slice(loaded.requests).map((r) => r.url)), [], "browsing made requests");
      assert.deepEqual(extra(pageRequests.slice(loaded.page)), [], "browsing made page requests");
      assert.deepEqual(extra(b.served.slice(loaded.served).map((r) => r.url)), [], "the server was contacted while browsing");
      if (sharded) {
        const fetched = new Set(b.served.slice(loaded.served).map((r) => r.url));
        const wanted = split.index.shards.filter((s) => opened.some((c) => s.category === c || s.category.startsWith(`${c}/`)));
        assert.equal(fetched.size, wanted.length, "each shard of the opened categories, once");
        for (const r of b.requests.slice(loaded.requests)) {
          assert.equal(r.method, "GET", r.url);
          assert.equal(r.body, null, r.url);
          assert.ok(!("cookie" in r.headers), `cookie sent with ${r.url}`);
        }
      }

      // And nothing of the shopper's behaviour in any request of the whole session.
      const recorded = [
        ...b.requests.map((r) => JSON.stringify(r)),
        ...pageRequests,
        ...b.served.map((r) => JSON.stringify(r)),
      ];
      for (const text of recorded) {
        const lower = text.toLowerCase();
        for (const id of viewed) assert.ok(!lower.includes(id), `a request carries viewed item ${id}: ${text}`);
        for (const term of TERMS) assert.ok(!lower.includes(term), `a request carries search term "${term}": ${text}`);
      }
      assert.deepEqual(b.errors, []);
    } finally {
      await b.close();
    }
  });
}
