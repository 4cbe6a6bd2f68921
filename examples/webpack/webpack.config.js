// Nothing localrec-specific: webpack 5 emits the .wasm files (`new URL(..., import.meta.url)`)
// and bundles the worker (`new Worker(new URL(...))`) on its own.
import { fileURLToPath } from "node:url";

export default {
  mode: "production",
  entry: "./src/main.js",
  output: { path: fileURLToPath(new URL("dist", import.meta.url)), filename: "main.js", clean: true },
};
