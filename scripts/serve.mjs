// Static file server for the demo storefront and the browser tests: 127.0.0.1 only, no logging of
// request bodies, strict Content-Security-Policy. Serves www/ at / and the npm package at /pkg/
// and the shipped models at /models/.
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(fileURLToPath(new URL("..", import.meta.url)));
export const DEMO_MOUNTS = [
  ["/pkg/", join(root, "pkg")],
  ["/models/", join(root, "models")],
  ["/tests/", join(root, "tests", "browser", "pages")],
  ["/", join(root, "www")],
];
export const MIME_TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".lrec": "application/octet-stream",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ts": "text/plain; charset=utf-8",
};
export const CSP =
  "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; " +
  "connect-src 'self'; img-src 'self' data:; style-src 'self'; object-src 'none'; base-uri 'none'";

/** A content-addressed catalogue shard (`localrec shard`): `shards/<sha256>.lrec`. */
const SHARD_FILE = /\/shards\/[0-9a-f]{64}\.lrec$/;

/** The file a path names: the first mount whose prefix matches and that holds the file. */
async function find(path, table) {
  for (const [prefix, dir] of table) {
    if (!path.startsWith(prefix)) continue;
    const file = normalize(join(dir, path.slice(prefix.length)));
    if (!file.startsWith(dir)) continue;
    try {
      if ((await stat(file)).isFile()) return file;
    } catch {
      // not in this mount: try the next
    }
  }
  throw Object.assign(new Error("not found"), { code: "ENOENT" });
}

/**
 * Serves `table` ([[url prefix, folder]], first match holding the file wins; default: the demo's
 * mounts above) with the strict CSP unless `csp: false`.
 */
/** `handle(req, res)`, when given, sees each request first and returns true for those it answered
 * itself (the browser tests' misbehaving responses). */
export function startServer(port = 0, host = "127.0.0.1", { mounts: table = DEMO_MOUNTS, csp = true, handle } = {}) {
  table = table.map(([p, d]) => [p, resolve(d)]);
  const server = createServer(async (req, res) => {
    if (handle && handle(req, res)) return;
    try {
      const url = new URL(req.url, "http://localhost");
      let path = decodeURIComponent(url.pathname);
      if (path.endsWith("/")) path += "index.html";
      const file = await find(path, table);
      const body = await readFile(file);
      res.writeHead(200, {
        "content-type": MIME_TYPES[extname(file)] || "application/octet-stream",
        ...(csp ? { "content-security-policy": CSP } : {}),
        // A catalogue shard is named by its SHA-256: its bytes never change, so it is cached for
        // good and a model update downloads only the shards that changed.
        "cache-control": SHARD_FILE.test(path) ? "public, max-age=31536000, immutable" : "no-cache",
        "x-content-type-options": "nosniff",
      });
      res.end(req.method === "HEAD" ? undefined : body);
    } catch (e) {
      res.writeHead(e.code === "ENOENT" || e.code === "ENOTDIR" ? 404 : 500, { "content-type": "text/plain" });
      res.end(e.code === "ENOENT" || e.code === "ENOTDIR" ? "not found\n" : "error\n");
    }
  });
  return new Promise((ok) => server.listen(port, host, () => ok(server)));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const port = Number(process.env.PORT || 8080);
  const server = await startServer(port);
  console.log(`localrec demo on http://127.0.0.1:${server.address().port}/ (Ctrl-C to stop)`);
}
