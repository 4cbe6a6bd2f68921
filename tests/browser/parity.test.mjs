// The shipped models give the same top-10 in the browser (wasm CPU and WebGPU) as natively
// (models/*/golden.json, checked natively by tests/shipped_models.rs).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { open, ready } from "./helpers.mjs";

const golden = {};
for (const name of ["demo", "beauty"]) {
  golden[name] = JSON.parse(await readFile(new URL(`../../models/${name}/golden.json`, import.meta.url), "utf8"));
}

/** Same ids in the same order, except where neighbouring scores tie within float tolerance. */
function sameTop10(got, want, label) {
  assert.equal(got.length, want.top10.length, label);
  for (let i = 0; i < got.length; i++) {
    if (got[i].itemId !== want.top10[i]) {
      assert.ok(
        Math.abs(got[i].score - want.scores[i]) < 1e-3 && want.top10.includes(got[i].itemId),
        `${label}: position ${i} is ${got[i].itemId} (${got[i].score}), golden ${want.top10[i]} (${want.scores[i]})`,
      );
    }
    assert.ok(Math.abs(got[i].score - want.scores[i]) < 1e-3, `${label}: score ${got[i].score} vs ${want.scores[i]}`);
  }
}

for (const webgpu of [false, true]) {
  const backend = webgpu ? "webgpu" : "cpu";
  test(`golden top-10 on wasm ${backend}`, { timeout: 300_000 }, async () => {
    const b = await open({ webgpu });
    try {
      await b.page.goto(`${b.base}/`);
      await ready(b.page);
      const results = await b.page.evaluate(
        async ({ golden, backend }) => {
          const { Recommender } = await import("/pkg/localrec.js");
          const out = {};
          for (const [name, cases] of Object.entries(golden)) {
            const rec = await Recommender.load({ model: `/models/${name}/model.lrec`, backend, storage: "memory" });
            out[name] = { backend: rec.backend, lists: [] };
            for (const c of cases) {
              await rec.forget();
              for (const e of c.history) {
                const { ts, ...event } = e;
                await rec.track(event);
              }
              out[name].lists.push(await rec.recommend({ k: 10 }));
            }
            rec.free();
          }
          return out;
        },
        { golden, backend },
      );
      for (const [name, cases] of Object.entries(golden)) {
        assert.equal(results[name].backend, backend);
        cases.forEach((c, i) => sameTop10(results[name].lists[i], c, `${name} case ${i} on ${backend}`));
      }
    } finally {
      await b.close();
    }
  });
}
