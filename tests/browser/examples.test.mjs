// The example apps under examples/, each installed as a new user would: `npm ci` with the
// tarball that `npm pack` makes from pkg/ (examples/localrec.tgz; the lock files name it without
// an integrity hash, so npm reads the fresh tarball, never a cached older one), built with its
// bundler's normal command, served, and opened in headless Chromium. Each page loads the demo
// model, tracks the same three events on the main thread and in the Web Worker, and lists the
// recommendations of both; the test checks them against each other and that no request the page
// makes carries a tracked item or query.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { copyFile, mkdir, readFile, rename, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { open } from "./helpers.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));
const examples = `${root}examples/`;
const model = `${root}models/demo/model.lrec`;

/** Runs a command in an example's folder; fails the test with its output if it fails. */
function run(dir, cmd, args, env = {}) {
  const out = spawnSync(cmd, args, {
    cwd: `${examples}${dir}`,
    encoding: "utf8",
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1", ...env },
    timeout: 600_000,
  });
  assert.equal(out.status, 0, `${dir}: ${cmd} ${args.join(" ")} failed:\n${out.stdout}\n${out.stderr}`);
  return out.stdout;
}

async function freePort() {
  const srv = createServer();
  await new Promise((ok) => srv.listen(0, "127.0.0.1", ok));
  const { port } = srv.address();
  await new Promise((ok) => srv.close(ok));
  return port;
}

/** Starts a framework's own server and waits until it answers. */
async function serve(dir, cmd, args, port) {
  const child = spawn(cmd, args, {
    cwd: `${examples}${dir}`,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1", PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`${dir}: ${cmd} ${args.join(" ")} exited:\n${log}`);
    try {
      if ((await fetch(`${base}/`)).ok) return { base, stop: () => process.kill(-child.pid, "SIGTERM"), log: () => log };
    } catch {
      // not listening yet
    }
    await new Promise((ok) => setTimeout(ok, 100));
  }
  process.kill(-child.pid, "SIGTERM");
  throw new Error(`${dir}: server did not answer within 60 s:\n${log}`);
}

/** Installs an example from the tarball and puts the shop's model where the page fetches it
 * (once per example and run: several tests share the Vite and Next.js installs). */
const installs = new Map();
function install(dir) {
  if (!installs.has(dir)) installs.set(dir, installOnce(dir));
  return installs.get(dir);
}

async function installOnce(dir) {
  run(dir, "npm", ["ci", "--no-audit", "--no-fund"]);
  const installed = JSON.parse(await readFile(`${examples}${dir}/node_modules/localrec/package.json`, "utf8"));
  const packed = JSON.parse(await readFile(`${root}pkg/package.json`, "utf8"));
  assert.equal(installed.version, packed.version, "the example must run the package just packed");
  await mkdir(`${examples}${dir}/public`, { recursive: true });
  await copyFile(model, `${examples}${dir}/public/model.lrec`);
}

/** Opens the page and checks what every example must show. */
async function check(openOptions, path = "/") {
  const b = await open(openOptions);
  try {
    await b.page.goto(`${b.base}${path}`);
    await b.page.waitForSelector('#status[data-state="ready"], #status[data-state="error"]', { timeout: 120_000 });
    assert.equal(await b.page.getAttribute("#status", "data-state"), "ready", await b.page.textContent("#status"));
    const ids = (sel) => b.page.$$eval(`${sel} li`, (els) => els.map((e) => e.dataset.itemId));
    const main = await ids("#recs");
    const worker = await ids("#worker-recs");
    assert.equal(main.length, 8);
    assert.deepEqual(worker, main, "the worker answers as the main thread does");
    assert.ok(!main.includes("sku-0001"), "the carted item is not recommended again");
    assert.equal(await b.page.textContent("#history"), "search view cart");
    assert.deepEqual(b.errors, []);
    for (const r of b.requests) {
      assert.ok(r.url.startsWith(`${b.base}/`), `request to another origin: ${r.url}`);
      const all = JSON.stringify(r);
      assert.ok(!all.includes("sku-0001") && !/trail|running/.test(all), `a request carries tracked behaviour: ${r.url}`);
    }
    // One bundle is downloaded (the page and the worker may each fetch it): the CPU one, where
    // the bundler keeps the file's name (webpack names assets by hash only).
    const wasm = [...new Set(b.requests.filter((r) => /\.wasm(\?|$)/.test(r.url)).map((r) => r.url))];
    assert.equal(wasm.length, 1, `one wasm bundle: ${wasm}`);
    assert.doesNotMatch(wasm[0], /webgpu/, "without a hardware adapter the CPU bundle runs");
    return b.requests;
  } finally {
    await b.close();
  }
}

let packed;
before(async () => {
  // The tarball a user would install (npm pack of the built package).
  await rm(`${examples}localrec.tgz`, { force: true });
  const out = spawnSync("npm", ["pack", "../pkg", "--json"], { cwd: examples, encoding: "utf8" });
  assert.equal(out.status, 0, out.stderr);
  [packed] = JSON.parse(out.stdout);
  await rename(`${examples}${packed.filename}`, `${examples}localrec.tgz`);
});

test("the tarball holds only what the package needs, with licences and an npm README", async () => {
  const files = packed.files.map((f) => f.path).sort();
  const snippets = files.filter((f) => f.startsWith("snippets/"));
  assert.deepEqual(snippets.map((f) => f.replace(/localrec-[0-9a-f]+/, "localrec-H")), ["snippets/localrec-H/js/host.js"]);
  assert.deepEqual(files.filter((f) => !f.startsWith("snippets/")), [
    "LICENSE-APACHE", "LICENSE-MIT", "README.md",
    "ga4.d.ts", "ga4.js",
    "localrec.d.ts", "localrec.js",
    "localrec_cpu.d.ts", "localrec_cpu.js", "localrec_cpu_bg.wasm", "localrec_cpu_bg.wasm.d.ts",
    "localrec_webgpu.d.ts", "localrec_webgpu.js", "localrec_webgpu_bg.wasm", "localrec_webgpu_bg.wasm.d.ts",
    "package.json", "shopify.d.ts", "shopify.js", "tracker.js",
    "worker-client.d.ts", "worker-client.js", "worker.js",
  ]);
  const cargo = (await readFile(`${root}Cargo.toml`, "utf8")).match(/^version = "([^"]+)"/m)[1];
  assert.equal(packed.version, cargo);
  const pkg = JSON.parse(await readFile(`${root}pkg/package.json`, "utf8"));
  // Only worker.js runs code on import (it installs the worker's message handler).
  assert.deepEqual(pkg.sideEffects, ["./worker.js"]);
  const readme = await readFile(`${root}pkg/README.md`, "utf8");
  assert.match(readme, /npm install localrec/);
  assert.doesNotMatch(readme, /make (test|demo)|cargo /, "the npm README is for shop developers, not contributors");
});

const serveDist = (dir, out = "dist") => ({
  serve: { csp: false, mounts: [["/", `${examples}${dir}/${out}`], ["/", `${examples}${dir}/public`]] },
});

describe("example apps", { concurrency: false, timeout: 1_200_000 }, () => {
  test("vite: dev server and production build", async () => {
    await install("vite");
    const port = await freePort();
    const dev = await serve("vite", "node_modules/.bin/vite", ["--port", String(port), "--strictPort", "--host", "127.0.0.1"], port);
    try {
      await check({ base: dev.base });
    } finally {
      dev.stop();
    }
    run("vite", "npm", ["run", "build"]);
    await check(serveDist("vite"));
  });

  test("webpack 5", async () => {
    await install("webpack");
    run("webpack", "npm", ["run", "build"]);
    await check(serveDist("webpack"));
  });

  test("esbuild (file loader + wasmUrl, worker as an entry point)", async () => {
    await install("esbuild");
    run("esbuild", "npm", ["run", "build"]);
    await check(serveDist("esbuild"));
    // The same app as an iife (no import.meta): the worker cannot be found, and says why.
    run("esbuild", process.execPath, [
      "-e",
      `require("esbuild").buildSync({ entryPoints: ["src/main.js"], bundle: true, format: "iife", outdir: "dist-iife",
         loader: { ".wasm": "file" }, publicPath: "/", logLevel: "error" })`,
    ]);
    const b = await open(serveDist("esbuild", "dist-iife"));
    try {
      await b.page.goto(`${b.base}/`);
      await b.page.waitForSelector('#status[data-state="error"]', { timeout: 60_000 });
      assert.match(await b.page.textContent("#status"), /^BACKEND_UNAVAILABLE: .*no import\.meta\.url.*format "esm"/);
    } finally {
      await b.close();
    }
  });

  test("Rollup (node-resolve + import-meta-assets, worker as an input)", async () => {
    await install("rollup");
    run("rollup", "npm", ["run", "build"]);
    await check(serveDist("rollup"));
  });

  test("a plain page with an import map, no bundler", async () => {
    await install("importmap");
    await check({ serve: { csp: false, mounts: [["/", `${examples}importmap`], ["/", `${examples}importmap/public`]] } });
  });

  for (const bundler of ["turbopack", "webpack"]) {
    test(`Next.js App Router (${bundler}): prerendered, client component, next start`, async () => {
      await install("next");
      run("next", "node_modules/.bin/next", bundler === "webpack" ? ["build", "--webpack"] : ["build"]);
      const port = await freePort();
      const server = await serve("next", "node_modules/.bin/next", ["start", "-p", String(port), "-H", "127.0.0.1"], port);
      try {
        // The server rendered the page without touching localrec; the browser then loads it.
        const html = await (await fetch(`${server.base}/`)).text();
        assert.match(html, /id="status" data-state="loading"/);
        await check({ base: server.base });
      } finally {
        server.stop();
      }
      assert.doesNotMatch(server.log(), /error|localrec/i, "the server must not log errors");
    });
  }

  test("on a server (Node.js), importing works and load() says it needs a browser", async () => {
    await install("vite");
    const pkg = `${examples}vite/node_modules/localrec/`;
    for (const entry of ["localrec.js", "worker-client.js"]) {
      const { Recommender } = await import(`${pkg}${entry}`);
      await assert.rejects(Recommender.load({ model: "/model.lrec" }), (e) => {
        assert.equal(e.code, "BACKEND_UNAVAILABLE");
        assert.match(e.message, /browser/);
        return true;
      });
    }
    const { default: init } = await import(`${pkg}localrec.js`);
    await assert.rejects(init("cpu"), { code: "BACKEND_UNAVAILABLE" });
  });
});
