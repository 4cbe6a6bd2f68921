// The demo storefront end to end, driven through its UI on the demo model, on CPU and on WebGPU:
// scripted shoppers and what the panels then show, and the on-device history surviving a reload
// and disappearing on "Forget me". Leaves a screenshot in tests/browser/artifacts/.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { open, ready } from "./helpers.mjs";
import { Shopper, countTop, mix, offerTop, topOf, category } from "./shop.mjs";

const ARTIFACTS = fileURLToPath(new URL("./artifacts/", import.meta.url));
const ACCESSORIES = ["running/socks", "running/accessories"];

/** Running socks and accessories in a list: how many, and the best (lowest) position. */
function accessories(recs) {
  const positions = recs.map((r, i) => (ACCESSORIES.includes(category(r.id)) ? i : -1)).filter((i) => i >= 0);
  return { count: positions.length, best: positions.length ? positions[0] : Infinity };
}

const rank = (a) => (Number.isFinite(a.best) ? `#${a.best + 1}` : "none");

async function start(webgpu) {
  const b = await open({ webgpu });
  b.page.setDefaultTimeout(60_000);
  await b.page.setViewportSize({ width: 1280, height: 900 });
  // SwiftShader is a software adapter, which `auto` never picks: ask for WebGPU by name.
  await b.page.goto(`${b.base}/${webgpu ? "?backend=webgpu" : ""}`);
  await ready(b.page);
  const shop = new Shopper(b.page);
  return { b, shop };
}

for (const webgpu of [false, true]) {
  const backend = webgpu ? "webgpu" : "cpu";

  test(`scripted shopper on ${backend}`, { timeout: 600_000 }, async (t) => {
    const { b, shop } = await start(webgpu);
    try {
      assert.equal(await b.page.textContent("#backend"), backend);
      await shop.settled(0);
      const popular = await shop.recs();
      assert.equal(popular.length, 8);
      assert.ok(popular.every((r) => r.kind === "popular"), JSON.stringify(popular));

      await t.test("searching 'trail running shoes' and viewing three running items: at least 6 of the top 8 are running", async () => {
        await shop.search("trail running shoes");
        const results = await shop.products();
        const picks = results.filter((id) => topOf(id) === "running").slice(0, 3);
        assert.equal(picks.length, 3, `search results: ${results.slice(0, 10)}`);
        for (const [i, id] of picks.entries()) {
          await shop.open("#products", id);
          if (i < picks.length - 1) await shop.back("search");
        }
        const recs = await shop.recs();
        const running = countTop(recs, "running");
        t.diagnostic(`${backend}: after search + views of ${picks}: ${running}/8 running (${mix(recs)})`);
        assert.equal(recs.length, 8);
        assert.ok(running >= 6, `${running}/8 running: ${mix(recs)}`);
        assert.ok(recs.every((r) => r.kind !== "popular"), "reasons now come from the history");
        assert.ok(
          recs.every((r) => /^because you (viewed|searched|added|bought) /.test(r.text)),
          recs.map((r) => r.text).join("; "),
        );
      });

      await t.test("the offer shown matches the running interest", async () => {
        const offers = await shop.offers();
        t.diagnostic(`${backend}: offers ${offers.map((o) => o.id)}`);
        assert.ok(offers.length >= 1 && offers.length <= 2);
        assert.equal(offerTop(offers[0].id), "running", `top offer ${offers[0].id}`);
      });

      let bought = null;
      await t.test("buying a recommended item: it is no longer recommended, the interest and offer stay", async () => {
        const listed = await shop.recs();
        const target = listed[0].id;
        assert.equal(topOf(target), "running");
        await shop.open("#recs", target);
        await shop.addToCart();
        const before = await shop.recs();
        assert.equal(await shop.checkout(), 1);
        const after = await shop.recs();
        const history = await shop.historyTexts();
        assert.match(history.at(-1), /Bought/);
        assert.ok(!after.some((r) => r.id === target), `${target} is still recommended after buying it`);
        assert.ok(countTop(after, "running") >= 6, `interest kept after buying: ${mix(after)}`);
        const offers = await shop.offers();
        assert.equal(offerTop(offers[0].id), "running", `top offer after buying ${offers[0].id}`);
        bought = { target, before, after };
      });

      await t.test("after buying, a running accessory rises in the top 8", async () => {
        assert.ok(bought, "the purchase did not complete");
        const { target, before, after } = bought;
        const [a0, a1] = [accessories(before), accessories(after)];
        t.diagnostic(
          `${backend}: bought ${target}; socks/accessories in the top 8 before checkout: ${a0.count} (best ${rank(a0)}), after: ${a1.count} (best ${rank(a1)}); after: ${mix(after)}`,
        );
        assert.ok(
          a1.count > a0.count || (a1.count > 0 && a1.best < a0.best),
          `no running accessory rose: before ${mix(before)}, after ${mix(after)}`,
        );
      });

      // A known state for the README: the home page after the running session and the purchase.
      await shop.home();
      await mkdir(ARTIFACTS, { recursive: true });
      await b.page.screenshot({
        path: `${ARTIFACTS}${webgpu ? "storefront-webgpu.png" : "storefront.png"}`,
        fullPage: true,
      });

      const seen = [];
      await t.test("switching to hiking boots (category visits, then three views): the majority of the top 8 is hiking", async () => {
        await shop.category("hiking/boots");
        const visits = (await shop.historyTexts()).slice(-2);
        assert.match(visits[0], /Browsed Hiking$/);
        assert.match(visits[1], /Browsed Hiking › Boots$/);
        const boots = (await shop.products()).slice(0, 3);
        for (const [i, id] of boots.entries()) {
          await shop.open("#products", id);
          const recs = await shop.recs();
          seen.push({ hiking: countTop(recs, "hiking"), mix: mix(recs), offer: (await shop.offers())[0]?.id });
          if (i < boots.length - 1) await shop.back("category");
        }
        const hiking = seen.map((s) => s.hiking);
        t.diagnostic(`${backend}: hiking items in the top 8 after each of ${boots}: ${hiking.join(", ")}`);
        assert.ok(
          hiking.at(-1) >= 5,
          `after three hiking/boots views ${hiking.join("/")} of 8 are hiking; top 8 after the third: ${seen.at(-1).mix}`,
        );
      });

      await t.test("the offer shown follows to hiking", async () => {
        assert.equal(seen.length, 3, "the switch did not complete");
        t.diagnostic(`${backend}: top offer after each hiking view: ${seen.map((s) => s.offer).join(", ")}`);
        assert.equal(offerTop(seen.at(-1).offer), "hiking", `top offer ${seen.at(-1).offer}`);
      });

      assert.deepEqual(b.errors, []);
    } finally {
      await b.close();
    }
  });

  test(`reload keeps the history, "Forget me" wipes it on ${backend}`, { timeout: 600_000 }, async () => {
    const { b, shop } = await start(webgpu);
    try {
      await shop.settled(0);
      const coldStart = await shop.recs();
      await shop.search("yoga mat");
      const [first] = await shop.products();
      await shop.open("#products", first);
      await shop.addToCart();
      await shop.home();
      const history = await shop.historyTexts();
      const recs = await shop.recs();
      assert.equal(history.length, 3);

      await b.page.reload();
      await ready(b.page);
      await shop.settled(3);
      assert.equal(await b.page.textContent("#storage"), "indexeddb");
      assert.deepEqual(await shop.historyTexts(), history, "the same history after a reload");
      assert.deepEqual(
        (await shop.recs()).map((r) => r.id),
        recs.map((r) => r.id),
        "the same recommendations after a reload",
      );
      // The privacy panel shows exactly what IndexedDB holds.
      const shown = JSON.parse(await b.page.textContent("#history-raw"));
      const stored = await b.page.evaluate(
        () =>
          new Promise((resolve, reject) => {
            const req = indexedDB.open("localrec:demo-shop");
            req.onerror = () => reject(req.error);
            req.onsuccess = () => {
              const get = req.result.transaction("events").objectStore("events").getAll();
              get.onsuccess = () => resolve(get.result);
              get.onerror = () => reject(get.error);
            };
          }),
      );
      assert.deepEqual(shown, stored);
      assert.deepEqual(
        stored.map((e) => e.type),
        ["search", "view", "cart"],
      );

      await b.page.click("#forget");
      await shop.settled(0);
      assert.equal(await b.page.locator("#history li").count(), 0);
      assert.equal(await b.page.textContent("#history-raw"), "[]");
      const after = await shop.recs();
      assert.ok(after.every((r) => r.kind === "popular"), JSON.stringify(after));
      assert.deepEqual(
        after.map((r) => r.id),
        coldStart.map((r) => r.id),
        "back to the shop's popular items",
      );
      assert.ok((await shop.offers()).every((o) => o.kind === "popular"));

      await b.page.reload();
      await ready(b.page);
      await shop.settled(0);
      assert.equal(await b.page.locator("#history li").count(), 0, "forgotten for good");
      assert.deepEqual(b.errors, []);
    } finally {
      await b.close();
    }
  });
}
