// The package's TypeScript declarations under `tsc --noEmit --strict`: an example using every
// method and option type-checks with the ES2022, ES2024 and ESNext libs, and a misspelt option
// name does not.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const tsc = (file, lib) =>
  spawnSync(
    process.execPath,
    [
      "node_modules/typescript/bin/tsc",
      "--noEmit",
      "--strict",
      "--target", "ES2022",
      "--module", "ES2022",
      "--moduleResolution", "bundler",
      "--lib", `${lib},DOM`,
      file,
    ],
    { cwd: root, encoding: "utf8" },
  );

for (const lib of ["ES2022", "ES2024", "ESNext"]) {
  test(`the declarations type-check strictly with lib ${lib}`, () => {
    const out = tsc("tests/types/example.ts", lib);
    assert.equal(out.status, 0, out.stdout + out.stderr);
  });
}

test("a misspelt option name fails to type-check", () => {
  const out = tsc("tests/types/wrong-option.ts", "ES2022");
  assert.notEqual(out.status, 0);
  assert.match(out.stdout, /exludeSeen/);
});
