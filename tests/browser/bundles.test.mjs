// The package ships two wasm bundles and downloads only the one the page can use: the CPU-only
// bundle where there is no WebGPU adapter (or the page asks for the CPU), the WebGPU bundle
// otherwise. Both rank the same history the same way.
import { test } from "node:test";
import assert from "node:assert/strict";
import { open } from "./helpers.mjs";

const downloaded = (requests, name) => requests.some((r) => r.url.includes(`/pkg/${name}`));

async function loadIn(page, options) {
  return page.evaluate(async (options) => {
    const { Recommender } = await import("/pkg/localrec.js");
    try {
      const rec = await Recommender.load({ model: "/models/demo/model.lrec", storage: "memory", ...options });
      await rec.track({ type: "search", query: "trail running shoes" });
      await rec.track({ type: "view", itemId: "sku-0001" });
      const top = (await rec.recommend({ k: 10 })).map((r) => r.itemId);
      const out = { bundle: rec.bundle, backend: rec.backend, top, timings: rec.lastTimings };
      rec.free();
      return out;
    } catch (e) {
      return { code: e.code, message: e.message };
    }
  }, options);
}

test("without WebGPU only the CPU bundle is downloaded", { timeout: 180_000 }, async () => {
  const b = await open({ webgpu: false });
  try {
    await b.page.goto(`${b.base}/tests/blank.html`);
    const auto = await loadIn(b.page, {});
    assert.equal(auto.bundle, "cpu");
    assert.equal(auto.backend, "cpu");
    assert.equal(auto.top.length, 10);
    const t = auto.timings;
    assert.equal(t.events, 2);
    assert.ok(t.forwardMs >= 0 && t.rankMs >= 0 && t.totalMs >= t.forwardMs, JSON.stringify(t));
    const parts = [t.scoringMs, t.topKMs, t.reasonsMs];
    assert.ok(parts.every((x) => x >= 0) && parts.reduce((a, b) => a + b) <= t.rankMs + 1e-6, JSON.stringify(t));
    const gpu = await loadIn(b.page, { backend: "webgpu" });
    assert.equal(gpu.code, "BACKEND_UNAVAILABLE", JSON.stringify(gpu));
    assert.match(gpu.message, /no WebGPU adapter/);
    assert.ok(downloaded(b.requests, "localrec_cpu_bg.wasm"));
    assert.ok(!downloaded(b.requests, "localrec_webgpu"), "the WebGPU bundle must not be fetched");
    assert.deepEqual(b.errors, []);
  } finally {
    await b.close();
  }
});

test("with WebGPU the WebGPU bundle runs, and both bundles agree", { timeout: 180_000 }, async () => {
  const b = await open({ webgpu: true });
  try {
    await b.page.goto(`${b.base}/tests/blank.html`);
    const gpu = await loadIn(b.page, { backend: "webgpu" });
    assert.equal(gpu.bundle, "webgpu");
    assert.equal(gpu.backend, "webgpu");
    assert.ok(!downloaded(b.requests, "localrec_cpu"), "a WebGPU backend needs no CPU bundle");
    const cpu = await loadIn(b.page, { backend: "cpu" });
    assert.equal(cpu.bundle, "cpu");
    assert.equal(cpu.backend, "cpu");
    assert.deepEqual(cpu.top, gpu.top);
    assert.deepEqual(b.errors, []);
  } finally {
    await b.close();
  }
});

test("auto never picks a software adapter: on SwiftShader it runs the CPU bundle", { timeout: 180_000 }, async () => {
  const b = await open({ webgpu: true });
  try {
    await b.page.goto(`${b.base}/tests/blank.html`);
    const info = await b.page.evaluate(async () => {
      const adapter = await navigator.gpu.requestAdapter();
      return { fallback: adapter.info.isFallbackAdapter, architecture: adapter.info.architecture };
    });
    assert.ok(info.fallback || /swiftshader/i.test(info.architecture), JSON.stringify(info));
    const auto = await loadIn(b.page, {});
    assert.equal(auto.bundle, "cpu", JSON.stringify(auto));
    assert.equal(auto.backend, "cpu");
    assert.ok(!downloaded(b.requests, "localrec_webgpu"), "auto on a software adapter must not fetch the WebGPU bundle");
  } finally {
    await b.close();
  }
});

test("the WebGPU adapter is asked for once per page, and a CPU worker never fetches the WebGPU bundle", { timeout: 180_000 }, async () => {
  const b = await open({ webgpu: true });
  try {
    await b.page.goto(`${b.base}/tests/blank.html`);
    const result = await b.page.evaluate(async () => {
      const gpu = navigator.gpu;
      const request = gpu.requestAdapter.bind(gpu);
      let requests = 0;
      gpu.requestAdapter = (...args) => {
        requests += 1;
        return request(...args);
      };
      const { Recommender } = await import("/pkg/localrec.js");
      const options = { model: "/models/demo/model.lrec", storage: "memory", backend: "webgpu" };
      const first = await Recommender.load(options);
      const afterFirst = requests;
      const second = await Recommender.load(options);
      const out = { backends: [first.backend, second.backend], afterFirst, afterSecond: requests };
      first.free();
      second.free();
      return out;
    });
    // One request to choose the bundle, one by burn's wgpu to create its device; none after.
    assert.deepEqual(result, { backends: ["webgpu", "webgpu"], afterFirst: 2, afterSecond: 2 });
  } finally {
    await b.close();
  }
  const w = await open({ webgpu: true });
  try {
    await w.page.goto(`${w.base}/tests/blank.html`);
    const backend = await w.page.evaluate(async () => {
      const { Recommender } = await import("/pkg/worker-client.js");
      const rec = await Recommender.load({ model: "/models/demo/model.lrec", storage: "memory", backend: "cpu" });
      await rec.track({ type: "view", itemId: "sku-0001" });
      const top = await rec.recommend({ k: 3 });
      await rec.free();
      return top.length === 3 ? rec.backend : "no answer";
    });
    assert.equal(backend, "cpu");
    const fetched = w.served.map((r) => r.url);
    assert.ok(fetched.some((u) => u.includes("localrec_cpu_bg.wasm")), fetched.join("\n"));
    assert.ok(!fetched.some((u) => u.includes("localrec_webgpu")), "a CPU worker must not fetch the WebGPU bundle");
  } finally {
    await w.close();
  }
});

test("wasm from another place (assetsBase), worker parity, and a worker that cannot start says so", { timeout: 180_000 }, async () => {
  const b = await open();
  try {
    // A "CDN" path that serves the package's wasm files; /pkg/*.wasm itself must not be fetched.
    await b.context.route("**/cdn/*.wasm", (route) =>
      route.fulfill({ path: `pkg/${new URL(route.request().url()).pathname.split("/").pop()}`, contentType: "application/wasm" }),
    );
    await b.page.goto(`${b.base}/tests/blank.html`);
    const result = await b.page.evaluate(async (base) => {
      const { Recommender } = await import("/pkg/localrec.js");
      const model = "/models/demo/model.lrec";
      const rec = await Recommender.load({ model, storage: "memory", backend: "cpu", assetsBase: `${base}/cdn/` });
      const top = (await rec.recommend({ k: 3 })).length;
      rec.free();
      return { top };
    }, b.base);
    // A fresh page (no bundle compiled yet) pointed at a place without the files.
    await b.page.goto(`${b.base}/tests/blank.html`);
    result.missing = await b.page.evaluate(async (base) => {
      const { Recommender } = await import("/pkg/localrec.js");
      try {
        await Recommender.load({ model: "/models/demo/model.lrec", storage: "memory", backend: "cpu", assetsBase: `${base}/nowhere/` });
        return null;
      } catch (e) {
        return { code: e.code, message: e.message };
      }
    }, b.base);
    assert.equal(result.top, 3);
    const wasm = b.requests.map((r) => new URL(r.url).pathname).filter((p) => p.endsWith(".wasm"));
    assert.ok(wasm.includes("/cdn/localrec_cpu_bg.wasm"), wasm.join(" "));
    assert.ok(!wasm.includes("/pkg/localrec_cpu_bg.wasm"), "assetsBase replaces the default location");
    assert.equal(result.missing?.code, "BACKEND_UNAVAILABLE", JSON.stringify(result.missing));
    assert.match(result.missing.message, /nowhere\/localrec_cpu_bg\.wasm/);

    const worker = await b.page.evaluate(async () => {
      const { Recommender } = await import("/pkg/worker-client.js");
      const rec = await Recommender.load({ model: "/models/demo/model.lrec", storage: "memory", backend: "cpu" });
      await rec.track({ type: "view", itemId: "sku-0001" });
      await rec.recommend({ k: 4 });
      const out = { bundle: rec.bundle, timings: rec.lastTimings };
      await rec.free();
      return out;
    });
    assert.equal(worker.bundle, "cpu");
    assert.equal(worker.timings.events, 1);
    assert.ok(worker.timings.totalMs >= worker.timings.forwardMs, JSON.stringify(worker.timings));

    await b.context.route("**/pkg/worker.js", (route) => route.fulfill({ status: 404, body: "not found" }));
    const failed = await b.page.evaluate(async () => {
      const { Recommender } = await import("/pkg/worker-client.js");
      try {
        await Recommender.load({ model: "/models/demo/model.lrec", storage: "memory" });
        return null;
      } catch (e) {
        return { code: e.code, message: e.message };
      }
    });
    assert.equal(failed?.code, "BACKEND_UNAVAILABLE", JSON.stringify(failed));
    assert.match(failed.message, /worker\.js, as your bundler emitted it\) could not be loaded/);
  } finally {
    await b.close();
  }
});

test("without WebAssembly SIMD, load() refuses with BACKEND_UNAVAILABLE and says why", { timeout: 120_000 }, async () => {
  const b = await open();
  try {
    // A browser without wasm SIMD: the package's SIMD probe does not validate.
    await b.context.addInitScript(() => {
      const validate = WebAssembly.validate;
      WebAssembly.validate = (bytes) => (bytes.length === 31 ? false : validate(bytes));
    });
    await b.page.goto(`${b.base}/tests/blank.html`);
    const result = await loadIn(b.page, { backend: "cpu" });
    assert.equal(result.code, "BACKEND_UNAVAILABLE", JSON.stringify(result));
    assert.match(result.message, /SIMD/);
    assert.ok(!downloaded(b.requests, "localrec_cpu_bg.wasm"), "nothing is downloaded that cannot run");
  } finally {
    await b.close();
  }
});
