// The npm package in a real browser under the strict CSP: loads, reports its version and backend,
// ranks on WebGPU and on CPU, rejects bad input with coded errors, and keeps behaviour on the device.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { open, ready } from "./helpers.mjs";

const cargoVersion = (await readFile(new URL("../../Cargo.toml", import.meta.url), "utf8")).match(
  /^version = "([^"]+)"/m,
)[1];

for (const webgpu of [false, true]) {
  const label = webgpu ? "with a WebGPU adapter" : "without WebGPU";
  test(`demo page loads the package ${label}`, { timeout: 180_000 }, async () => {
    const b = await open({ webgpu });
    try {
      // SwiftShader is a software adapter, which `auto` never picks: ask for WebGPU by name.
      await b.page.goto(`${b.base}/${webgpu ? "?backend=webgpu" : ""}`);
      await ready(b.page);
      assert.equal(await b.page.textContent("#version"), cargoVersion);
      assert.equal(await b.page.textContent("#backend"), webgpu ? "webgpu" : "cpu");
      assert.equal(await b.page.textContent("#storage"), "indexeddb");
      const cards = await b.page.$$("#recs li[data-item-id]");
      assert.equal(cards.length, 8);
      assert.deepEqual(b.errors, []);
      // Only static files, only GET, only from our own origin.
      for (const r of b.requests) {
        assert.ok(r.url.startsWith(b.base + "/"), `unexpected request ${r.url}`);
        assert.equal(r.method, "GET", `unexpected ${r.method} ${r.url}`);
      }
    } finally {
      await b.close();
    }
  });
}

test("browsing after load makes no network request and leaves nothing in URLs", { timeout: 180_000 }, async () => {
  const b = await open();
  try {
    await b.page.goto(`${b.base}/`);
    await ready(b.page);
    const before = b.requests.length;
    const first = await b.page.getAttribute("#recs li[data-item-id]", "data-item-id");
    await b.page.click(`#recs li[data-item-id="${first}"]`);
    await b.page.waitForFunction(
      (id) => [...document.querySelectorAll("#history li")].some((li) => li.textContent.length > 0),
      first,
    );
    await b.page.fill("#search", "trail running shoes");
    await b.page.press("#search", "Enter");
    await b.page.waitForFunction(() => document.querySelectorAll("#history li").length === 2);
    const after = b.requests.slice(before);
    assert.deepEqual(after.map((r) => r.url), [], "browsing must not touch the network");
    for (const r of b.requests) {
      const all = JSON.stringify(r);
      assert.ok(!all.includes(first), `request carries the viewed item: ${r.url}`);
      assert.ok(!/trail|running/.test(all), `request carries the search: ${r.url}`);
    }
    // The history is what the page says is stored, and survives a reload.
    await b.page.reload();
    await ready(b.page);
    assert.equal(await b.page.locator("#history li").count(), 2);
    await b.page.click("#forget");
    await b.page.waitForFunction(() => document.querySelectorAll("#history li").length === 0);
    const reasons = await b.page.$$eval("#recs .reason", (els) => els.map((e) => e.textContent));
    assert.ok(reasons.every((r) => r === "popular in the shop"), reasons.join(", "));
  } finally {
    await b.close();
  }
});

test("bad models and bad events reject with coded errors and keep history", { timeout: 180_000 }, async () => {
  const b = await open();
  try {
    await b.page.goto(`${b.base}/`);
    await ready(b.page);
    const result = await b.page.evaluate(async () => {
      const { Recommender } = await import("/pkg/localrec.js");
      const good = new Uint8Array(await (await fetch("/models/demo/model.lrec")).arrayBuffer());
      const codes = {};
      const attempt = async (name, fn) => {
        try {
          await fn();
          codes[name] = "no error";
        } catch (e) {
          codes[name] = `${e instanceof Error ? "Error" : typeof e}:${e.code}`;
        }
      };
      await attempt("truncated", () => Recommender.load({ model: good.slice(0, good.length - 10), storage: "memory" }));
      const tampered = good.slice();
      tampered[Math.floor(tampered.length / 2)] ^= 1;
      await attempt("tampered", () => Recommender.load({ model: tampered, storage: "memory" }));
      const version = good.slice();
      version[8] = 99;
      await attempt("version", () => Recommender.load({ model: version, storage: "memory" }));
      await attempt("webgpu", () => Recommender.load({ model: good, backend: "webgpu", storage: "memory" }));
      await attempt("badBackend", () => Recommender.load({ model: good, backend: "tpu", storage: "memory" }));
      const rec = await Recommender.load({ model: good, storage: "memory", backend: "cpu" });
      const id = (await rec.recommend({ k: 1 }))[0].itemId;
      await rec.track({ type: "view", itemId: id });
      await attempt("unknownType", () => rec.track({ type: "click", itemId: id }));
      await attempt("unknownItem", () => rec.track({ type: "view", itemId: "no-such-item" }));
      await attempt("emptySearch", () => rec.track({ type: "search", query: "  " }));
      await attempt("unknownCategory", () => rec.track({ type: "category", category: "hiking/sandals" }));
      await attempt("categoryWithoutPath", () => rec.track({ type: "category", query: "hiking" }));
      await rec.track({ type: "category", category: "hiking/boots" });
      await attempt("badK", () => rec.recommend({ k: 0 }));
      await attempt("badOption", () => rec.recommend({ kk: 3 }));
      // Overlapping calls must not throw.
      await Promise.all([rec.recommend({ k: 5 }), rec.recommend({ k: 5 }), rec.track({ type: "cart", itemId: id })]);
      return { codes, history: (await rec.history()).map((e) => e.type) };
    });
    assert.deepEqual(result.codes, {
      truncated: "Error:MODEL_CORRUPT",
      tampered: "Error:MODEL_CORRUPT",
      version: "Error:MODEL_VERSION",
      webgpu: "Error:BACKEND_UNAVAILABLE",
      badBackend: "Error:INVALID_ARGUMENT",
      unknownType: "Error:BAD_EVENT",
      unknownItem: "Error:UNKNOWN_ITEM",
      emptySearch: "Error:BAD_EVENT",
      unknownCategory: "Error:BAD_EVENT",
      categoryWithoutPath: "Error:BAD_EVENT",
      badK: "Error:INVALID_ARGUMENT",
      badOption: "Error:INVALID_ARGUMENT",
    });
    assert.deepEqual(result.history, ["view", "category", "cart"]);
    assert.deepEqual(b.errors.filter((e) => /panicked|unreachable/.test(e)), [], "no panic may reach JS");
  } finally {
    await b.close();
  }
});

test("a model is read as it downloads: a foreign or overlong stream is refused at once, a cut one is a FETCH error", { timeout: 180_000 }, async () => {
  const model = await readFile(new URL("../../models/demo/model.lrec", import.meta.url));
  const closed = {};
  // Responses that never end unless the page stops reading: a foreign file, the model followed by
  // endless bytes; and the first half of the model, then a dropped connection.
  const handle = (req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    if (!path.startsWith("/stream/")) return false;
    res.on("close", () => (closed[path] = true));
    res.writeHead(200, { "content-type": "application/octet-stream" });
    if (path === "/stream/cut") {
      res.write(model.subarray(0, model.length >> 1), () => setTimeout(() => res.destroy(), 50));
      return true;
    }
    res.write(path === "/stream/foreign" ? Buffer.from("<!doctype html><html>".repeat(100)) : model);
    const drip = setInterval(() => res.write(Buffer.alloc(1024, 7)), 20);
    res.on("close", () => clearInterval(drip));
    return true;
  };
  const b = await open({ serve: { handle } });
  try {
    await b.page.goto(`${b.base}/`);
    await ready(b.page);
    const result = await b.page.evaluate(async () => {
      const { Recommender } = await import("/pkg/localrec.js");
      const attempt = async (model) => {
        try {
          (await Recommender.load({ model, storage: "memory", backend: "cpu" })).free();
          return "no error";
        } catch (e) {
          return `${e.code}: ${e.message}`;
        }
      };
      return {
        foreign: await attempt("/stream/foreign"),
        overlong: await attempt("/stream/overlong"),
        cut: await attempt("/stream/cut"),
        again: await attempt("/models/demo/model.lrec"),
      };
    });
    assert.match(result.foreign, /^MODEL_CORRUPT: .*magic/);
    assert.match(result.overlong, /^MODEL_CORRUPT: .*longer than its length fields/);
    assert.match(result.cut, /^FETCH: /);
    assert.equal(result.again, "no error");
    // The refused downloads were stopped, not left running.
    for (const path of ["/stream/foreign", "/stream/overlong"]) {
      for (let i = 0; i < 50 && !closed[path]; i++) await new Promise((ok) => setTimeout(ok, 100));
      assert.ok(closed[path], `${path} still downloading`);
    }
    assert.deepEqual(b.errors.filter((e) => /panicked|unreachable/.test(e)), [], "no panic may reach JS");
  } finally {
    await b.close();
  }
});

test("worker entry gives the same answers, and blocked IndexedDB falls back to memory", { timeout: 180_000 }, async () => {
  const b = await open();
  try {
    await b.page.goto(`${b.base}/`);
    await ready(b.page);
    const result = await b.page.evaluate(async () => {
      const main = await import("/pkg/localrec.js");
      const { Recommender: WorkerRecommender } = await import("/pkg/worker-client.js");
      const model = "/models/demo/model.lrec";
      const direct = await main.Recommender.load({ model, storage: "memory", backend: "cpu" });
      const worker = await WorkerRecommender.load({ model, storage: "memory", backend: "cpu", namespace: "w" });
      const events = [{ type: "search", query: "trail running shoes" }];
      const first = (await direct.recommend({ k: 3 }))[0].itemId;
      events.push({ type: "view", itemId: first }, { type: "cart", itemId: first });
      for (const e of events) {
        await direct.track(e);
        await worker.track(e);
      }
      const a = await direct.recommend({ k: 8 });
      const [w, w2] = await Promise.all([worker.recommend({ k: 8 }), worker.recommend({ k: 8 })]);
      let workerError = null;
      try {
        await worker.track({ type: "view", itemId: "nope" });
      } catch (e) {
        workerError = e.code;
      }
      const workerHistory = await worker.history();
      await worker.forget();
      const afterForget = await worker.history();
      await worker.free();
      // Blocked storage: IndexedDB throws, the recommender keeps working in memory.
      Object.defineProperty(globalThis, "indexedDB", {
        configurable: true,
        value: { open() { throw new DOMException("blocked", "SecurityError"); } },
      });
      const blocked = await main.Recommender.load({ model, backend: "cpu" });
      await blocked.track({ type: "view", itemId: first });
      return {
        same: JSON.stringify(a) === JSON.stringify(w) && JSON.stringify(w) === JSON.stringify(w2),
        workerBackend: worker.backend,
        workerError,
        workerHistory: workerHistory.map((e) => e.type),
        afterForget: afterForget.length,
        blockedStorage: blocked.storage,
        blockedHistory: (await blocked.history()).length,
      };
    });
    assert.deepEqual(result, {
      same: true,
      workerBackend: "cpu",
      workerError: "UNKNOWN_ITEM",
      workerHistory: ["search", "view", "cart"],
      afterForget: 0,
      blockedStorage: "memory",
      blockedHistory: 1,
    });
  } finally {
    await b.close();
  }
});

test("the history's cap and retention hold in IndexedDB as in memory, on every call", { timeout: 180_000 }, async () => {
  const b = await open();
  try {
    await b.page.goto(`${b.base}/tests/blank.html`);
    const result = await b.page.evaluate(async () => {
      const { Recommender } = await import("/pkg/localrec.js");
      const options = { model: "/models/demo/model.lrec", backend: "cpu", namespace: "cap", maxEvents: 3, retentionDays: 30 };
      const ids = ["sku-0001", "sku-0002", "sku-0003", "sku-0004", "sku-0005", "sku-0006"];
      const seen = async (r) => (await r.history()).map((e) => e.itemId);
      const rec = await Recommender.load(options);
      for (const id of ids.slice(0, 5)) await rec.track({ type: "view", itemId: id });
      const capped = await seen(rec);
      // Older than the retention: kept by neither the history nor the store.
      await rec.track({ type: "view", itemId: ids[5], ts: Date.now() - 40 * 86_400_000 });
      const afterExpired = await seen(rec);
      rec.free();
      const again = await Recommender.load(options);
      const reloaded = await seen(again);
      const storage = again.storage;
      await again.forget();
      again.free();
      const wiped = await Recommender.load(options);
      const afterForget = await seen(wiped);
      wiped.free();
      return { capped, afterExpired, reloaded, storage, afterForget };
    });
    assert.deepEqual(result, {
      capped: ["sku-0003", "sku-0004", "sku-0005"],
      afterExpired: ["sku-0003", "sku-0004", "sku-0005"],
      reloaded: ["sku-0003", "sku-0004", "sku-0005"],
      storage: "indexeddb",
      afterForget: [],
    });
  } finally {
    await b.close();
  }
});
