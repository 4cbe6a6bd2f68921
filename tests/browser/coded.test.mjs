// A model whose item table is residual-quantisation codes (format version 4, `rqM`: the most
// popular items whole, every other item a few one-byte codes) loads and ranks in the browser as it
// does natively, on the CPU and WebGPU bundles alike.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { DEMO_MOUNTS } from "../../scripts/serve.mjs";
import { open } from "./helpers.mjs";

const HISTORY = ["item-5", "item-900", "item-2500"];
let dir;
let native;
before(async () => {
  const bin = process.env.LOCALREC_BIN ?? join(homedir(), ".cache/localrec/target/release/localrec");
  dir = await mkdtemp(join(tmpdir(), "localrec-coded-"));
  const model = join(dir, "model.lrec");
  execFileSync(bin, [
    "random-model", "--items", "3000", "--d-model", "32", "--layers", "1",
    "--item-table", "rq4", "--exact-head", "300", "--out", model,
  ], { stdio: "pipe" });
  // `localrec recommend` tracks its history as purchases.
  const out = execFileSync(bin, ["recommend", "--model", model, "--history", HISTORY.join(","), "-k", "10"]);
  native = out.toString("utf8").trim().split("\n").map((line) => JSON.parse(line));
});
after(() => rm(dir, { recursive: true, force: true }));

for (const webgpu of [false, true]) {
  const backend = webgpu ? "webgpu" : "cpu";
  test(`a coded item table ranks on wasm ${backend} as natively`, { timeout: 180_000 }, async () => {
    const b = await open({ webgpu, serve: { mounts: [["/coded/", dir], ...DEMO_MOUNTS] } });
    try {
      await b.page.goto(`${b.base}/tests/blank.html`);
      const got = await b.page.evaluate(async ({ history, backend }) => {
        const { Recommender } = await import("/pkg/localrec.js");
        const rec = await Recommender.load({ model: "/coded/model.lrec", backend, storage: "memory" });
        for (const itemId of history) await rec.track({ type: "purchase", itemId });
        const top = await rec.recommend({ k: 10 });
        const out = { model: rec.model, backend: rec.backend, top };
        rec.free();
        return out;
      }, { history: HISTORY, backend });
      assert.equal(got.backend, backend);
      // Residual codes need version 4; every file is written as 7.
      assert.equal(got.model.version, 7);
      assert.equal(got.model.itemTable, "rq4");
      assert.equal(got.model.items, 3000);
      assert.deepEqual(got.top.map((r) => r.itemId), native.map((r) => r.itemId));
      got.top.forEach((r, i) => assert.ok(Math.abs(r.score - native[i].score) < 1e-3, `${r.score} vs ${native[i].score}`));
      assert.deepEqual(b.errors, []);
    } finally {
      await b.close();
    }
  });
}
