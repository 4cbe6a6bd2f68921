// Static server for the browser benchmarks, 127.0.0.1 only: the npm package (/pkg/), the shipped
// models (/models/), the benchmark page (/bench/), onnxruntime-web's dist (/ort/) and the generated
// benchmark models (/bench-models/). Same Content-Security-Policy as scripts/serve.mjs, plus
// cross-origin isolation so that performance.now() has 5 µs resolution instead of 100 µs.
// Files are streamed (the 1M-item ONNX file is 256 MB); no caching. No compression, unless started
// with { gzip: true } (the slow-network rows: what a CDN sends, files of at most 64 MB, each
// compressed once).
import { createServer } from "node:http";
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CSP, MIME_TYPES } from "../scripts/serve.mjs";

const benches = resolve(fileURLToPath(new URL(".", import.meta.url)));
const root = resolve(benches, "..");
const mounts = [
  ["/pkg/", join(root, "pkg")],
  ["/models/", join(root, "models")],
  ["/bench/", join(benches, "browser")],
  ["/ort/", join(benches, "node_modules", "onnxruntime-web", "dist")],
  ["/bench-models/", join(benches, "models")],
];
const types = { ...MIME_TYPES, ".onnx": "application/octet-stream" };

const GZIP_MAX = 64 << 20;
const gzipped = new Map();

export function startBenchServer(port = 0, host = "127.0.0.1", { gzip = false } = {}) {
  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url, "http://localhost");
      let path = decodeURIComponent(url.pathname);
      if (path.endsWith("/")) path += "index.html";
      const mount = mounts.find(([p]) => path.startsWith(p));
      if (!mount) throw Object.assign(new Error("no mount"), { code: "ENOENT" });
      const [prefix, dir] = mount;
      const file = normalize(join(dir, path.slice(prefix.length)));
      if (!file.startsWith(dir)) throw Object.assign(new Error("outside"), { code: "ENOENT" });
      const st = await stat(file);
      if (!st.isFile()) throw Object.assign(new Error("dir"), { code: "ENOENT" });
      const compress = gzip && st.size <= GZIP_MAX && /\bgzip\b/.test(req.headers["accept-encoding"] || "");
      let body = null;
      if (compress) {
        const key = `${file} ${st.mtimeMs}`;
        if (!gzipped.has(key)) gzipped.set(key, gzipSync(await readFile(file), { level: 9 }));
        body = gzipped.get(key);
      }
      res.writeHead(200, {
        "content-type": types[extname(file)] || "application/octet-stream",
        "content-length": body ? body.length : st.size,
        ...(body ? { "content-encoding": "gzip" } : {}),
        "content-security-policy": CSP,
        "cross-origin-opener-policy": "same-origin",
        "cross-origin-embedder-policy": "require-corp",
        "cross-origin-resource-policy": "same-origin",
        "cache-control": "no-store",
        "x-content-type-options": "nosniff",
      });
      if (req.method === "HEAD") return res.end();
      if (body) return res.end(body);
      createReadStream(file).pipe(res);
    } catch (e) {
      const missing = e.code === "ENOENT" || e.code === "ENOTDIR";
      res.writeHead(missing ? 404 : 500, { "content-type": "text/plain" });
      res.end(missing ? "not found\n" : "error\n");
    }
  });
  return new Promise((ok) => server.listen(port, host, () => ok(server)));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const server = await startBenchServer(Number(process.env.PORT || 8081));
  console.log(`benchmark server on http://127.0.0.1:${server.address().port}/bench/`);
}
