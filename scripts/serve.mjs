// Static file server for the demo storefront and the browser tests: 127.0.0.1 only, no logging of
// request bodies, strict Content-Security-Policy. Serves www/ at / and the npm package at /pkg/
// and the shipped models at /models/.
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(fileURLToPath(new URL("..", import.meta.url)));
const mounts = [
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

export function startServer(port = 0, host = "127.0.0.1") {
  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url, "http://localhost");
      let path = decodeURIComponent(url.pathname);
      if (path.endsWith("/")) path += "index.html";
      const [prefix, dir] = mounts.find(([p]) => path.startsWith(p));
      const file = normalize(join(dir, path.slice(prefix.length)));
      if (!file.startsWith(dir)) throw Object.assign(new Error("outside"), { code: "ENOENT" });
      if (!(await stat(file)).isFile()) throw Object.assign(new Error("dir"), { code: "ENOENT" });
      const body = await readFile(file);
      res.writeHead(200, {
        "content-type": MIME_TYPES[extname(file)] || "application/octet-stream",
        "content-security-policy": CSP,
        "cache-control": "no-cache",
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
