// Refreshes the lock file of each example under examples/ (after changing its package.json) so
// that it names the localrec tarball without an integrity hash: npm then reads the tarball the
// tests just packed instead of a cached older one with the same hash.
//   node scripts/lock-examples.mjs [example ...]
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const examples = fileURLToPath(new URL("../examples/", import.meta.url));
if (!existsSync(`${examples}localrec.tgz`)) {
  console.error("examples/localrec.tgz is missing: make pkg && (cd examples && npm pack ../pkg && mv localrec-*.tgz localrec.tgz)");
  process.exit(2);
}
const names = process.argv.length > 2 ? process.argv.slice(2) : readdirSync(examples).filter((d) => existsSync(`${examples}${d}/package.json`));
for (const name of names) {
  const dir = `${examples}${name}`;
  const out = spawnSync("npm", ["install", "--package-lock-only", "--no-audit", "--no-fund"], { cwd: dir, stdio: "inherit" });
  if (out.status !== 0) process.exit(out.status ?? 1);
  const lock = JSON.parse(readFileSync(`${dir}/package-lock.json`, "utf8"));
  delete lock.packages["node_modules/localrec"].integrity;
  writeFileSync(`${dir}/package-lock.json`, JSON.stringify(lock, null, 2) + "\n");
  console.log(`${name}: locked`);
}
