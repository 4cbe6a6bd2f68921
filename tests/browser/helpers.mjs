// Shared set-up for the browser tests: the static server and a headless Debian Chromium driven
// by playwright-core (never a downloaded browser).
import { chromium } from "playwright-core";
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startServer } from "../../scripts/serve.mjs";
import { CHROMIUM, CHROMIUM_ARGS } from "../../scripts/chromium.mjs";

export { CHROMIUM };
const BASE_ARGS = CHROMIUM_ARGS;

/**
 * Starts the server and a browser; `webgpu` adds --enable-unsafe-webgpu (SwiftShader adapter).
 * `serve` is passed to startServer (`{ mounts, csp }`); `base` instead uses a server that is
 * already running there (a framework's own).
 */
export async function open({ webgpu = false, serve = {}, base: external } = {}) {
  const server = external ? null : await startServer(0, "127.0.0.1", serve);
  const base = external ?? `http://127.0.0.1:${server.address().port}`;
  // What actually reached the server, independent of what the browser reports.
  const served = [];
  server?.on("request", (req) => served.push({ url: req.url, method: req.method, headers: req.headers }));
  const profile = await mkdtemp(join(tmpdir(), "localrec-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: webgpu ? [...BASE_ARGS, "--enable-unsafe-webgpu"] : BASE_ARGS,
  });
  const requests = [];
  const errors = [];
  context.on("request", (r) =>
    requests.push({ url: r.url(), method: r.method(), headers: r.headers(), body: r.postData() }),
  );
  context.on("weberror", (e) => errors.push(String(e.error())));
  const page = context.pages()[0] || (await context.newPage());
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(String(e)));
  return {
    base,
    page,
    context,
    requests,
    served,
    errors,
    async close() {
      await context.close();
      server?.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Waits for the demo page to finish loading (or fail). */
export async function ready(page) {
  await page.waitForSelector('#status[data-state="ready"], #status[data-state="error"]', { timeout: 120_000 });
  const state = await page.getAttribute("#status", "data-state");
  if (state !== "ready") throw new Error(await page.textContent("#status"));
}

/**
 * The demo model split by `localrec shard` (the binary `make test-native` builds;
 * LOCALREC_BIN overrides) into a core of `coreItems` items and shards of at most 40, in a
 * temporary folder: `{ dir, index, remove }`, `index` being the core's manifest (its header's
 * `shards`: `{ total_items, shards: [{ category, sha256, items, bytes }] }`).
 */
export async function splitDemoModel(coreItems = 300) {
  const root = fileURLToPath(new URL("../..", import.meta.url));
  const bin = process.env.LOCALREC_BIN ?? join(homedir(), ".cache/localrec/target/release/localrec");
  const dir = await mkdtemp(join(tmpdir(), "localrec-shards-"));
  execFileSync(bin, [
    "shard", "--model", join(root, "models/demo/model.lrec"),
    "--core-items", String(coreItems), "--shard-items", "40", "--out", dir,
  ], { stdio: "pipe" });
  // The core's JSON header: bytes 20.. after magic, version and its length.
  const core = await readFile(join(dir, "model.lrec"));
  const index = JSON.parse(core.subarray(20, 20 + Number(core.readBigUInt64LE(12))).toString("utf8")).shards;
  return { dir, index, remove: () => rm(dir, { recursive: true, force: true }) };
}
