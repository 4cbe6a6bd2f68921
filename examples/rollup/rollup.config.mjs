// Rollup resolves node_modules only with @rollup/plugin-node-resolve and emits
// `new URL("./file", import.meta.url)` assets only with @web/rollup-plugin-import-meta-assets.
// The worker: the package's worker.js is a second input, written next to main.js where
// localrec/worker looks for it (so the assets plugin must leave worker-client.js alone).
import { nodeResolve } from "@rollup/plugin-node-resolve";
import { importMetaAssets } from "@web/rollup-plugin-import-meta-assets";

export default {
  input: { main: "src/main.js", worker: "localrec/worker.js" },
  output: { dir: "dist", format: "es", entryFileNames: "[name].js" },
  plugins: [nodeResolve({ browser: true }), importMetaAssets({ exclude: ["**/localrec/worker-client.js"] })],
};
